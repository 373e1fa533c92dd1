"""What the pipeline benchmarks share: private services, bench events and the raw limit.

``private_services`` starts a private PostgreSQL (with a migrated database) and a private
Mosquitto on free ports, as the tests do (``linli.embedded``), and removes both afterwards.
``plain_copy`` is the raw limit every rate is compared with: ingest's own binary COPY of
the same rows into a table shaped like ``events`` (same indexes, same unique key), in the
same database, timed in the same run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from ingest import queries
from linli.contract import Event
from linli.db import migrate
from linli.embedded import EmbeddedMosquitto, EmbeddedPostgres

__all__ = ["COMMUNITY", "Services", "door_events", "plain_copy", "private_services",
           "sustained_rate", "wait_for_rows"]

COMMUNITY = "bench"
BUILDINGS = 20
T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Services:
    pg: EmbeddedPostgres
    broker: EmbeddedMosquitto
    url: str
    """The migrated database's URL."""


@contextlib.contextmanager
def private_services(dbname: str = "bench") -> Iterator[Services]:
    """A private PostgreSQL with a migrated database ``dbname``, and a private Mosquitto."""
    pg = EmbeddedPostgres().start()
    try:
        broker = EmbeddedMosquitto().start()
        try:
            with psycopg.connect(pg.url(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            url = pg.url(dbname)
            migrate(url)
            yield Services(pg, broker, url)
        finally:
            broker.cleanup()
    finally:
        pg.cleanup()


def door_events(n: int) -> list[Event]:
    """Door passages spread over buildings and devices, as many agents would send them."""
    return [
        Event(event_id=uuid.uuid4(), occurred_at=T0 + dt.timedelta(milliseconds=37 * i),
              community=COMMUNITY, building=f"b{i % BUILDINGS:02d}",
              device=f"b{i % BUILDINGS:02d}-u{i % 3}-door", kind="passage",
              direction="in" if i % 2 else "out", person_id=f"r-{i % 2000:04d}",
              credential="face", source="door", attrs={"reader": 1, "seq": i})
        for i in range(n)
    ]


def plain_copy(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Rows/s of ingest's binary COPY of ``rows`` (``ingest.batch.event_row``) into a fresh
    table shaped like ``events``; the table is dropped afterwards."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS events_copy")
        conn.execute("CREATE TABLE events_copy (LIKE events INCLUDING ALL)")
        statement = queries.COPY_EVENTS.replace("COPY events ", "COPY events_copy ", 1)
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(list(queries.EVENT_TYPES))
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE events_copy")
    return len(rows) / elapsed


def wait_for_rows(url: str, n: int, timeout: float) -> None:
    """Return once ``events`` holds ``n`` rows; SystemExit after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
            if row and row[0] >= n:
                return
            time.sleep(0.2)
    raise SystemExit(f"timed out: fewer than {n} rows after {timeout:.0f} s")


def sustained_rate(url: str, n: int, elapsed: float) -> float:
    """Events/s over the middle 80 % of the ``n`` rows of ``events`` by commit time
    (``received_at``); ``n / elapsed`` when they were all committed at once. SystemExit
    when a row is lost or doubled."""
    with psycopg.connect(url, autocommit=True) as conn:
        received = [r[0] for r in conn.execute(
            "SELECT received_at FROM events ORDER BY received_at").fetchall()]
        distinct = conn.execute("SELECT count(DISTINCT event_id) FROM events").fetchone()
    if len(received) != n or not distinct or distinct[0] != n:
        raise SystemExit(f"lost or doubled events: {len(received)} rows, "
                         f"{distinct[0] if distinct else 0} distinct, {n} published")
    window = (received[(n * 9) // 10] - received[n // 10]).total_seconds()
    return 0.8 * n / window if window > 0 else n / elapsed
