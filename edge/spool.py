"""The agent's durable spool: events wait here, on disk, until the broker acknowledged them.

One SQLite file per agent (stdlib ``sqlite3``, WAL). A source stores a batch of events
*and* its new tail position in one transaction (``append``), so a log line is spooled
exactly once whenever the agent is killed: either both are on disk or neither is, and the
line is read again. The publisher lists messages in order (``pending``) and deletes them
in batches once their PUBACK arrived (``delete``).

``synchronous=FULL``: a committed batch survives a power cut too. ``NORMAL`` would only
survive a crash of the process, and after a power cut the tail would re-read lines whose
events might already have left, under new event ids (doubles that ingest cannot spot).

One connection, shared by the agent's threads behind a lock; a second agent on the same
spool is refused (an exclusive ``flock`` on ``<spool>.lock``) because it would spool every
line again under new event ids.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge import queries
from edge.door.tail import Cursor
from linli.errors import ServiceError

REJECTED_LINES = "rejected_lines"


@dataclass(frozen=True, slots=True)
class Message:
    """A spooled MQTT message; ``seq`` orders them and names them for deletion."""

    seq: int
    topic: str
    payload: bytes


class Spool:
    """The outbox, the tail cursors and a few counters, in one SQLite file."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_exclusively(path.with_name(path.name + ".lock"))
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={_checked_level(synchronous)}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(queries.CREATE_SCHEMA)
            self._db.execute(f"PRAGMA user_version={queries.SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            os.close(self._lock_fd)
            raise ServiceError(f"cannot open the spool {path}: {exc}") from exc

    def append(self, source: str, messages: Sequence[tuple[str, bytes]], cursor: Cursor,
               *, rejected: int = 0, last_reject: str | None = None) -> None:
        """Store ``messages`` (topic, payload), the source's new cursor and its rejected-line
        count, all in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(queries.INSERT_MESSAGE, messages)
                self._db.execute(queries.UPSERT_CURSOR, (source, cursor.device, cursor.inode,
                                                         cursor.offset, cursor.line))
                if rejected:
                    self._db.execute(queries.ADD_TO_COUNTER,
                                     (REJECTED_LINES, rejected, last_reject))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def append_events(self, source: str, messages: Sequence[tuple[str, bytes]], *,
                      checkpoint: str | None = None, rejected: int = 0,
                      last_reject: str | None = None) -> None:
        """Store ``messages`` and, when given, the source's new ``checkpoint`` (where a
        non-file source got to: a record number, a time) in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(queries.INSERT_MESSAGE, messages)
                if checkpoint is not None:
                    self._db.execute(queries.UPSERT_CHECKPOINT, (source, checkpoint))
                if rejected:
                    self._db.execute(queries.ADD_TO_COUNTER,
                                     (REJECTED_LINES, rejected, last_reject))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def checkpoint(self, source: str) -> str | None:
        """The checkpoint ``source`` stored last, or None."""
        with self._lock:
            row = self._db.execute(queries.SELECT_CHECKPOINT, (source,)).fetchone()
        return str(row[0]) if row else None

    def cursor(self, source: str) -> Cursor | None:
        """Where ``source`` stopped reading, or None if it never stored anything."""
        with self._lock:
            row = self._db.execute(queries.SELECT_CURSOR, (source,)).fetchone()
        return Cursor(*row) if row else None

    def pending(self, after: int, limit: int) -> list[Message]:
        """Up to ``limit`` messages with a seq above ``after``, oldest first."""
        with self._lock:
            rows = self._db.execute(queries.SELECT_PENDING, (after, limit)).fetchall()
        return [Message(*row) for row in rows]

    def fetch(self, seqs: Collection[int]) -> list[Message]:
        """The messages with these seqs that are still spooled, oldest first."""
        with self._lock:
            found = [self._db.execute(queries.SELECT_MESSAGE, (seq,)).fetchone()
                     for seq in sorted(seqs)]
        return [Message(*row) for row in found if row]

    def delete(self, seqs: Collection[int]) -> None:
        """Remove acknowledged messages, in one transaction."""
        if not seqs:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(queries.DELETE_MESSAGE, ((seq,) for seq in seqs))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def depth(self) -> int:
        """How many messages wait for their acknowledgement."""
        with self._lock:
            (count,) = self._db.execute(queries.COUNT_MESSAGES).fetchone()
        return int(count)

    def rejects(self) -> tuple[int, str | None]:
        """Lines rejected over the spool's life, and the reason of the last one."""
        with self._lock:
            row = self._db.execute(queries.SELECT_COUNTER, (REJECTED_LINES,)).fetchone()
        return (int(row[0]), row[1]) if row else (0, None)

    def close(self) -> None:
        """Close the database and release the lock (idempotent)."""
        with self._lock:
            if self._lock_fd < 0:
                return
            self._db.close()
            os.close(self._lock_fd)
            self._lock_fd = -1


def _checked_level(level: str) -> str:
    # PRAGMA values cannot be bound as parameters, so only known words get through
    if level.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"unknown synchronous level {level!r}")
    return level.upper()


def _lock_exclusively(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ServiceError(f"another edge agent is using the spool {path.with_suffix('')}; "
                           "two agents on one building would spool every line twice") from None
    return fd
