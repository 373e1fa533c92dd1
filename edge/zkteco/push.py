"""A ZKTeco terminal speaking PUSH (ADMS, "iclock"): it calls the agent, the agent answers.

The terminal's conversation, as current firmware holds it:

1. ``GET /iclock/cdata?SN=…&options=all`` — the handshake. We answer the options block
   with our stamps (``ATTLOGStamp``/``OPERLOGStamp``: the last upload we stored), so the
   terminal uploads what came after. Without a checkpoint the stamps are ``None`` and it
   uploads everything it holds (nothing lost on a first start; ids make repeats harmless).
2. ``POST /iclock/cdata?SN=…&table=ATTLOG&Stamp=…`` — punches, one tab-separated line each;
   ``table=OPERLOG`` — operation-log lines (alarms become events, the rest is counted).
   We answer ``OK: <lines>`` only after the events *and the new stamp* are committed to the
   spool in one transaction. If the agent dies before that, the terminal gets no answer and
   uploads the same lines again; if it dies after committing but before the answer left,
   the terminal uploads them again and they get the same event ids. Either way nothing is
   lost, and nothing is stored twice.
3. ``GET /iclock/getrequest?SN=…`` every ``Delay`` seconds — its heartbeat; we have no
   commands for it and answer ``OK``. ``POST /iclock/devicecmd`` (command results) → ``OK``.

ATTLOG lines have no record number, so a punch's event id is derived from the terminal's
serial number, PIN, time, state and verify type: exactly the fields the terminal sends
again, unchanged, when it re-uploads; two distinct punches never share all of them.
Photos (``ATTPHOTO``) are kept on the agent's disk only when the site enabled
``snapshots`` (``edge.zkteco.photos``), else acknowledged and counted; the terminal's
settings (``table=options``) are read for its ``TimeZone``; other tables (user data,
biometric templates) are acknowledged and counted, not stored.

The terminal's ``TimeZone`` (hours from UTC) is compared with the source's ``timezone``:
when they differ, every punch time is read in the wrong zone, so the agent warns
(``zone_mismatch`` in the health, a WARNING in the log).

The terminal's clock is not in the protocol (it sets itself from our HTTP ``Date`` header
when it syncs). A punch stamped in the future (beyond ``drift_threshold_s``) shows the
clock is ahead: the amount goes into ``drift_s`` of the events and the device status.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.zkteco.config import ZktecoPushSource
from edge.zkteco.listener import (
    LISTENERS,
    BodyReader,
    ListenerRegistry,
    PushListener,
    Reply,
)
from edge.zkteco.mapping import ALARM_NAMES, OP_ALARM, Mapper
from edge.zkteco.photos import BadPhoto, PhotoStore, read_photo
from edge.zkteco.pushtext import (
    body_lines,
    decode_line,
    options_reply,
    parse_attlog,
    parse_info,
    parse_operlog,
    stamp_of,
)
from edge.zkteco.records import BadRecord, Operation, Punch
from linli.contract import Event, utc_now

log = logging.getLogger(__name__)

TABLES = ("ATTLOG", "OPERLOG")
MAX_COMMAND_BODY = 64 << 10
MAX_BACKOFF_S = 30.0
WARN_REFUSED_EVERY_S = 600.0


class ZktecoPushEdgeSource:
    """One PUSH terminal, served by the shared listener of its ``listen`` address."""

    def __init__(self, config: ZktecoPushSource, context: SourceContext,
                 registry: ListenerRegistry = LISTENERS) -> None:
        self.config = config
        self.key = f"zkteco-push:{config.device}"
        self._context = context
        self._registry = registry
        self._mapper = Mapper(config, community=context.community, building=context.building)
        self._lock = threading.Lock()  # one upload at a time: stamps advance in order
        self.stamps: dict[str, str] = self._stored_stamps()
        self.listener: PushListener | None = None
        self.listener_error: str | None = None
        self.counts = dict.fromkeys(("handshakes", "uploads", "records", "events",
                                     "rejected", "ignored", "failed_uploads",
                                     "photos_kept", "photos_dropped", "refused"), 0)
        self.photos = PhotoStore(config.snapshots, config.device)
        self.problems: dict[str, str] = {}
        self.reported_zone: str | None = None
        self._warned: dict[str, float] = {}
        self.last_seen: float | None = None
        self.last_seen_at: dt.datetime | None = None
        self.info: dict[str, str] = {}
        self.pushver: str | None = None
        self.drift_s: float | None = None
        self.last_alarm: dict[str, Any] | None = None
        self.last_error: str | None = None
        self._stopped = False

    @property
    def device(self) -> str:
        """The device id of the terminal."""
        return self.config.device

    @property
    def serial(self) -> str:
        """The terminal's serial number (how the listener finds this source)."""
        return self.config.serial

    def run(self, stop: threading.Event) -> None:
        """Serve the terminal on the shared listener until ``stop`` is set."""
        backoff = 1.0
        try:
            while not stop.is_set() and self.listener is None:
                try:
                    self.listener = self._registry.attach(self, self.config.address)
                    self.listener_error = None
                except Exception as exc:  # a port taken, a serial served twice, a bug
                    self.listener_error = str(exc)
                    log.error("zkteco-push %s: %s; retrying in %.0fs", self.device, exc,
                              backoff)
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
            stop.wait()
        finally:
            self._stopped = True
            if self.listener is not None:
                self._registry.detach(self, self.config.address)

    def handle(self, route: str, method: str, query: Mapping[str, str],
               read_body: BodyReader) -> Reply:
        """Answer one request of this terminal (called on the listener's threads)."""
        self.last_seen, self.last_seen_at = time.monotonic(), utc_now()
        if route == "cdata" and method == "POST":
            table = query.get("table", "").strip().upper()
            if table == "ATTPHOTO":
                return self._photo(read_body(self.config.max_body_bytes))
            if table == "OPTIONS":
                return self._options(read_body(MAX_COMMAND_BODY))
            return self._upload(query, read_body(self.config.max_body_bytes))
        if route == "cdata":
            return Reply(200, self._handshake(query) if "options" in query else "OK")
        if route == "getrequest":
            if query.get("INFO"):
                self.info = parse_info(query["INFO"])
            if query.get("TimeZone"):
                self._check_zone(query["TimeZone"])
            return Reply(200, "OK")
        if route == "devicecmd" and method == "POST":
            body = read_body(MAX_COMMAND_BODY)
            log.info("zkteco-push %s: command result %.200r", self.device, body)
            return Reply(200, "OK")
        if route in ("ping", "registry"):
            return Reply(200, "OK")
        self.refused(f"{method} /iclock/{route}", "unsupported iclock request")
        return Reply(404, "ERROR: unsupported iclock request")

    def refused(self, request: str, reason: str) -> None:
        """A request of this terminal was refused: a WARNING naming its serial and the
        path (once per path every ten minutes: a terminal retries every few seconds)."""
        now = time.monotonic()
        self.counts["refused"] += 1
        path = request.split("?", 1)[0][:200]
        if now - self._warned.get(path, float("-inf")) < WARN_REFUSED_EVERY_S:
            return
        self._warned[path] = now
        log.warning("zkteco-push %s: refused %s from terminal %s: %s; check the server "
                    "address set on the terminal", self.device, path, self.serial, reason)

    def refuse_unknown(self, serial: str, request: str) -> None:
        """Keep a request from an unknown terminal in the rejects file."""
        where = f"iclock:{self.config.listen}"
        reason = f"unknown terminal serial {serial!r}: no zkteco-push source serves it"
        self._context.spool_events(self.key, [], rejected=[
            RejectedLine(where, 0, request.encode("utf-8", "replace"), reason)])

    def health(self) -> dict[str, Any]:
        """The source's line in the agent's status."""
        return {"serial": self.serial, "listener": self._listener_state(),
                "last_seen": self.last_seen_at.isoformat() if self.last_seen_at else None,
                **self.counts, "stamps": dict(self.stamps),
                "unknown_serials": self.listener.unknown_serials() if self.listener else {},
                "problems": self._problem_list()}

    def device_status(self) -> dict[str, Any]:
        """The terminal's own status document."""
        online = (self.last_seen is not None and not self._stopped
                  and time.monotonic() - self.last_seen < self.config.offline_after_s)
        return {"state": "online" if online else "offline", "kind": "door",
                "vendor": "zkteco", "protocol": "push", "serial": self.serial,
                "listener": self._listener_state(),
                "last_seen": self.last_seen_at.isoformat() if self.last_seen_at else None,
                "pushver": self.pushver, **self.info, **self.counts,
                "attlog_stamp": self.stamps.get("ATTLOG"),
                "operlog_stamp": self.stamps.get("OPERLOG"),
                "drift_s": self.drift_s, "last_alarm": self.last_alarm,
                "last_error": self.last_error, "time_zone": self.reported_zone,
                "problems": self._problem_list()}

    def _problem_list(self) -> list[dict[str, str]]:
        return [{"code": code, "message": text} for code, text in self.problems.items()]

    def _photo(self, body: bytes) -> Reply:
        # the terminal drops a photo that is not acknowledged only after retrying it
        # forever, so every photo is acknowledged, kept or not
        if not self.config.snapshots.enabled:
            self.counts["photos_dropped"] += 1
            return Reply(200, "OK")
        try:
            self.photos.keep(read_photo(body))
        except BadPhoto as exc:
            self.counts["photos_dropped"] += 1
            log.info("zkteco-push %s: a photo upload was not kept: %s", self.device, exc)
            return Reply(200, "OK")
        except OSError as exc:
            self.counts["photos_dropped"] += 1
            self.last_error = f"cannot keep a photo: {exc.strerror}"
            log.warning("zkteco-push %s: cannot keep a photo in %s: %s", self.device,
                        self.photos.folder, exc.strerror)
            return Reply(200, "OK")
        self.counts["photos_kept"] += 1
        return Reply(200, "OK")

    def _options(self, body: bytes) -> Reply:
        text = body.decode("utf-8", "replace")
        for item in text.replace("\n", ",").split(","):
            key, sep, value = item.strip().lstrip("~").partition("=")
            if sep and key.strip() == "TimeZone":
                self._check_zone(value)
        return Reply(200, "OK")

    def _check_zone(self, value: str) -> None:
        hours = _zone_hours(value)
        if hours is None:
            return
        self.reported_zone = value.strip()[:8]
        expected = self.config.zone.utcoffset(dt.datetime.now())
        expected_h = None if expected is None else expected.total_seconds() / 3600
        if expected_h is None or abs(hours - expected_h) < 0.01:
            self.problems.pop("zone_mismatch", None)
            return
        message = (f"terminal {self.serial} says its time zone is UTC{hours:+g} but the "
                   f"profile reads its times in {self.config.timezone} "
                   f"(UTC{expected_h:+g}): every punch would be {abs(hours - expected_h):g} h "
                   f"off; set the terminal's zone or the device's timezone")
        if self.problems.get("zone_mismatch") != message:
            self.problems["zone_mismatch"] = message
            log.warning("zkteco-push %s: %s", self.device, message)

    def _handshake(self, query: Mapping[str, str]) -> str:
        self.counts["handshakes"] += 1
        self.pushver = query.get("pushver", "")[:20] or None
        offset = self.config.zone.utcoffset(dt.datetime.now())
        with self._lock:
            attlog, operlog = self.stamps.get("ATTLOG"), self.stamps.get("OPERLOG")
        log.info("zkteco-push %s: handshake from %s (pushver %s), stamps %s/%s", self.device,
                 self.serial, self.pushver, attlog, operlog)
        return options_reply(self.serial, attlog_stamp=attlog, operlog_stamp=operlog,
                             delay_s=self.config.delay_s,
                             error_delay_s=self.config.error_delay_s, utc_offset=offset)

    def _upload(self, query: Mapping[str, str], body: bytes) -> Reply:
        table = query.get("table", "").strip().upper()
        if table not in TABLES:
            lines = sum(1 for _ in body_lines(body))
            with self._lock:
                self.counts["ignored"] += lines
            log.debug("zkteco-push %s: %d lines of table %.20r not used", self.device, lines,
                      table)
            return Reply(200, f"OK: {lines}")
        # the terminal's latest stamp, not the highest we saw: a terminal whose log was
        # cleared numbers from the start again and must not be told it is far ahead
        stamp = stamp_of(query, table)
        with self._lock:
            events, rejected, lines = self._convert(table, body, utc_now())
            stamps = {**self.stamps, **({table: stamp} if stamp else {})}
            try:
                spooled = self._context.spool_events(
                    self.key, events, rejected=rejected,
                    checkpoint=json.dumps({"sn": self.serial, **stamps}))
            except Exception as exc:
                self.counts["failed_uploads"] += 1
                self.last_error = f"cannot spool an upload: {exc}"
                raise
            # committed: only now may the terminal forget these lines
            self.stamps = stamps
            self.counts["uploads"] += 1
            self.counts["records"] += lines
            self.counts["events"] += spooled
            self.counts["rejected"] += len(rejected)
        return Reply(200, f"OK: {lines}")

    def _convert(self, table: str, body: bytes, received: dt.datetime
                 ) -> tuple[list[Event], list[RejectedLine], int]:
        where = f"zkteco-push:{self.serial}:{table}"
        parsed: list[tuple[int, bytes, Punch | Operation]] = []
        rejected: list[RejectedLine] = []
        lines = 0
        for number, raw in body_lines(body):
            lines += 1
            try:
                record = self._parse(table, raw)
                if record is None:
                    self.counts["ignored"] += 1
                else:
                    parsed.append((number, raw, record))
            except BadRecord as exc:
                rejected.append(RejectedLine(where, number, raw, str(exc)))
            except Exception as exc:  # a bug must not turn one line into a poison upload
                log.exception("zkteco-push %s: line %d failed", self.device, number)
                rejected.append(RejectedLine(where, number, raw, f"internal error: {exc!r}"))
        self._estimate_drift((record.time for _, _, record in parsed), received)
        events: list[Event] = []
        for number, raw, record in parsed:
            try:
                event = self._event(record)
            except BadRecord as exc:
                rejected.append(RejectedLine(where, number, raw, str(exc)))
                continue
            except Exception as exc:
                log.exception("zkteco-push %s: line %d failed", self.device, number)
                rejected.append(RejectedLine(where, number, raw, f"internal error: {exc!r}"))
                continue
            if event is None:
                self.counts["ignored"] += 1
            else:
                events.append(event)
        return events, rejected, lines

    @staticmethod
    def _parse(table: str, raw: bytes) -> Punch | Operation | None:
        text = decode_line(raw)
        return parse_attlog(text) if table == "ATTLOG" else parse_operlog(text)

    def _event(self, record: Punch | Operation) -> Event | None:
        stamp = record.time.strftime("%Y-%m-%dT%H:%M:%S")
        attrs = {"sn": self.serial}
        if isinstance(record, Punch):
            key = (f"{self.serial}/att/{record.pin}/{stamp}/"
                   f"{_text(record.state)}/{_text(record.verify)}")
            return self._mapper.punch(record, record=key, drift_s=self.drift_s, attrs=attrs)
        key = f"{self.serial}/op/{record.op}/{record.admin}/{stamp}/{'/'.join(record.objects)}"
        if record.op == OP_ALARM and record.objects and _is_number(record.objects[0]):
            code = int(record.objects[0])
            self.last_alarm = {"code": code, "name": ALARM_NAMES.get(code), "at": stamp}
        return self._mapper.operation(record, record=key, drift_s=self.drift_s, attrs=attrs)

    def _estimate_drift(self, times: Iterable[dt.datetime], received: dt.datetime) -> None:
        local = [self._mapper.local(t) for t in times]
        if not local:
            return
        ahead = (max(local) - received).total_seconds()
        # a fresh punch (|ahead| small) says the clock is right; one from the future says
        # it is ahead; an old one is a backlog and says nothing about the clock
        if ahead > -self.config.drift_threshold_s:
            self.drift_s = round(ahead, 1)

    def _stored_stamps(self) -> dict[str, str]:
        stored = self._context.checkpoint(self.key)
        if not stored:
            return {}
        try:
            values = json.loads(stored)
        except ValueError:
            log.warning("zkteco-push %s: unreadable checkpoint %.100r ignored", self.device,
                        stored)
            return {}
        if not isinstance(values, dict) or values.get("sn") != self.serial:
            return {}  # another terminal's stamps (it was replaced): start over
        return {table: str(values[table]) for table in TABLES if values.get(table)}

    def _listener_state(self) -> str:
        if self._stopped:
            return "stopped"
        if self.listener is not None:
            return f"listening on {self.listener.address[0]}:{self.listener.port}"
        return f"error: {self.listener_error}" if self.listener_error else "starting"


def _zone_hours(value: str) -> float | None:
    """A terminal's ``TimeZone``: hours from UTC (``8``, ``+8``, ``-5``); firmware that
    counts minutes (``480``) is read as such."""
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 4:
        return None
    number = int(digits)
    return sign * (number / 60 if number > 14 else float(number))


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 6


def _text(value: int | None) -> str:
    return "" if value is None else str(value)
