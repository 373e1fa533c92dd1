"""Binary record layouts of the ZKTeco TCP protocol, both ways (the simulator encodes).

Real-time attendance (``EF_ATTLOG``), as the captures show it:

    12 bytes  u32 user id, u8 verify type, u8 state, 6-byte time   (numeric user ids)
    32 bytes  24-byte user id (ASCII, NUL-padded), u8 verify type, u8 state, 6-byte time

Longer packets (36, 37, 52 bytes on some firmware) start with the 32-byte layout and add a
work code or reserved bytes; only the first 32 are read. One record per packet. The public
description calls bytes 24–25 "verify type (u16)"; the captures have the state in byte 25
(always 0 in them), read as it is by other implementations too — so the state of a live
punch is trusted only as far as that goes, and it stays out of the punch's event id.

Real-time alarm (``EF_ALARM``): 4 bytes (exit button, tamper, misoperation: the code in the
first byte), 8 bytes (door closing, 0x54 in the first byte), 12 bytes (duress, passback:
u16 code at 4, u16 user number at 6, u32 match type at 8).

Attendance log (catch-up, TFT terminals): u32 size, then 40-byte records: u16 user number,
24-byte user id, u8 verify type, u32 time, u8 state, 8 reserved bytes. Black-and-white
terminals use 8- and 16-byte records, which are not modelled: such a log is refused whole,
with that reason.

Times: the 6-byte form is ``YY MM DD hh mm ss`` (year 2000 + YY); the 32-bit form counts
seconds in a calendar of 12 months of 31 days from 2000-01-01.
"""

from __future__ import annotations

import datetime as dt
import struct

from edge.zkteco.records import Alarm, BadRecord, Punch

LIVE_NUMERIC = struct.Struct("<IBB6s")
LIVE_TEXT = struct.Struct("<24sBB6s")
LOG_RECORD = struct.Struct("<H24sBIB8s")
LOG_RESERVED = b"\x00\x00\x00\x00\xff\x00\x00\x00"
USER_ID_BYTES = 24


def decode_time6(raw: bytes) -> dt.datetime:
    """``YY MM DD hh mm ss`` → local time."""
    try:
        return dt.datetime(2000 + raw[0], raw[1], raw[2], raw[3], raw[4], raw[5])
    except (ValueError, IndexError) as exc:
        raise BadRecord(f"bad time bytes {raw.hex()}: {exc}") from exc


def encode_time6(time: dt.datetime) -> bytes:
    """Local time → ``YY MM DD hh mm ss`` (years 2000–2255)."""
    return bytes((time.year - 2000, time.month, time.day, time.hour, time.minute, time.second))


