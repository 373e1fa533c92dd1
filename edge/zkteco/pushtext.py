"""The text of the PUSH (ADMS, "iclock") protocol: upload bodies in, option blocks out.

A terminal uploads records as lines of tab-separated fields:

    ATTLOG   PIN \\t YYYY-MM-DD hh:mm:ss \\t state \\t verify \\t workcode \\t reserved…
    OPERLOG  OPLOG op \\t admin \\t YYYY-MM-DD hh:mm:ss \\t obj1 \\t obj2 \\t obj3 \\t obj4
             USER PIN=…\\tName=…  FP PIN=…  (user data: not events, counted and ignored)

Bodies are UTF-8 on current firmware; older Chinese firmware writes names in GBK, so a line
that is not UTF-8 is read as GBK, and one that is neither is rejected with that reason.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping

from edge.zkteco.records import BadRecord, Operation, Punch

MAX_LINE_BYTES = 4096
MAX_PIN_CHARS = 24
"""ZKTeco user ids are at most 24 characters (9 on older models)."""
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_PIN = re.compile(r"^[^\x00-\x1f\x7f]+$")
_INT = re.compile(r"^[0-9]{1,6}$")
USER_DATA_PREFIXES = ("USER ", "FP ", "FACE ", "BIODATA ", "USERPIC ", "BIOPHOTO ",
                      "WORKCODE ", "SMS ", "IDCARD ")


def body_lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    """The non-empty lines of an upload with their 1-based numbers (CR LF or LF)."""
    for number, raw in enumerate(body.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if raw.strip():
            yield number, raw


def decode_line(raw: bytes) -> str:
    """A line as text: UTF-8, else GBK; BadRecord when it is neither, or too long."""
    if len(raw) > MAX_LINE_BYTES:
        raise BadRecord(f"line is {len(raw)} bytes; at most {MAX_LINE_BYTES}")
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadRecord("line is neither UTF-8 nor GBK text")


def parse_time(value: str) -> dt.datetime:
    """A terminal time ``YYYY-MM-DD hh:mm:ss`` (local, naive)."""
    try:
        return dt.datetime.strptime(value.strip(), TIME_FORMAT)
    except ValueError as exc:
        raise BadRecord(f"bad time {value[:40]!r}: expected YYYY-MM-DD hh:mm:ss") from exc


def parse_attlog(text: str) -> Punch:
    """One ATTLOG line → a punch."""
    fields = text.split("\t")
    if len(fields) < 2:
        raise BadRecord("ATTLOG line needs at least PIN and time (tab-separated)")
    pin = fields[0].strip()
    if not pin or len(pin) > MAX_PIN_CHARS or not _PIN.match(pin):
        raise BadRecord(f"bad PIN {pin[:40]!r}: 1–{MAX_PIN_CHARS} printable characters")
    return Punch(pin=pin, time=parse_time(fields[1]), state=_optional_int(fields, 2, "state"),
                 verify=_optional_int(fields, 3, "verify"),
                 workcode=fields[4].strip()[:16] if len(fields) > 4 else None, origin="push")


def parse_operlog(text: str) -> Operation | None:
    """One OPERLOG line → an operation; None for user data lines (USER, FP, …)."""
    if text.startswith(USER_DATA_PREFIXES):
        return None
    if not text.startswith("OPLOG"):
        raise BadRecord(f"unknown OPERLOG line type {text.split(' ', 1)[0][:20]!r}")
    fields = text[len("OPLOG"):].strip().split("\t")
    if len(fields) < 3:
        raise BadRecord("OPLOG line needs op, admin and time (tab-separated)")
    op = fields[0].strip()
    if not _INT.match(op):
        raise BadRecord(f"bad operation code {op[:20]!r}")
    return Operation(op=int(op), admin=fields[1].strip()[:24], time=parse_time(fields[2]),
                     objects=tuple(field.strip()[:24] for field in fields[3:7]))


def options_reply(serial: str, *, attlog_stamp: str | None, operlog_stamp: str | None,
                  delay_s: int, error_delay_s: int, utc_offset: dt.timedelta | None) -> str:
    """The answer to a terminal's handshake (``GET /iclock/cdata?SN=…&options=all``).

    The stamps tell the terminal where we got to: it uploads the records after them
    (``None``: everything it holds). ``Realtime=1`` makes it upload each punch at once;
    ``TransFlag`` lists what it should upload.
    """
    lines = [
        f"GET OPTION FROM: {serial}",
        f"ATTLOGStamp={attlog_stamp or 'None'}",
        f"OPERLOGStamp={operlog_stamp or 'None'}",
        "ATTPHOTOStamp=None",
        f"ErrorDelay={error_delay_s}",
        f"Delay={delay_s}",
        "TransTimes=00:00;14:05",
        "TransInterval=1",
        "TransFlag=TransData AttLog OpLog",
        "Realtime=1",
        "Encrypt=None",
    ]
    if utc_offset is not None and utc_offset.total_seconds() % 3600 == 0:
        lines.insert(-2, f"TimeZone={int(utc_offset.total_seconds() // 3600)}")
    return "\n".join(lines) + "\n"


def parse_info(value: str) -> dict[str, str]:
    """The ``INFO=`` of a terminal's first poll: firmware, users, fingerprints, records, IP."""
    names = ("firmware", "users", "fingerprints", "stored_records", "ip")
    parts = [part.strip()[:40] for part in value.split(",")]
    return {name: part for name, part in zip(names, parts, strict=False) if part}


def stamp_of(query: Mapping[str, str], table: str) -> str | None:
    """The stamp a terminal sent with an upload (``Stamp``, or ``OpStamp`` for OPERLOG)."""
    keys = ("OpStamp", "Stamp") if table == "OPERLOG" else ("Stamp",)
    for key in keys:
        value = query.get(key, "").strip()
        if value and len(value) <= 20 and value.isascii() and value.isalnum():
            return value
    return None


def _optional_int(fields: list[str], index: int, what: str) -> int | None:
    if len(fields) <= index or not fields[index].strip():
        return None
    value = fields[index].strip()
    if not _INT.match(value):
        raise BadRecord(f"bad {what} {value[:20]!r}: expected a number")
    return int(value)
