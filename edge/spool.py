"""The agent's durable spool: events wait here, on disk, until ingest has stored them.

One SQLite file per agent (stdlib ``sqlite3``, WAL). A source stores a batch of events
*and* its new tail position in one transaction (``append``), so a log line is spooled
exactly once whenever the agent is killed: either both are on disk or neither is, and the
line is read again. The publisher lists messages in order (``pending``) and deletes them
in batches once ingest's storage receipt named them (``confirm``, by payload digest: see
``linli.receipts``), or, for an ingest that sends no receipts, on their PUBACK (``delete``).

A full disk (SQLITE_FULL) raises ``SpoolFull`` and sets ``problem`` to ``spool_full``
until a later write succeeds: sources wait and retry (nothing read is lost), the publisher
goes on sending what is spooled and deleting what is stored, which makes room again.

``synchronous=FULL``: a committed batch survives a power cut too. ``NORMAL`` would only
survive a crash of the process, and after a power cut the tail would re-read lines whose
events might already have left, under new event ids (doubles that ingest cannot spot).

One connection, shared by the agent's threads behind a lock; a second agent on the same
spool is refused (an exclusive ``flock`` on ``<spool>.lock``) because it would spool every
line again under new event ids.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge import queries
from edge.door.tail import Cursor
from linli.errors import ServiceError
from linli.receipts import payload_digest

log = logging.getLogger(__name__)

REJECTED_LINES = "rejected_lines"
SPOOL_FULL = "spool_full"
SPOOL_ERROR = "spool_error"
_FULL_CODES = frozenset({sqlite3.SQLITE_FULL})


PROBLEM_HOLD_S = 10.0
"""A spool problem is reported until writes have gone well for this long."""


class SpoolFull(ServiceError):
    """SQLite said the spool's disk (or its ``max_page_count``) is full."""


class SpoolWriteError(ServiceError):
    """A spool write failed for another reason (I/O error, read-only file)."""


@dataclass(frozen=True, slots=True)
class Message:
    """A spooled MQTT message; ``seq`` orders them and names them for deletion."""

    seq: int
    topic: str
    payload: bytes


class Spool:
    """The outbox, the tail cursors and a few counters, in one SQLite file."""

    def __init__(self, path: Path, *, synchronous: str = "FULL",
                 max_bytes: int | None = None, hold_s: float = PROBLEM_HOLD_S) -> None:
        self.path = path
        self._problem: str | None = None
        self._failed_at = self._ok_at = 0.0
        self._hold_s = hold_s
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _lock_exclusively(path.with_name(path.name + ".lock"))
        except OSError as exc:
            raise ServiceError(f"cannot open the spool {path}: "
                               f"{exc.strerror or exc} ({exc.filename or path.parent})") from None
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={_checked_level(synchronous)}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(queries.CREATE_SCHEMA)
            self._upgrade()
            self._db.execute(f"PRAGMA user_version={queries.SCHEMA_VERSION}")
            if max_bytes is not None:
                self._cap(max_bytes)
        except sqlite3.Error as exc:
            os.close(self._lock_fd)
            raise ServiceError(f"cannot open the spool {path}: {exc}") from None

    def _cap(self, max_bytes: int) -> None:
        # SQLite refuses to grow the file past max_page_count with SQLITE_FULL, the very
        # error a full disk gives, so a capped spool takes the same path (SpoolFull). A
        # spool already larger keeps its size (SQLite never sets the cap below it).
        page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self._db.execute(f"PRAGMA max_page_count={max(1, max_bytes // page_size)}")

    def _upgrade(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "digest" not in columns:
            self._db.execute(queries.ADD_DIGEST_COLUMN)
        with self._transaction():
            rows = self._db.execute(queries.SELECT_WITHOUT_DIGEST).fetchall()
            self._db.executemany(queries.SET_DIGEST,
                                 ((payload_digest(payload), seq) for seq, payload in rows))
        self._db.execute(queries.CREATE_DIGEST_INDEX)

    @property
    def problem(self) -> str | None:
        """``spool_full`` or ``spool_error`` from a failed write, until writes have
        succeeded and none has failed for ``hold_s``: a full spool still takes the odd
        single line or delete, and its state must not flap with each."""
        if self._problem is None:
            return None
        if self._ok_at > self._failed_at and time.monotonic() - self._failed_at >= self._hold_s:
            self._problem = None
        return self._problem

    def _failed(self, problem: str) -> None:
        self._problem, self._failed_at = problem, time.monotonic()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction; its failure is raised as it happened (a ROLLBACK after a
        failed COMMIT, when SQLite already ended the transaction, must not mask it), as
        ``SpoolFull`` when the disk is full. Sets or clears ``problem``."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error as rollback:
                    log.warning("spool rollback failed too: %s", rollback)
            if isinstance(exc, sqlite3.Error):
                if getattr(exc, "sqlite_errorcode", None) in _FULL_CODES:
                    self._failed(SPOOL_FULL)
                    raise SpoolFull(f"the spool {self.path} is full: {exc}") from exc
                if isinstance(exc, sqlite3.OperationalError):
                    self._failed(SPOOL_ERROR)
                    raise SpoolWriteError(f"cannot write the spool {self.path}: {exc}") from exc
            raise
        self._ok_at = time.monotonic()

    def append(self, source: str, messages: Sequence[tuple[str, bytes]], cursor: Cursor,
               *, rejected: int = 0, last_reject: str | None = None) -> None:
        """Store ``messages`` (topic, payload), the source's new cursor and its rejected-line
        count, all in one transaction."""
        rows = _with_digests(messages)
        with self._lock, self._transaction():
            self._db.executemany(queries.INSERT_MESSAGE, rows)
            self._db.execute(queries.UPSERT_CURSOR, (source, cursor.device, cursor.inode,
                                                     cursor.offset, cursor.line))
            if rejected:
                self._db.execute(queries.ADD_TO_COUNTER, (REJECTED_LINES, rejected, last_reject))

    def append_events(self, source: str, messages: Sequence[tuple[str, bytes]], *,
                      checkpoint: str | None = None, rejected: int = 0,
                      last_reject: str | None = None) -> None:
        """Store ``messages`` and, when given, the source's new ``checkpoint`` (where a
        non-file source got to: a record number, a time) in one transaction."""
        rows = _with_digests(messages)
        with self._lock, self._transaction():
            self._db.executemany(queries.INSERT_MESSAGE, rows)
            if checkpoint is not None:
                self._db.execute(queries.UPSERT_CHECKPOINT, (source, checkpoint))
            if rejected:
                self._db.execute(queries.ADD_TO_COUNTER, (REJECTED_LINES, rejected, last_reject))

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
        """Remove messages by seq, in one transaction."""
        if not seqs:
            return
        with self._lock, self._transaction():
            self._db.executemany(queries.DELETE_MESSAGE, ((seq,) for seq in seqs))

    def confirm(self, digests: Collection[bytes]) -> list[int]:
        """Remove the messages ingest has stored (named by payload digest, in one
        transaction); returns the seqs removed. Digests of other agents' messages (one
        building's receipts go to all its agents) match nothing."""
        if not digests:
            return []
        removed: list[int] = []
        with self._lock, self._transaction():
            for digest in digests:
                removed += (row[0] for row in self._db.execute(queries.DELETE_STORED, (digest,)))
        return removed

    def depth(self) -> int:
        """How many messages wait to be stored by ingest."""
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


def _with_digests(messages: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes, bytes]]:
    return [(topic, payload, payload_digest(payload)) for topic, payload in messages]


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