def decode_time32(value: int) -> dt.datetime:
    """The terminal's 32-bit time → local time."""
    seconds = value % 60
    value //= 60
    minutes = value % 60
    value //= 60
    hours = value % 24
    value //= 24
    day = value % 31 + 1
    value //= 31
    month = value % 12 + 1
    try:
        return dt.datetime(2000 + value // 12, month, day, hours, minutes, seconds)
    except ValueError as exc:
        raise BadRecord(f"bad time value {value}: {exc}") from exc


def encode_time32(time: dt.datetime) -> int:
    """Local time → the terminal's 32-bit time."""
    days = ((time.year % 100) * 12 * 31 + (time.month - 1) * 31 + time.day - 1)
    return days * 86400 + (time.hour * 60 + time.minute) * 60 + time.second


def parse_live_punch(data: bytes) -> Punch:
    """A real-time attendance packet's data → a punch."""
    if len(data) == LIVE_NUMERIC.size:
        user, verify, state, when = LIVE_NUMERIC.unpack(data)
        pin = str(user)
    elif len(data) >= LIVE_TEXT.size:
        raw_user, verify, state, when = LIVE_TEXT.unpack_from(data)
        pin = user_id(raw_user)
    else:
        raise BadRecord(f"attendance event of {len(data)} bytes; expected 12 or at least 32")
    return Punch(pin=pin, time=decode_time6(when), state=state, verify=verify, origin="live")


def encode_live_punch(punch: Punch, *, numeric: bool = False) -> bytes:
    """A punch as a real-time attendance packet's data (12-byte form for numeric ids)."""
    state, verify = punch.state or 0, punch.verify or 0
    if numeric:
        return LIVE_NUMERIC.pack(int(punch.pin), verify, state, encode_time6(punch.time))
    return LIVE_TEXT.pack(punch.pin.encode("ascii"), verify, state, encode_time6(punch.time))


def parse_alarm(data: bytes, received: dt.datetime) -> Alarm:
    """A real-time alarm packet's data → an alarm, timed when it was received."""
    if len(data) in (4, 8):
        return Alarm(code=data[0], time=received, origin="live")
    if len(data) == 12:
        code, user_sn = struct.unpack_from("<HH", data, 4)
        return Alarm(code=code, time=received, origin="live",
                     user_sn=None if user_sn == 0xFFFF else user_sn)
    raise BadRecord(f"alarm event of {len(data)} bytes; known layouts have 4, 8 or 12")


def encode_alarm(code: int, user_sn: int | None = None) -> bytes:
    """An alarm packet's data: 12-byte form for duress and passback, else 4 bytes."""
    if code in (0x20, 0x22):
        return b"\xff\xff\xff\xff" + struct.pack("<HHI", code, user_sn or 0xFFFF, 0)
    if code == 0x54:
        return bytes((code, 0, 0, 0, 0, 0, 0, 0))
    return bytes((code & 0xFF, 0, 0, 0))


def parse_attlog_buffer(buffer: bytes) -> list[tuple[int, bytes, Punch | str]]:
    """The attendance log → its records: (index, raw bytes, punch or the reason it could
    not be read); BadRecord when the log as a whole has an unknown layout."""
    if len(buffer) < 4:
        raise BadRecord(f"attendance log of {len(buffer)} bytes has no size field")
    (size,) = struct.unpack_from("<I", buffer)
    body = buffer[4:]
    if size != len(body) or len(body) % LOG_RECORD.size:
        raise BadRecord(f"attendance log announces {size} bytes and holds {len(body)}; "
                        f"only whole {LOG_RECORD.size}-byte records (TFT terminals) are "
                        "modelled")
    entries: list[tuple[int, bytes, Punch | str]] = []
    for index in range(len(body) // LOG_RECORD.size):
        raw = body[index * LOG_RECORD.size:(index + 1) * LOG_RECORD.size]
        try:
            _, raw_user, verify, when, state, _ = LOG_RECORD.unpack(raw)
            entries.append((index, raw, Punch(pin=user_id(raw_user), time=decode_time32(when),
                                              state=state, verify=verify, origin="log")))
        except BadRecord as exc:
            entries.append((index, raw, str(exc)))
    return entries


def encode_attlog_buffer(records: list[tuple[int, Punch]]) -> bytes:
    """``(user number, punch)`` pairs as an attendance log (size field included)."""
    body = b"".join(LOG_RECORD.pack(user_sn, punch.pin.encode("ascii"), punch.verify or 0,
                                    encode_time32(punch.time), punch.state or 0, LOG_RESERVED)
                    for user_sn, punch in records)
    return struct.pack("<I", len(body)) + body


def user_id(raw: bytes) -> str:
    """A NUL-padded ASCII user id; BadRecord when it is empty or not printable ASCII."""
    text = raw.split(b"\0", 1)[0]
    if not text or len(text) > USER_ID_BYTES or not all(0x21 <= b < 0x7F for b in text):
        raise BadRecord(f"bad user id {raw[:USER_ID_BYTES].hex()}: expected 1–24 printable "
                        "ASCII characters")
    return text.decode("ascii")


def parse_option(data: bytes) -> tuple[str, str]:
    """A ``CMD_OPTIONS_RRQ`` reply ``name=value\\0`` → (name, value)."""
    text = data.split(b"\0", 1)[0].decode("ascii", "replace")
    name, _, value = text.partition("=")
    return name, value[:64]
