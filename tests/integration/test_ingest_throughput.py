"""A throughput figure: a backlog of 50,000 events drained by ingest, next to a plain COPY.

Prints events/s (run with ``-s`` to see it); asserts correctness, never a speed.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import psycopg

from ingest import queries
from ingest.batch import event_row
from tests.integration.test_ingest_flow import (
    T0,
    count,
    ingest_settings,
    make_event,
    publisher,
    running_ingest,
    wait_for,
)

BACKLOG = 50_000


def test_drain_a_backlog_of_50000_events(db: Any, db_url: str, broker: Any,
                                         make_settings: Any) -> None:
    settings = ingest_settings(make_settings, db_url, broker.url, batch_wait_ms=50)
    events = [
        make_event(occurred_at=T0 + dt.timedelta(milliseconds=37 * i),
                   building=f"b{i % 20:02d}", device=f"b{i % 20:02d}-u{i % 3}-door",
                   person_id=f"r-{i % 2000:04d}", direction="in" if i % 2 else "out")
        for i in range(BACKLOG)
    ]
    with running_ingest(settings):
        pass  # the persistent session now exists; the broker keeps what comes next
    started = time.perf_counter()
    with publisher(broker.url) as pub:
        pub.events(events, timeout=120)
    publish_s = time.perf_counter() - started

    started = time.perf_counter()
    with running_ingest(settings) as ingest:
        wait_for(lambda: ingest.stats.snapshot().events_written >= BACKLOG, timeout=120)
        drain_s = time.perf_counter() - started
        figures = ingest.stats.snapshot()
    assert count(db, "SELECT count(*) FROM events") == BACKLOG
    assert count(db, "SELECT count(DISTINCT event_id) FROM events") == BACKLOG
    assert count(db, "SELECT count(*) FROM presence") == 2000
    assert figures.duplicates == 0 and figures.dead_letters == 0

    copy_s = _plain_copy(db_url, events)
    print(f"\ningest throughput: published {BACKLOG} events in {publish_s:.1f}s "
          f"({BACKLOG / publish_s:,.0f}/s, paho publisher); "
          f"ingest drained them in {drain_s:.2f}s ({BACKLOG / drain_s:,.0f} events/s, "
          f"{figures.batches} batches); plain binary COPY of the same rows into an empty "
          f"events table: {copy_s:.2f}s ({BACKLOG / copy_s:,.0f} rows/s)")


def _plain_copy(db_url: str, events: list[Any]) -> float:
    """Time a binary COPY of the same rows into ``events``, emptied first."""
    rows = [event_row(e) for e in events]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("TRUNCATE events")
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur, cur.copy(queries.COPY_EVENTS) as copy:
            copy.set_types(list(queries.EVENT_TYPES))
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - started
