"""What migration 0002 promises on TimescaleDB: a hypertable, its compression, retention and
continuous-aggregate policies with the intended settings, and each policy doing its job
when run (``CALL run_job``: pglite runs no background workers)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from psycopg import sql

from linli.db import load_migrations
from tests.timescale.database import Conn, Timescale

DAY = dt.timedelta(days=1)
CHUNK_INTERVAL = DAY
SEGMENT_BY = ["community", "building"]
ORDER_BY = [("occurred_at", False), ("event_id", True)]  # (column, ascending)
COMPRESS_AFTER = dt.timedelta(days=7)
DROP_AFTER = dt.timedelta(days=400)
REFRESH_START = dt.timedelta(days=14)
REFRESH_END = dt.timedelta(hours=1)
REFRESH_EVERY = dt.timedelta(minutes=30)


def job(conn: Conn, proc: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT job_id, hypertable_name, schedule_interval, scheduled, config,"
        " (config->>'compress_after')::interval AS compress_after,"
        " (config->>'drop_after')::interval AS drop_after,"
        " (config->>'start_offset')::interval AS start_offset,"
        " (config->>'end_offset')::interval AS end_offset"
        " FROM timescaledb_information.jobs WHERE proc_name = %s", (proc,)).fetchall()
    assert len(row) == 1, f"expected one {proc} job, found {len(row)}"
    return row[0]


def run_job(conn: Conn, proc: str) -> None:
    conn.execute(f"CALL run_job({int(job(conn, proc)['job_id'])})")


def add_events(conn: Conn, times: list[dt.datetime], count: int = 1,
               community: str = "juxin") -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (event_id, occurred_at, community, building, device, kind,"
            " direction, count, source) VALUES (%s, %s, %s, 'b01', 'b01-u1-door', 'passage',"
            " 'in', %s, 'door')", [(uuid.uuid4(), t, community, count) for t in times])


def db_now(conn: Conn) -> dt.datetime:
    row = conn.execute("SELECT now() AS now").fetchone()
    assert row is not None
    value: dt.datetime = row["now"]
    return value


def test_every_migration_is_applied_in_one_transaction(timescale: Timescale, ts: Conn) -> None:
    """All migrations applied by linli.db.migrate, 0002 included (not skipped), and 0002
    runs as one transaction (a failure leaves nothing half-done)"""
    rows = ts.execute("SELECT version, skipped FROM schema_migrations ORDER BY version").fetchall()
    assert [(r["version"], r["skipped"]) for r in rows] == [
        (m.version, False) for m in load_migrations()]
    assert any(line.startswith("0002_timescaledb applied") for line in timescale.migrations)
    timescale_migration = next(m for m in load_migrations() if m.version == 2)
    assert timescale_migration.required_extension == "timescaledb"
    assert "no-transaction" not in timescale_migration.directives


def test_events_is_a_hypertable_with_daily_chunks(ts: Conn) -> None:
    """events is a hypertable on occurred_at with 1-day chunks and compression enabled"""
    rows = ts.execute(
        "SELECT d.column_name, d.dimension_type, d.time_interval, h.compression_enabled"
        " FROM timescaledb_information.dimensions d"
        " JOIN timescaledb_information.hypertables h USING (hypertable_schema, hypertable_name)"
        " WHERE d.hypertable_name = 'events'").fetchall()
    assert rows == [{"column_name": "occurred_at", "dimension_type": "Time",
                     "time_interval": CHUNK_INTERVAL, "compression_enabled": True}]


def test_compression_settings(ts: Conn) -> None:
    """Compression segments by community, building and orders by occurred_at DESC, event_id
    (the unique index's columns, so a late duplicate is found without a full decompress)"""
    rows = ts.execute(
        "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc"
        " FROM timescaledb_information.compression_settings WHERE hypertable_name = 'events'"
    ).fetchall()
    segment = sorted((r["segmentby_column_index"], r["attname"]) for r in rows
                     if r["segmentby_column_index"] is not None)
    order = sorted((r["orderby_column_index"], r["attname"], r["orderby_asc"]) for r in rows
                   if r["orderby_column_index"] is not None)
    assert [name for _, name in segment] == SEGMENT_BY
    assert [(name, asc) for _, name, asc in order] == ORDER_BY


def test_policies_have_the_intended_settings(ts: Conn) -> None:
    """Compression after 7 days, retention 400 days, daily_passages refreshed every 30 min
    over [now - 14 days, now - 1 hour]; all scheduled"""
    compression = job(ts, "policy_compression")
    assert (compression["hypertable_name"], compression["compress_after"]) == (
        "events", COMPRESS_AFTER)
    retention = job(ts, "policy_retention")
    assert (retention["hypertable_name"], retention["drop_after"]) == ("events", DROP_AFTER)
    refresh = job(ts, "policy_refresh_continuous_aggregate")
    assert refresh["hypertable_name"] == "daily_passages"
    assert (refresh["start_offset"], refresh["end_offset"], refresh["schedule_interval"]) == (
        REFRESH_START, REFRESH_END, REFRESH_EVERY)
    assert all(j["scheduled"] for j in (compression, retention, refresh))


def test_daily_passages_is_a_real_time_continuous_aggregate(
    ts: Conn, new_pg_database: Callable[[], Conn]
) -> None:
    """daily_passages is a real-time continuous aggregate (materialized_only false) bucketed
    by Asia/Shanghai days, with the same columns and types as 0001's plain view"""
    cagg = ts.execute(
        "SELECT materialized_only, view_definition FROM timescaledb_information."
        "continuous_aggregates WHERE view_name = 'daily_passages'").fetchone()
    assert cagg is not None and cagg["materialized_only"] is False
    assert "time_bucket('1 day'::interval, occurred_at, 'Asia/Shanghai'" in " ".join(
        cagg["view_definition"].split())
    columns = ("SELECT column_name, data_type FROM information_schema.columns"
               " WHERE table_name = 'daily_passages' ORDER BY ordinal_position")
    assert ts.execute(columns).fetchall() == new_pg_database().execute(columns).fetchall()


def test_compression_policy_compresses_chunks_older_than_7_days(empty_ts: Conn) -> None:
    """The compression job compresses the chunks older than 7 days, only those, and every
    row stays readable"""
    now = db_now(empty_ts)
    ages = [dt.timedelta(days=20), dt.timedelta(days=10), dt.timedelta(days=3),
            dt.timedelta(hours=1)]
    add_events(empty_ts, [now - age for age in ages for _ in range(3)])
    run_job(empty_ts, "policy_compression")
    rows = empty_ts.execute(
        "SELECT range_end, is_compressed FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'events' ORDER BY range_start").fetchall()
    assert len(rows) == len(ages)
    assert [r["is_compressed"] for r in rows] == [
        r["range_end"] < now - COMPRESS_AFTER for r in rows] == [True, True, False, False]
    count = empty_ts.execute("SELECT count(*) AS n FROM events").fetchone()
    assert count == {"n": 3 * len(ages)}


def test_retention_policy_drops_only_events_older_than_400_days(empty_ts: Conn) -> None:
    """The retention job drops the chunks older than 400 days and keeps the rest"""
    now = db_now(empty_ts)
    kept = [now - dt.timedelta(days=390), now - dt.timedelta(days=1)]
    add_events(empty_ts, [now - dt.timedelta(days=500), now - dt.timedelta(days=410), *kept])
    run_job(empty_ts, "policy_retention")
    rows = empty_ts.execute("SELECT occurred_at FROM events ORDER BY occurred_at").fetchall()
    assert [r["occurred_at"] for r in rows] == kept


def materialized(conn: Conn) -> dict[dt.datetime, int]:
    """Passages per day as stored in the aggregate's materialization (not the raw part)."""
    row = conn.execute(
        "SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name"
        " AS name FROM timescaledb_information.continuous_aggregates"
        " WHERE view_name = 'daily_passages'").fetchone()
    assert row is not None
    rows = conn.execute(
        sql.SQL("SELECT day_start, sum(passages)::int AS n FROM {} GROUP BY day_start")
        .format(sql.Identifier(row["schema"], row["name"]))).fetchall()
    return {r["day_start"]: r["n"] for r in rows}


def shown(conn: Conn) -> dict[dt.datetime, int]:
    """Passages per day as daily_passages shows them (materialized plus real-time part)."""
    rows = conn.execute("SELECT day_start, sum(passages)::int AS n FROM daily_passages"
                        " GROUP BY day_start").fetchall()
    return {r["day_start"]: r["n"] for r in rows}


def test_refresh_policy_materializes_recent_days_and_late_events(empty_ts: Conn) -> None:
    """The aggregate's refresh job materializes the last 14 days (not older ones), and a
    late event 5 days old reaches daily_passages on its next run"""
    now = db_now(empty_ts)
    add_events(empty_ts, [now - dt.timedelta(days=age, hours=3) for age in range(1, 21)])
    run_job(empty_ts, "policy_refresh_continuous_aggregate")
    stored = materialized(empty_ts)
    assert sum(stored.values()) >= 11
    for age in range(1, 13):
        assert any(day <= now - dt.timedelta(days=age, hours=3) < day + DAY for day in stored)
    assert all(day >= now - REFRESH_START - DAY for day in stored)

    late = now - dt.timedelta(days=5, hours=3)
    day = next(d for d in stored if d <= late < d + DAY)
    before = shown(empty_ts)[day]
    add_events(empty_ts, [late], count=3)
    assert shown(empty_ts)[day] == before  # below the watermark: waits for the refresh
    run_job(empty_ts, "policy_refresh_continuous_aggregate")
    assert shown(empty_ts)[day] == before + 3
