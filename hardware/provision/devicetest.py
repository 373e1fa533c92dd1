"""``linli hardware test``: does this device talk to us, and do its events reach the database?

The device's source is built exactly as the agent builds it (``edge.sources.build_source``
from the agent's configuration), but spools into a throwaway SQLite file in a temporary
folder, so the test never touches the agent's spool or publishes anything. Each event the
source produces is shown as it comes (of a backlog, such as a log file read from its start,
only the last few). With ``--wait-db`` the test also polls the ``events`` table for the
device's newest event stored since the test began: the running agent and ingest have to
carry it there, which proves the whole chain (agent, broker, ingest, database).

The figures of the result are the source's own: when the checks pass the test stops the
source, then counts what it spooled up to its last moment (a catch-up can still be paging
through the device's log when the first events are shown), so the count said is the
``events`` of the source's health, with what it caught up, ignored and rejected beside it.

A device that pushes to the agent (a ZKTeco in PUSH mode, a Hikvision terminal sending to
an alarm host) needs the port the running agent listens on: stop the agent during the test,
or test with ``--db-only`` (no connection to the device, only the database check).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import psycopg
from pydantic import ValidationError

from edge.config import AgentConfig, SourceConfig
from edge.rejects import RejectsFile
from edge.sensor.config import SensorMqttSource
from edge.sources import EdgeSource, SourceContext, build_source
from edge.spool import Spool
from hardware.provision import queries
from linli.contract import Event, utc_now
from linli.db import connect
from linli.errors import ConfigError
from linli.logs import redact
from linli.settings import Settings

POLL_S = 0.2
DB_POLL_S = 0.5
JOIN_TIMEOUT_S = 10.0
ATTRS_SHOWN = 160


@dataclass(frozen=True, slots=True)
class DeviceTestOptions:
    """How long and what to check."""

    seconds: float = 30.0
    wait_db: bool = False
    db_only: bool = False
    follow: bool = False
    """Keep showing events until the time is up, even once the checks passed."""
    show: int = 5
    """Events shown of a backlog that arrives in one batch."""


def find_source(config: AgentConfig, device: str) -> SourceConfig:
    """The agent's source for ``device`` (a home gateway's for one of its sensors);
    ConfigError names the devices it has."""
    for source in config.sources:
        if source.device == device or device in sensor_devices(source):
            return source
    known = ", ".join(source.device for source in config.sources)
    raise ConfigError(f"the agent of {config.community}/{config.building} has no source for "
                      f"device {device!r} (it has: {known})")


def sensor_devices(source: SourceConfig) -> list[str]:
    """The devices of a home gateway's sensors (none for other sources)."""
    if not isinstance(source, SensorMqttSource):
        return []
    return sorted({sensor.device for sensor in source.sensors})


def event_devices(source: SourceConfig, device: str) -> list[str]:
    """The devices whose events stand for ``device`` in the database: a gateway's events
    name its sensors; anything else names itself."""
    return sensor_devices(source) if device == source.device and sensor_devices(source) \
        else [device]


def describe(event: Event) -> str:
    """One line for the installer: time, kind, direction, person, credential, device."""
    attrs = json.dumps(event.attrs, ensure_ascii=False)[:ATTRS_SHOWN] if event.attrs else ""
    return (f"{event.occurred_at.isoformat(timespec='seconds')}  {event.kind.value:<14} "
            f"{(event.direction.value if event.direction else '-'):<3} "
            f"person={event.person_id or '-'} credential="
            f"{event.credential.value if event.credential else '-'} device={event.device}"
            + (f" attrs={attrs}" if attrs else ""))


class SourceWatch:
    """The device's source on a thread, spooling into a throwaway spool we read back."""

    def __init__(self, config: AgentConfig, source: SourceConfig, settings: Settings,
                 workdir: Path) -> None:
        self.wake = threading.Event()
        self.spool = Spool(workdir / "spool.db", synchronous="OFF")
        self.rejects = RejectsFile(workdir / "rejects.jsonl")
        context = SourceContext(config.community, config.building, self.spool, self.rejects,
                                settings.edge, self.wake.set)
        self.source: EdgeSource = build_source(source, context)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.source.run, args=(self._stop,),
                                        name=f"test-{source.device}", daemon=True)
        self._after = 0
        self._rejects_seen = 0

    def start(self) -> None:
        self._thread.start()

    def events(self) -> list[Event]:
        """Events spooled since the last call (then dropped from the throwaway spool)."""
        found: list[Event] = []
        while batch := self.spool.pending(self._after, 1000):
            self._after = batch[-1].seq
            self.spool.delete([message.seq for message in batch])
            for message in batch:
                try:
                    found.append(Event.model_validate_json(message.payload))
                except ValidationError:  # the source validated it; never expected here
                    continue
        return found

    def rejected(self) -> list[str]:
        """Rejected inputs since the last call, as ``where: reason``."""
        if not self.rejects.path.exists():
            return []
        lines = self.rejects.path.read_text(encoding="utf-8").splitlines()
        new, self._rejects_seen = lines[self._rejects_seen:], len(lines)
        shown = []
        for line in new:
            entry = json.loads(line)
            shown.append(f"{entry['file']}:{entry['line']}: {entry['reason']}")
        return shown

    def stop(self) -> tuple[dict[str, Any], list[Event]]:
        """Stop the source; its last health figures and the events it spooled meanwhile."""
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)
        health = self.source.health()
        rest = self.events()
        self.spool.close()
        return health, rest


