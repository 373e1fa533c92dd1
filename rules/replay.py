"""``linli rules replay``: recorded events through the real storage and rules, on a
simulated clock.

The database (``LINLI_DATABASE_URL``, fresh and empty) is migrated and the community's
directory imported; its residents count as registered when the recording starts. The
events (contract v1 JSON lines, any order) are stored in time order through ingest's own
storage path (``ingest.batch`` + ``ingest.writer``), and the rules engine evaluates the
community as the running service does: after each moment that brings events, and every
simulated minute in between, then escalates what is due. Every alert change is printed
on stdout as one JSON object per line; everything else goes to stderr.

A minute with no events is evaluated only when something can change in it: the rules
say from when (``rules.framework.Timed``); a rule that cannot say is evaluated every minute.
The output is the same as evaluating every minute, only faster.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from ingest.batch import prepare_batch
from ingest.consumer import ReceivedMessage
from ingest.writer import BatchWriter
from linli.contract import Event, describe_validation_error
from linli.db import connect, migrate
from linli.directory import import_directory, load_directory
from linli.errors import ConfigError
from linli.settings import Settings
from rules import queries
from rules.alerts import escalate_due
from rules.engine import Change, default_rules, evaluate_community
from rules.framework import Rule, Timed

log = logging.getLogger(__name__)

MINUTE = dt.timedelta(minutes=1)
DEFAULT_TAIL = dt.timedelta(hours=48)
SET_REGISTERED = """
UPDATE residents SET created_at = %(at)s WHERE community = %(community)s
"""
ALERTS_BY_ID = """
SELECT id, rule, subject, tier FROM alerts WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id
"""


@dataclass(frozen=True, slots=True)
class Loaded:
    """The recording: valid events in time order, and how many lines were refused."""

    events: list[Event]
    refused: int


def load_events(paths: Sequence[Path], err: IO[str]) -> Loaded:
    """Read every file; a line that is not a valid event is reported and skipped."""
    events: list[Event] = []
    refused = 0
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                events.append(Event.model_validate_json(line))
            except ValidationError as exc:
                refused += 1
                if refused <= 20:
                    print(f"{path}:{number}: refused: {describe_validation_error(exc)}",
                          file=err)
    events.sort(key=lambda e: e.occurred_at)
    return Loaded(events, refused)


def _moments(events: list[Event]) -> Iterator[tuple[dt.datetime, list[Event]]]:
    """The events grouped by the moment they occurred, in time order."""
    index = 0
    while index < len(events):
        at = events[index].occurred_at
        group = []
        while index < len(events) and events[index].occurred_at == at:
            group.append(events[index])
            index += 1
        yield at, group


def _messages(events: Iterable[Event]) -> list[ReceivedMessage]:
    return [ReceivedMessage(topic=e.topic, payload=e.to_json(), mid=0, qos=1, generation=0)
            for e in events]


class Replay:
    """One replay into one database, printing alert changes to ``out``."""

    def __init__(self, settings: Settings, community: str, out: IO[str],
                 rules: Sequence[Rule] | None = None, *, every_minute: bool = False) -> None:
        self.settings = settings
        self.every_minute = every_minute
        """Evaluate every simulated minute, quiet or not (tests prove it changes nothing)."""
        self.community = community
        self.out = out
        self.rules = list(rules) if rules is not None else default_rules(settings)
        self.evaluations = 0
        self.skipped = 0
        self._quiet_until: dt.datetime | None = None

    def run(self, conn: Any, writer: BatchWriter, events: list[Event],
            until: dt.datetime) -> None:
        """Store and evaluate moment by moment up to ``until``."""
        clock = events[0].occurred_at if events else until
        pending = _moments(events)
        upcoming = next(pending, None)
        while clock <= until:
            if upcoming is not None and upcoming[0] <= clock:
                at, group = upcoming
                writer.write(prepare_batch(_messages(group)))
                self._tick(conn, at, fresh_events=True)
                upcoming = next(pending, None)
                clock = at
            else:
                self._tick(conn, clock, fresh_events=False)
            following = _next_minute(clock)
            clock = upcoming[0] if upcoming is not None and upcoming[0] < following else following

    def _tick(self, conn: Any, now: dt.datetime, *, fresh_events: bool) -> None:
        if (not fresh_events and not self.every_minute and self._quiet_until is not None
                and now < self._quiet_until):
            self.skipped += 1
            return
        result = evaluate_community(conn, self.community, self.settings, now, rules=self.rules)
        self.evaluations += 1
        for change in result.changes:
            self._print(now, change)
        escalated = escalate_due(conn, rules={r.name: r for r in self.rules},
                                 settings=self.settings, now=now)
        if escalated:
            for row in conn.execute(ALERTS_BY_ID, {"ids": escalated}).fetchall():
                self._print(now, Change(row["id"], row["rule"], row["subject"], "escalated",
                                        f"tier {row['tier']}"))
        self._quiet_until = self._next_due(conn, now)

    def _next_due(self, conn: Any, now: dt.datetime) -> dt.datetime | None:
        """The earliest moment at which any rule or timer could change something."""
        hints = []
        for rule in self.rules:
            if not isinstance(rule, Timed):
                return None
            hint = rule.quiet_until(conn, self.community, now)
            if hint is None:
                return None
            hints.append(hint)
        row = conn.execute(queries.NEXT_ESCALATION, {"community": self.community}).fetchone()
        if row is not None and row["at"] is not None:
            hints.append(row["at"])
        return min(hints) if hints else None

    def _print(self, at: dt.datetime, change: Change) -> None:
        self.out.write(json.dumps({
            "at": at.astimezone(dt.UTC).isoformat(), "alert": change.alert,
            "rule": change.rule, "subject": change.subject, "change": change.change,
            "reason": change.reason}, ensure_ascii=False) + "\n")
        self.out.flush()


def _next_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0) + MINUTE


def replay(settings: Settings, community_file: Path, event_files: Sequence[Path],
           until: dt.datetime | None, *, out: IO[str] | None = None,
           err: IO[str] | None = None, every_minute: bool = False) -> Replay:
    """Migrate, import, and replay; returns the finished replay (for its counters)."""
    out = out or sys.stdout
    err = err or sys.stderr
    url = settings.require_database_url()
    directory = load_directory(community_file)
    loaded = load_events(event_files, err)
    if not loaded.events and until is None:
        raise ConfigError("no valid event to replay and no --until given")
    end = until or (loaded.events[-1].occurred_at + DEFAULT_TAIL)
    for line in migrate(url):
        print(f"migrated: {line}", file=err)
    community = directory.community.id
    with connect(url) as conn:
        import_directory(conn, directory)
        start = loaded.events[0].occurred_at if loaded.events else end
        conn.execute(SET_REGISTERED, {"at": start, "community": community})
        conn.commit()
    others = {e.community for e in loaded.events} - {community}
    if others:
        print(f"events of other communities are stored but not evaluated: {sorted(others)}",
              file=err)
    writer = BatchWriter(url)
    runner = Replay(settings, community, out, every_minute=every_minute)
    try:
        with connect(url, autocommit=True) as conn:
            runner.run(conn, writer, loaded.events, end)
    finally:
        writer.close()
    print(f"replayed {len(loaded.events)} events ({loaded.refused} refused) up to "
          f"{end.isoformat()}: {runner.evaluations} evaluations, {runner.skipped} quiet "
          f"minutes skipped", file=err)
    return runner
