"""Every query of the API and the stages gives the same results on TimescaleDB as on plain
PostgreSQL, over the same seeded data (tests/timescale/seed.py).

On TimescaleDB, the compression policy has compressed the seed's older chunks first, so
the queries read compressed and plain chunks alike. Where a case cannot run on this
server (COPY on pglite), it is skipped with the reason, and the summary lists it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.timescale import cases_api, cases_stages
from tests.timescale.compare import Case, named_statements, run_case
from tests.timescale.database import Conn, Timescale, empty
from tests.timescale.seed import Seed, anchor_now, build, insert

CASES = [*cases_api.CASES, *cases_stages.CASES]
NO_COPY = ("pglite cannot take COPY ... FROM STDIN (it corrupts the server's session); "
           "runs when LINLI_TIMESCALE_TEST_URL names a real TimescaleDB")


@dataclass
class Seeded:
    seed: Seed
    timescale: Timescale
    pg: Conn


def run_policy(conn: Conn, proc: str) -> None:
    row = conn.execute("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = %s",
                       (proc,)).fetchone()
    assert row is not None, proc
    conn.execute(f"CALL run_job({int(row['job_id'])})")


@pytest.fixture(scope="module")
def seeded(timescale: Timescale, new_pg_database: Callable[[], Conn]) -> Iterator[Seeded]:
    """The same data in the session's TimescaleDB and in a new plain-PostgreSQL database."""
    seed = build(anchor_now())
    ts = timescale.conn
    empty(ts, timescale=True)
    insert(ts, seed)
    run_policy(ts, "policy_compression")
    run_policy(ts, "policy_refresh_continuous_aggregate")
    pg = new_pg_database()
    insert(pg, seed)
    yield Seeded(seed, timescale, pg)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_query_is_the_same_on_timescaledb_and_postgresql(case: Case, seeded: Seeded) -> None:
    """Same rows, row count and resulting table rows on TimescaleDB as on PostgreSQL"""
    copy_ok = seeded.timescale.supports_copy
    if case.needs_copy and not copy_ok:
        pytest.skip(NO_COPY)
    on_postgres = run_case(seeded.pg, case, seeded.seed, copy_ok=copy_ok)
    on_timescale = run_case(seeded.timescale.conn, case, seeded.seed, copy_ok=copy_ok)
    if case.expect_empty:
        assert on_postgres.rowcount == 0, "this case expects no row"
    else:
        assert on_postgres.rowcount > 0, "the case matches nothing: it would prove nothing"
    assert on_timescale.rows == on_postgres.rows
    assert on_timescale.rowcount == on_postgres.rowcount
    assert on_timescale.snapshot == on_postgres.snapshot


def test_every_named_statement_has_a_case() -> None:
    """Every named statement of api/, rules/, ingest/, linli/alerts.py and
    linli/directory_queries.py has a case above (a new query must get one)"""
    covered = {c.statement for c in CASES} | {name for c in CASES for name in c.also_covers}
    statements = set(named_statements())
    assert len(statements) > 50
    assert statements - covered == set(), "statements without a case"
    assert covered - statements == set(), "cases for statements that no longer exist"


def test_queries_read_compressed_and_plain_chunks(seeded: Seeded) -> None:
    """The seeded events lie in compressed and uncompressed chunks while the queries run"""
    rows = seeded.timescale.conn.execute(
        "SELECT is_compressed, count(*) AS n FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'events' GROUP BY is_compressed").fetchall()
    chunks = {row["is_compressed"]: row["n"] for row in rows}
    assert chunks.get(True, 0) >= 10 and chunks.get(False, 0) >= 7, chunks


@pytest.mark.parametrize("side", ["timescaledb", "postgresql"])
def test_notify_events_is_delivered_on_commit(seeded: Seeded, side: str) -> None:
    """NOTIFY linli_events from ingest's transaction reaches a listener on commit only"""
    from ingest import queries

    conn = seeded.timescale.conn if side == "timescaledb" else seeded.pg
    conn.execute("LISTEN linli_events")
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(queries.NOTIFY_EVENTS, {"community": "heping"})
        assert list(conn.notifies(timeout=0.5, stop_after=1)) == []
        with conn.transaction():
            conn.execute(queries.NOTIFY_EVENTS, {"community": "juxin"})
        received = list(conn.notifies(timeout=5, stop_after=1))
        assert [(n.channel, n.payload) for n in received] == [("linli_events", "juxin")]
    finally:
        conn.execute("UNLISTEN linli_events")