def newest_in_db(conn: psycopg.Connection[Any], config: AgentConfig, devices: list[str],
                 since: dt.datetime) -> dict[str, Any] | None:
    """The newest event of ``devices`` stored since ``since``, or None."""
    row = conn.execute(queries.NEWEST_EVENT_SINCE, {
        "community": config.community, "building": config.building, "devices": devices,
        "since": since}).fetchone()
    return dict(row) if row else None


def run_device_test(config: AgentConfig, device: str, settings: Settings,
                    options: DeviceTestOptions, out: TextIO, stop: threading.Event) -> int:
    """Show the device's events and check the database; 0 when every check passed."""
    source = find_source(config, device)
    db_url = settings.require_database_url() if options.wait_db or options.db_only else None
    started = utc_now()
    _say(out, f"testing {device} ({source.type}) of {config.community}/{config.building} "
              f"for up to {options.seconds:g} s")
    with tempfile.TemporaryDirectory(prefix="linli-hwtest-") as workdir:
        watch = None if options.db_only else SourceWatch(config, source, settings, Path(workdir))
        conn = connect(db_url, autocommit=True) if db_url else None
        try:
            if watch is not None:
                watch.start()
            if conn is not None:
                _say(out, f"database: waiting for an event of {device} stored after "
                          f"{started.isoformat(timespec='seconds')}")
            seen, stored = _loop(watch, conn, config, source, device, started, options, out,
                                 stop)
        finally:
            health, rest = watch.stop() if watch is not None else (None, [])
            if conn is not None:
                conn.close()
    if rest:
        _say(out, f"  (and {len(rest)} more events spooled before the source stopped)")
    return _verdict(out, options, seen + len(rest), stored, health)


def _loop(watch: SourceWatch | None, conn: psycopg.Connection[Any] | None,
          config: AgentConfig, source: SourceConfig, device: str, started: dt.datetime,
          options: DeviceTestOptions, out: TextIO,
          stop: threading.Event) -> tuple[int, dict[str, Any] | None]:
    deadline = time.monotonic() + options.seconds
    next_db = 0.0
    seen, stored = 0, None
    while not stop.is_set():
        if watch is not None:
            seen += _show_events(watch, options, out)
            for reject in watch.rejected():
                _say(out, f"  rejected {reject}")
        if conn is not None and stored is None and time.monotonic() >= next_db:
            next_db = time.monotonic() + DB_POLL_S
            stored = newest_in_db(conn, config, event_devices(source, device), started)
            if stored is not None:
                _say(out, f"database: event {stored['event_id']} ({stored['kind']} at "
                          f"{stored['occurred_at'].isoformat(timespec='seconds')}) stored at "
                          f"{stored['received_at'].isoformat(timespec='seconds')}")
        device_ok = watch is None or seen > 0
        db_ok = conn is None or stored is not None
        if (device_ok and db_ok and not options.follow) or time.monotonic() >= deadline:
            break
        if watch is not None:
            watch.wake.wait(POLL_S)
            watch.wake.clear()
        else:
            stop.wait(POLL_S)
    return seen, stored


def _show_events(watch: SourceWatch, options: DeviceTestOptions, out: TextIO) -> int:
    events = watch.events()
    hidden = len(events) - options.show
    if hidden > 0:
        _say(out, f"  ({hidden} earlier events not shown)")
    for event in events[max(hidden, 0):]:
        _say(out, f"  event {describe(event)}")
    return len(events)


def _verdict(out: TextIO, options: DeviceTestOptions, seen: int, stored: dict[str, Any] | None,
             health: dict[str, Any] | None) -> int:
    if health is not None:
        _say(out, "source health: " + redact(json.dumps(health, ensure_ascii=False,
                                                        default=str)))
    problems = []
    if not options.db_only and seen == 0:
        problems.append("no event from the device (make one: badge a card, press the exit "
                        "button; see hardware/README.md, common faults)")
    if (options.wait_db or options.db_only) and stored is None:
        problems.append("no event of the device reached the database (is the agent running "
                        "with this configuration, and ingest?)")
    if problems:
        _say(out, "result: FAILED: " + "; ".join(problems))
        return 1
    checks = [] if options.db_only else [f"{seen} events from the device" + _figures(health)]
    if stored is not None:
        checks.append("arrival confirmed in the database")
    _say(out, "result: ok (" + "; ".join(checks) + ")")
    return 0


FIGURES = (("caught_up", "records read from its log catching up"),
           ("ignored", "ignored (routine codes)"), ("rejected", "rejected"),
           ("duplicates", "duplicates"))
"""Health figures said beside the event count, where the source keeps them: the records a
catch-up read are more than the events when some were ignored, rejected or seen before."""


def _figures(health: dict[str, Any] | None) -> str:
    shown = [f"{health[name]} {label}" for name, label in FIGURES
             if health is not None and isinstance(health.get(name), int)]
    return f"; {', '.join(shown)}" if shown else ""


def _say(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()
