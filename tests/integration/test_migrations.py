"""Migrations on a real PostgreSQL: forward-only, recorded, idempotent to re-run."""

from __future__ import annotations

from typing import Any

import psycopg

from linli.db import load_migrations, migrate, split_statements


def test_migrations_are_recorded_and_rerun_is_a_no_op(
    db_url: str, db: psycopg.Connection[dict[str, Any]]
) -> None:
    rows = db.execute("SELECT version, skipped FROM schema_migrations ORDER BY version").fetchall()
    assert [r["version"] for r in rows] == [m.version for m in load_migrations()]
    # No TimescaleDB here: its migration is recorded as skipped, not applied.
    assert {r["version"]: r["skipped"] for r in rows}[2] is True
    assert migrate(db_url) == []


def test_events_are_unique_on_id_and_time(db: psycopg.Connection[dict[str, Any]]) -> None:
    insert = (
        "INSERT INTO events (event_id, occurred_at, community, building, device, kind, source)"
        " VALUES ('00000000-0000-0000-0000-000000000001', '2026-01-01T00:00:00Z',"
        " 'c', 'b', 'd', 'passage', 'door') ON CONFLICT DO NOTHING"
    )
    db.execute(insert)
    db.execute(insert)
    assert db.execute("SELECT count(*) AS n FROM events").fetchone() == {"n": 1}


def test_statement_splitter_keeps_statements_whole() -> None:
    sql = "-- comment\nSELECT 1;\nSELECT\n  2;\n-- trailing\n"
    assert split_statements(sql) == ["-- comment\nSELECT 1;", "SELECT\n  2;"]
