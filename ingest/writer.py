"""Storing one batch in PostgreSQL, in one transaction, idempotent on event_id.

Events go in by binary COPY straight into ``events`` inside a savepoint. When that meets an
event already stored (a redelivery), the savepoint is rolled back and the batch goes through
a temporary staging table and ``INSERT ... ON CONFLICT DO NOTHING``, which costs about twice
as much and is therefore kept for batches that need it. Presence, devices, status reports,
dead letters and the ``linli_events`` notification are written in the same transaction.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb, set_json_dumps
from pydantic_core import to_json

from ingest import queries
from ingest.batch import DeadLetter, PreparedBatch, event_row, prepare_batch
from ingest.consumer import ReceivedMessage
from linli.db import connect
from linli.logs import redact

log = logging.getLogger(__name__)

__all__ = ["DATA_ERRORS", "BatchWriter", "WriteResult"]

DATA_ERRORS: tuple[type[psycopg.Error], ...] = (psycopg.DataError, psycopg.IntegrityError)
"""Errors that a message's content causes (e.g. a NUL character the database refuses):
retrying the same batch would fail forever, so its messages are written one by one."""

LOGGED_DEAD_LETTERS = 5
"""Dead letters logged per batch; all are stored and counted."""


@dataclass(slots=True)
class WriteResult:
    """What one committed batch did."""

    messages: int = 0
    events_written: int = 0
    duplicates: int = 0
    statuses: int = 0
    dead_letters: int = 0
    new_devices: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    staged: bool = False
    """The batch held a redelivered event and went through the staging table."""

    def add(self, other: WriteResult) -> None:
        """Fold ``other`` into this result (for batches written message by message)."""
        self.messages += other.messages
        self.events_written += other.events_written
        self.duplicates += other.duplicates
        self.statuses += other.statuses
        self.dead_letters += other.dead_letters
        self.new_devices += other.new_devices
        self.notified = sorted(set(self.notified) | set(other.notified))
        self.staged = self.staged or other.staged


class BatchWriter:
    """One database connection that stores prepared batches."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None

    def connect(self) -> None:
        """(Re)open the connection; ServiceError when the database cannot be reached."""
        self.close()
        # A commit is what lets the broker forget a message and the agent drop it from its
        # spool (the storage receipt), so it must be durable whatever the server's default:
        # with synchronous_commit off a database crash loses the last commits it confirmed.
        self._conn = connect(self._url, autocommit=True, options="-c synchronous_commit=on")
        # pydantic-core's encoder is several times faster than json.dumps for attrs/status
        set_json_dumps(to_json, self._conn)

    def close(self) -> None:
        """Close the connection (the next write opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def write(self, batch: PreparedBatch) -> WriteResult:
        """Store ``batch`` in one transaction; raises psycopg errors, commits nothing then."""
        if self._conn is None or self._conn.closed:
            self.connect()
        conn = self._conn
        assert conn is not None
        result = WriteResult(messages=batch.messages, statuses=len(batch.statuses),
                             dead_letters=len(batch.dead_letters))
        with conn.transaction(), conn.cursor() as cur:
            per_community = self._write_events(conn, cur, batch, result)
            result.duplicates = len(batch.events) + batch.duplicates_in_batch - sum(
                per_community.values())
            result.events_written = sum(per_community.values())
            self._write_presence(cur, batch)
            self._write_signals(cur, batch)
            result.new_devices += self._write_devices(cur, batch)
            result.new_devices += self._write_statuses(cur, batch)
            self._write_dead_letters(cur, batch.dead_letters)
            for community in sorted(c for c, n in per_community.items() if n):
                cur.execute(queries.NOTIFY_EVENTS, {"community": community})
                result.notified.append(community)
            for community in batch.urgent_communities():
                cur.execute(queries.NOTIFY_URGENT, {"community": community})
        for device in result.new_devices:
            log.warning("unknown device %s: stored its data; register it in the directory",
                        device)
        return result

    def write_isolating(self, messages: Sequence[ReceivedMessage]) -> WriteResult:
        """Store messages one by one, dead-lettering each that the database refuses."""
        total = WriteResult()
        for message in messages:
            try:
                total.add(self.write(prepare_batch([message])))
            except DATA_ERRORS as exc:
                reason = f"refused by the database: {_first_line(exc)}"
                letter = DeadLetter(message.topic, message.payload, reason)
                total.add(self.write(PreparedBatch(messages=1, dead_letters=[letter])))
        return total

    def _write_events(self, conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any],
                      batch: PreparedBatch, result: WriteResult) -> dict[str, int]:
        """Insert the batch's events; returns how many were new, per community."""
        if not batch.events:
            return {}
        rows = [event_row(event) for event in batch.events]
        if not batch.redelivered:
            try:
                with conn.transaction():
                    _copy_rows(cur, queries.COPY_EVENTS, rows)
                return dict(Counter(event.community for event in batch.events))
            except psycopg.errors.UniqueViolation:
                pass  # rolled back to the savepoint: some event is already stored
        result.staged = True
        cur.execute(queries.CREATE_STAGING)
        _copy_rows(cur, queries.COPY_STAGING, rows)
        cur.execute(queries.INSERT_FROM_STAGING)
        return {row["community"]: row["n"] for row in cur.fetchall()}

    @staticmethod
    def _write_presence(cur: psycopg.Cursor[Any], batch: PreparedBatch) -> None:
        updates = batch.presence_updates()
        if updates:
            cur.execute(queries.UPSERT_PRESENCE, {"rows": Jsonb(updates)})

    @staticmethod
    def _write_signals(cur: psycopg.Cursor[Any], batch: PreparedBatch) -> None:
        updates = batch.signal_updates()
        if updates:
            cur.execute(queries.UPSERT_RESIDENT_SIGNALS, {"rows": Jsonb(updates)})

    @staticmethod
    def _write_devices(cur: psycopg.Cursor[Any], batch: PreparedBatch) -> list[str]:
        sightings = batch.device_sightings()
        if not sightings:
            return []
        cur.execute(queries.UPSERT_DEVICE_SIGHTINGS, {"rows": Jsonb(sightings)})
        return _inserted(cur)

    @staticmethod
    def _write_statuses(cur: psycopg.Cursor[Any], batch: PreparedBatch) -> list[str]:
        if not batch.statuses:
            return []
        cur.execute(queries.UPSERT_DEVICE_STATUS, {"rows": Jsonb(_records(batch.statuses))})
        return _inserted(cur)

    @staticmethod
    def _write_dead_letters(cur: psycopg.Cursor[Any], letters: list[DeadLetter]) -> None:
        if not letters:
            return
        cur.executemany(queries.INSERT_DEAD_LETTER, [
            {"topic": d.topic, "payload": d.payload, "reason": d.reason} for d in letters
        ])
        for letter in letters[:LOGGED_DEAD_LETTERS]:
            log.warning("dead letter on %s: %s; payload %r", letter.topic, letter.reason,
                        letter.payload[:200])
        if len(letters) > LOGGED_DEAD_LETTERS:
            log.warning("and %d more dead letters in this batch",
                        len(letters) - LOGGED_DEAD_LETTERS)


def _copy_rows(cur: psycopg.Cursor[Any], statement: str, rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(statement) as copy:
        copy.set_types(list(queries.EVENT_TYPES))
        write_row = copy.write_row
        for row in rows:
            write_row(row)


def _records(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Slotted dataclasses as JSON-ready mappings (to_json writes times and UUIDs)."""
    return [{name: getattr(item, name) for name in item.__slots__} for item in items]


def _inserted(cur: psycopg.Cursor[Any]) -> list[str]:
    return [f"{r['community']}/{r['building']}/{r['id']}" for r in cur.fetchall() if r["inserted"]]


def _first_line(exc: BaseException) -> str:
    text = redact(str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
