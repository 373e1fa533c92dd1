"""Connections to the suite's two databases, and putting them back to empty between tests.

pglite takes one client at a time and needs a moment to notice that the previous one left,
so connections are retried briefly, and the suite holds exactly one TimescaleDB connection
(``Timescale.conn``), closed before anything else (``linli.db.migrate``) connects.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from linli.db import migrate
from linli.errors import ServiceError

Conn = psycopg.Connection[dict[str, Any]]
CONNECT_TIMEOUT_S = 10.0


def connect(url: str) -> Conn:
    """An autocommit dict-row connection in UTC; retried while pglite frees its one slot."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            # prepare_threshold=None: prepared statements would leak into pglite's next client
            conn = psycopg.connect(url, autocommit=True, row_factory=dict_row,
                                   prepare_threshold=None)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    # pglite starts at client_min_messages=debug3, and its settings outlive the session
    conn.execute("SET client_min_messages = warning")
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def migrate_with_retry(url: str) -> list[str]:
    """``linli.db.migrate``, retried only while it cannot connect (pglite's slot is busy)."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            return migrate(url)
        except ServiceError as exc:
            if not str(exc).startswith("cannot connect") or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Timescale:
    """The migrated TimescaleDB of this session."""

    def __init__(self, url: str, kind: str) -> None:
        self.url = url
        self.kind = kind
        self.supports_copy = kind != "pglite"
        self._conn: Conn | None = None
        self.migrations: list[str] = []
        self.version = ""

    @property
    def conn(self) -> Conn:
        """The one open connection, reopened when a test closed it; idle, autocommit."""
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url)
        if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._conn.rollback()
        return self._conn

    def release(self) -> None:
        """Close the connection, so that another client may connect (pglite)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def migrate(self) -> list[str]:
        self.release()
        return migrate_with_retry(self.url)


def data_tables(conn: Conn) -> list[str]:
    """Every table of Linli's schema, schema_migrations excepted."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'schema_migrations' ORDER BY tablename").fetchall()
    return [row["tablename"] for row in rows]


def empty(conn: Conn, *, timescale: bool) -> None:
    """Delete every row (TRUNCATE also drops the hypertable's chunks) and, on TimescaleDB,
    bring the continuous aggregate back to empty too."""
    tables = ", ".join(data_tables(conn))
    conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    if timescale:
        conn.execute("CALL refresh_continuous_aggregate('daily_passages', NULL, NULL)")
