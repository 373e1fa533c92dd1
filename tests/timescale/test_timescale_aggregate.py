"""daily_passages, the continuous aggregate of 0002, gives the right figures: the sums
computed here in Python from the rows inserted, and the same rows as 0001's plain view on
PostgreSQL for the same data."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from psycopg import sql

from tests.timescale.database import Conn

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEVICES = (("juxin", "b01", "b01-u1-door"), ("juxin", "b02", "b02-u1-door"),
           ("heping", "b01", "b01-u1-door"))
KINDS = ("passage", "passage", "passage", "access_denied", "door_forced")
Key = tuple[str, str, str, dt.datetime, str | None]
COLUMNS = "community, building, device, day_start, direction, passages"


def local_midnight(at: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(at.astimezone(SHANGHAI).date(), dt.time(), SHANGHAI)


def make_events(now: dt.datetime, days: int, seed: int) -> list[dict[str, Any]]:
    """Events over ``days`` local days, with some exactly at and just before local
    midnight (16:00 UTC), several devices, directions (and none), kinds and counts."""
    rnd = random.Random(seed)
    today = local_midnight(now)
    events = []
    for back in range(days):
        midnight = today - dt.timedelta(days=back)
        offsets = [dt.timedelta(0), dt.timedelta(hours=24, microseconds=-1)] + [
            dt.timedelta(minutes=rnd.randrange(24 * 60)) for _ in range(12)]
        for offset in offsets:
            at = midnight + offset
            if at >= now:
                continue
            community, building, device = rnd.choice(DEVICES)
            events.append({
                "event_id": uuid.uuid4(), "occurred_at": at.astimezone(dt.UTC),
                "community": community, "building": building, "device": device,
                "kind": rnd.choice(KINDS), "direction": rnd.choice(("in", "out", None)),
                "count": rnd.randint(1, 3), "source": "door"})
    return events


def expected(events: list[dict[str, Any]]) -> Counter[Key]:
    """Passages per (community, building, device, local day start, direction)."""
    sums: Counter[Key] = Counter()
    for e in events:
        if e["kind"] == "passage":
            day = local_midnight(e["occurred_at"]).astimezone(dt.UTC)
            sums[(e["community"], e["building"], e["device"], day, e["direction"])] += e["count"]
    return sums


def insert(conn: Conn, events: list[dict[str, Any]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (event_id, occurred_at, community, building, device, kind,"
            " direction, count, source) VALUES (%(event_id)s, %(occurred_at)s, %(community)s,"
            " %(building)s, %(device)s, %(kind)s, %(direction)s, %(count)s, %(source)s)",
            events)


def aggregate(conn: Conn) -> Counter[Key]:
    rows = conn.execute(f"SELECT {COLUMNS} FROM daily_passages").fetchall()
    keys = [(r["community"], r["building"], r["device"], r["day_start"], r["direction"])
            for r in rows]
    assert len(set(keys)) == len(keys), "one row per device, day and direction"
    return Counter({key: r["passages"] for key, r in zip(keys, rows, strict=True)})


@pytest.fixture
def now(empty_ts: Conn) -> dt.datetime:
    row = empty_ts.execute("SELECT now() AS now").fetchone()
    assert row is not None
    value: dt.datetime = row["now"]
    return value


def test_daily_passages_match_the_rows_inserted(empty_ts: Conn, now: dt.datetime) -> None:
    """daily_passages sums each local day's passages exactly as computed in Python, from
    the materialization for past days and in real time for rows after the last refresh"""
    events = make_events(now, days=10, seed=1)
    insert(empty_ts, events)
    today = local_midnight(now)
    empty_ts.execute(sql.SQL("CALL refresh_continuous_aggregate('daily_passages', NULL, {})")
                     .format(sql.Literal(today)))
    want = expected(events)
    assert len(want) > 40 and aggregate(empty_ts) == want

    later = [e for e in make_events(now, days=3, seed=2) if e["occurred_at"] >= today]
    assert later, "rows after the watermark (today)"
    insert(empty_ts, later)  # no refresh: the real-time part must show them
    assert aggregate(empty_ts) == expected(events + later)


def test_daily_passages_is_the_same_as_the_plain_postgresql_view(
    empty_ts: Conn, now: dt.datetime, new_pg_database: Callable[[], Conn]
) -> None:
    """daily_passages on TimescaleDB returns the same rows as 0001's view on PostgreSQL"""
    events = make_events(now, days=20, seed=3)
    insert(empty_ts, events)
    empty_ts.execute("CALL refresh_continuous_aggregate('daily_passages', NULL, NULL)")
    pg = new_pg_database()
    insert(pg, events)
    on_postgres = aggregate(pg)
    assert len(on_postgres) > 80
    assert aggregate(empty_ts) == on_postgres == expected(events)
