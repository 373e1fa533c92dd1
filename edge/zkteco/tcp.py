"""A ZKTeco terminal the agent connects to on TCP port 4370 ("live capture").

The source's thread holds one connection at a time:

1. connect (``CMD_CONNECT``, then ``CMD_AUTH`` with the comm key when the terminal asks);
2. register for real-time attendance (``EF_ATTLOG``) and alarm (``EF_ALARM``) events;
3. read the terminal's clock (``CMD_GET_TIME``): its drift goes into the device status and,
   when large, into the events' ``drift_s``;
4. catch up: read the attendance log and spool the punches from ``catchup_overlap_s``
   before the last punch seen (on a first start: the last ``catchup_first_hours``);
5. live: spool each real-time packet, then acknowledge it; every ``keepalive_s`` read the
   clock again (the keepalive). A live punch that cannot be read triggers a catch-up.

Any error ends the connection; the thread reconnects with a doubling backoff
(``reconnect_min_s`` … ``reconnect_max_s``) and never gives up.

The attendance log has no record numbers, and the live packet's state byte is not what the
log holds for sure (see ``edge.zkteco.layouts``), so a punch's event id is derived from PIN
and time only: the live copy and the log copy of one punch are the same event. One person
cannot punch twice within a second on one terminal. Alarms are never replayed (the log
holds punches only), so each gets a fresh event id and the time it was received.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.zkteco.config import ZktecoTcpSource
from edge.zkteco.layouts import (
    decode_time32,
    parse_alarm,
    parse_attlog_buffer,
    parse_live_punch,
    parse_option,
)
from edge.zkteco.mapping import ALARM_NAMES, Mapper
from edge.zkteco.protocol import Command, EventFlag, Packet
from edge.zkteco.records import AccessPanelProtocol, BadRecord, Punch
from edge.zkteco.session import AuthError, Session
from linli.contract import Event, new_event_id, utc_now

log = logging.getLogger(__name__)

PUMP_S = 0.5
"""How long the live loop waits for packets before it looks at ``stop`` again."""
SPOOL_BATCH = 1000
MAX_REMEMBERED_BAD = 10000
RECENT_KEYS = 50000
"""Punches remembered as spooled, so a catch-up's overlap is not spooled again."""


class ZktecoTcpEdgeSource:
    """One terminal on TCP 4370, connected by the agent."""

    def __init__(self, config: ZktecoTcpSource, context: SourceContext) -> None:
        self.config = config
        self.key = f"zkteco-tcp:{config.device}"
        self._where = f"zkteco-tcp:{config.host}:{config.port}"
        self._context = context
        self._mapper = Mapper(config, community=context.community, building=context.building)
        self.last_punch: dt.datetime | None = self._stored_last()
        self.connection = "starting"
        self.serial: str | None = None
        self.session_id: int | None = None
        self.counts = dict.fromkeys(("live", "caught_up", "repeats", "alarms", "events",
                                     "rejected", "ignored", "reconnects", "catchups"), 0)
        self.drift_s: float | None = None
        self.last_event_at: dt.datetime | None = None
        self.last_alarm: dict[str, Any] | None = None
        self.last_catchup: dict[str, Any] | None = None
        self.last_error: str | None = None
        self._catchup_due = False
        self._known_bad: set[bytes] = set()
        self._recent = RecentKeys(RECENT_KEYS)
        self._was_up = False
        self.problems: dict[str, str] = {}

    @property
    def device(self) -> str:
        """The device id of the terminal."""
        return self.config.device

    @property
    def catchup_due(self) -> bool:
        """A catch-up waits to be done on the current connection."""
        return self._catchup_due

    def run(self, stop: threading.Event) -> None:
        """Stay connected to the terminal until ``stop`` is set."""
        backoff = self.config.reconnect_min_s
        while not stop.is_set():
            self._was_up = False
            try:
                self._serve(stop)
            except AccessPanelProtocol as exc:
                self._access_panel(exc)
                backoff = self.config.reconnect_max_s
                self.counts["reconnects"] += 1
                stop.wait(backoff)
                continue
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                level = logging.ERROR if isinstance(exc, AuthError) else logging.WARNING
                log.log(level, "zkteco-tcp %s (%s): %s", self.device, self._where,
                        self.last_error)
            if stop.is_set():
                break
            # a connection that worked (and then failed) is retried at once; a terminal
            # that cannot be reached is asked less and less often
            backoff = self.config.reconnect_min_s if self._was_up else min(
                backoff * 2, self.config.reconnect_max_s)
            self.connection = "waiting to reconnect"
            self.counts["reconnects"] += 1
            stop.wait(backoff)
        self.connection = "stopped"

    def health(self) -> dict[str, Any]:
        """The source's line in the agent's status."""
        return {"terminal": self._where, "connection": self.connection, "serial": self.serial,
                **self.counts, "drift_s": self.drift_s,
                "last_event_at": _iso(self.last_event_at), "problems": self._problem_list()}

    def _problem_list(self) -> list[dict[str, str]]:
        return [{"code": code, "message": text} for code, text in self.problems.items()]

    def _access_panel(self, exc: AccessPanelProtocol) -> None:
        """Say once, in plain words, that the device is an access panel; then ask it again
        only every ``reconnect_max_s`` and quietly (a wrong device type is not an outage)."""
        self.connection = "wrong device type: ZKAccess access panel"
        self.last_error = str(exc)
        message = (f"the device at {self.config.host}:{self.config.port} is a ZKAccess "
                   "access-control panel (C3-100/200/400 or InBIO 160/260/460) speaking the "
                   "panel protocol, not a ZKTeco terminal: zkteco-tcp cannot read it. Have "
                   "the panel's management software (ZKAccess / ZKBioSecurity) write its "
                   "event log and read that with a `log` source (profile generic-log)")
        if "access_panel" not in self.problems:
            self.problems["access_panel"] = message
            log.warning("zkteco-tcp %s: %s", self.device, message)
        else:
            log.debug("zkteco-tcp %s: still an access panel at %s", self.device, self._where)

    def device_status(self) -> dict[str, Any]:
        """The terminal's own status document."""
        return {"state": "online" if self.connection == "connected" else "offline",
                "kind": "door", "vendor": "zkteco", "protocol": "tcp",
                "terminal": self._where, "connection": self.connection, "serial": self.serial,
                "session": self.session_id, **self.counts, "drift_s": self.drift_s,
                "last_punch": _iso(self.last_punch), "last_event_at": _iso(self.last_event_at),
                "last_alarm": self.last_alarm, "last_catchup": self.last_catchup,
                "last_error": self.last_error, "problems": self._problem_list()}

    def _serve(self, stop: threading.Event) -> None:
        """One connection, until it fails (raises) or ``stop`` is set."""
        self.connection = "connecting"
        session = Session.open(self.config.host, self.config.port,
                               timeout_s=self.config.timeout_s, on_event=self._on_packet,
                               comm_key=self.config.comm_key)
        try:
            self.session_id = session.session_id
            flags = EventFlag.ATTLOG | (EventFlag.ALARM if self.config.alarms else 0)
            session.expect_ok(Command.REG_EVENT, struct.pack("<I", flags))
            self._read_serial(session)
            self._read_clock(session)
            self.connection = "connected"
            self._was_up = True
            log.info("zkteco-tcp %s: connected to %s (serial %s, session %d, drift %ss)",
                     self.device, self._where, self.serial, session.session_id, self.drift_s)
            self._catchup_due = self.config.catchup
            keepalive = time.monotonic() + self.config.keepalive_s
            while not stop.is_set():
                if self._catchup_due:
                    self._catch_up(session)
                session.pump(PUMP_S)
                if time.monotonic() >= keepalive:
                    self._read_clock(session)
                    keepalive = time.monotonic() + self.config.keepalive_s
        finally:
            served = self.connection == "connected"
            self.connection = "disconnected"
            session.close(polite=stop.is_set())
            if served and not stop.is_set():
                log.warning("zkteco-tcp %s: connection to %s lost", self.device, self._where)

    def _on_packet(self, packet: Packet) -> None:
        """One real-time packet: spool its event (or keep it aside), before it is acked."""
        self.last_event_at = utc_now()
        if not packet.checksum_ok and self.config.verify_checksums:
            self._reject_packet(packet, f"bad checksum 0x{packet.checksum:04x}")
            return
        try:
            if packet.event == EventFlag.ATTLOG:
                self._spool_punches([parse_live_punch(packet.data)], "live")
            elif packet.event == EventFlag.ALARM:
                self._on_alarm(packet)
            elif packet.event in EventFlag._value2member_map_:
                self.counts["ignored"] += 1  # a known event we did not ask for
            else:
                raise BadRecord(f"unknown real-time event code {packet.event}")
        except BadRecord as exc:
            self._reject_packet(packet, str(exc))

    def _on_alarm(self, packet: Packet) -> None:
        alarm = parse_alarm(packet.data, utc_now())
        self.counts["alarms"] += 1
        self.last_alarm = {"code": alarm.code, "name": ALARM_NAMES.get(alarm.code),
                           "at": alarm.time.isoformat()}
        event = self._mapper.alarm(alarm, event_id=new_event_id(), drift_s=self.drift_s)
        if event is None:
            self.counts["ignored"] += 1
            return
        self.counts["events"] += self._context.spool_events(self.key, [event])

    def _spool_punches(self, punches: list[Punch], counter: str,
                       rejected: list[RejectedLine] | None = None) -> None:
        events: list[Event] = []
        keys: list[str] = []
        rejected = list(rejected or [])
        for punch in sorted(punches, key=lambda p: p.time):
            key = f"att/{punch.pin}/{punch.time:%Y-%m-%dT%H:%M:%S}"
            if key in self._recent:
                self.counts["repeats"] += 1  # spooled already in this run (catch-up overlap)
                continue
            try:
                events.append(self._mapper.punch(punch, record=key, drift_s=self.drift_s))
                keys.append(key)
            except BadRecord as exc:
                rejected.append(RejectedLine(self._where, 0, repr(punch).encode(), str(exc)))
        newest = max([p.time for p in punches] + ([self.last_punch] if self.last_punch else []),
                     default=None)
        checkpoint = json.dumps({"last": newest.isoformat()}) if newest else None
        spooled = self._context.spool_events(self.key, events, checkpoint=checkpoint,
                                             rejected=rejected)
        self.last_punch = newest
        self._recent.update(keys)
        self.counts[counter] += spooled
        self.counts["events"] += spooled
        self.counts["rejected"] += len(rejected)

    def _catch_up(self, session: Session) -> None:
        """Read the attendance log and spool what may have been missed."""
        self._catchup_due = False
        since = self._catchup_since()
        started = time.monotonic()
        if self.config.disable_while_reading:
            session.expect_ok(Command.DISABLEDEVICE)
        try:
            buffer = session.read_buffer(Command.ATTLOG_RRQ, self.config.chunk_bytes)
        finally:
            if self.config.disable_while_reading:
                session.expect_ok(Command.ENABLEDEVICE)
        try:
            entries = parse_attlog_buffer(buffer)
        except BadRecord as exc:
            self._reject_once(0, buffer[:512], f"attendance log: {exc}")
            return
        punches = [entry for _, _, entry in entries
                   if isinstance(entry, Punch) and entry.time >= since]
        for index, raw, entry in entries:
            if isinstance(entry, str):
                self._reject_once(index + 1, raw, f"attendance log record: {entry}")
        before = self.counts["caught_up"]
        for start in range(0, len(punches), SPOOL_BATCH):
            self._spool_punches(punches[start:start + SPOOL_BATCH], "caught_up")
        self.counts["catchups"] += 1
        self.last_catchup = {"at": utc_now().isoformat(), "since": since.isoformat(),
                             "records": len(entries), "spooled": self.counts["caught_up"] - before,
                             "seconds": round(time.monotonic() - started, 3)}
        log.info("zkteco-tcp %s: caught up %d of %d log records since %s", self.device,
                 len(punches), len(entries), since)

    def _catchup_since(self) -> dt.datetime:
        if self.last_punch is not None:
            return self.last_punch - dt.timedelta(seconds=self.config.catchup_overlap_s)
        device_now = dt.datetime.now(self.config.zone).replace(tzinfo=None) + dt.timedelta(
            seconds=self.drift_s or 0.0)
        return device_now - dt.timedelta(hours=self.config.catchup_first_hours)

    def _read_clock(self, session: Session) -> None:
        reply = session.expect_ok(Command.GET_TIME)
        if len(reply.data) < 4:
            raise BadRecord(f"device time of {len(reply.data)} bytes")
        device = self._mapper.local(decode_time32(struct.unpack_from("<I", reply.data)[0]))
        drift = round((device - utc_now()).total_seconds(), 1)
        if abs(drift) >= self.config.drift_threshold_s and (
                self.drift_s is None or abs(drift - self.drift_s) >= 1):
            log.warning("zkteco-tcp %s: the terminal's clock is off by %.0f s", self.device,
                        drift)
        self.drift_s = drift
        self._check_zone(drift)

    def _check_zone(self, drift: float) -> None:
        """A clock off by whole hours (within a minute) is set for another time zone than
        the profile's ``timezone``: every punch is read hours off."""
        hours = round(drift / 3600)
        if hours == 0 or abs(drift - hours * 3600) > 60:
            self.problems.pop("zone_mismatch", None)
            return
        message = (f"the terminal's clock is {hours:+d} h from the time in "
                   f"{self.config.timezone} (the profile's zone): the terminal is set to "
                   f"another time zone; set its zone (or the device's timezone)")
        if self.problems.get("zone_mismatch") != message:
            self.problems["zone_mismatch"] = message
            log.warning("zkteco-tcp %s: %s", self.device, message)

    def _read_serial(self, session: Session) -> None:
        reply = session.request(Command.OPTIONS_RRQ, b"~SerialNumber\0")
        if reply.command == Command.ACK_OK:
            self.serial = parse_option(reply.data)[1] or None

    def _reject_packet(self, packet: Packet, reason: str) -> None:
        raw = struct.pack("<HHHH", packet.command, packet.checksum, packet.session,
                          packet.reply) + packet.data[:1024]
        self._context.spool_events(self.key, [], rejected=[
            RejectedLine(self._where, 0, raw, f"real-time event {packet.event}: {reason}")])
        self.counts["rejected"] += 1
        if packet.event == EventFlag.ATTLOG:
            self._catchup_due = self.config.catchup  # the punch may be read from the log

    def _reject_once(self, line: int, raw: bytes, reason: str) -> None:
        # the same bad record comes back with every catch-up: keep it aside once per run
        if raw in self._known_bad:
            return
        if len(self._known_bad) < MAX_REMEMBERED_BAD:
            self._known_bad.add(raw)
        self._context.spool_events(self.key, [], rejected=[
            RejectedLine(f"{self._where}:attlog", line, raw, reason)])
        self.counts["rejected"] += 1

    def _stored_last(self) -> dt.datetime | None:
        stored = self._context.checkpoint(self.key)
        try:
            value = json.loads(stored)["last"] if stored else None
            return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except (ValueError, KeyError, TypeError):
            log.warning("zkteco-tcp %s: unreadable checkpoint %.100r ignored", self.device,
                        stored)
            return None


class RecentKeys:
    """The last ``size`` record keys spooled (oldest forgotten first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def update(self, keys: Iterable[str]) -> None:
        """Remember ``keys`` as spooled."""
        for key in keys:
            self._keys[key] = None
            self._keys.move_to_end(key)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
