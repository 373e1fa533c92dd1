"""Fixtures of the TimescaleDB conformance suite, and the list of what it checked.

One TimescaleDB per session (pglite started here, or the server named by
LINLI_TIMESCALE_TEST_URL), migrated once with ``linli.db.migrate``; tests empty it with
TRUNCATE instead of building new databases. The plain PostgreSQL side comes from
``pg_server`` in tests/conftest.py. At the end of the run pytest prints every check of
this folder with its result ("TimescaleDB conformance" section).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import psycopg
import pytest

from linli.embedded import EmbeddedPostgres
from tests.timescale.database import Conn, Timescale, connect, empty
from tests.timescale.server import (
    SKIP_VARIABLE,
    URL_VARIABLE,
    PgliteServer,
    RealServer,
    TimescaleUnavailable,
    install,
)

_pg_counter = itertools.count()


@dataclass
class Check:
    """One test of this folder as the summary shows it."""

    description: str
    outcome: str = "not run"
    reason: str = ""


CHECKS = pytest.StashKey[dict[str, Check]]()
SERVER = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def timescale(request: pytest.FixtureRequest) -> Iterator[Timescale]:
    """The session's migrated TimescaleDB; fails (never skips) when none can be had,
    unless LINLI_SKIP_TIMESCALE=1 asks to skip and no server URL is given."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if not url and os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1 and no {URL_VARIABLE}: TimescaleDB suite not run")
    server = _start(url)
    db = Timescale(server.url, "server" if url else "pglite")
    request.config.stash[SERVER] = f"{db.kind}, migrations not applied"
    try:
        db.migrations = db.migrate()
        row = db.conn.execute(
            "SELECT version() AS pg, extversion AS ts FROM pg_extension"
            " WHERE extname = 'timescaledb'").fetchone()
        db.version = f"{db.kind}: TimescaleDB {row['ts'] if row else '?'} on " + (
            str(row["pg"]).split(" on ")[0] if row else "?")
        request.config.stash[SERVER] = db.version
        yield db
    finally:
        db.release()
        server.cleanup()


def _start(url: str) -> PgliteServer | RealServer:
    failure = ""
    try:
        return RealServer(url).start() if url else PgliteServer(install()).start()
    except TimescaleUnavailable as exc:
        failure = str(exc)
    pytest.fail(failure, pytrace=False)


@pytest.fixture
def ts(timescale: Timescale) -> Conn:
    """The TimescaleDB connection (autocommit, rows as dicts), as the last test left the data."""
    return timescale.conn


@pytest.fixture
def empty_ts(timescale: Timescale) -> Conn:
    """The TimescaleDB connection with every table emptied."""
    conn = timescale.conn
    empty(conn, timescale=True)
    return conn


@pytest.fixture(scope="session")
def new_pg_database(pg_server: EmbeddedPostgres) -> Iterator[Callable[[], Conn]]:
    """Makes fresh migrated plain-PostgreSQL databases (copies of tests/conftest.py's
    template) and returns a connection to each; all closed at the end of the session."""
    opened: list[Conn] = []

    def factory() -> Conn:
        name = f"ts{os.getpid()}_{next(_pg_counter)}"
        with psycopg.connect(pg_server.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE linli_template')
        conn = connect(pg_server.url(name))
        opened.append(conn)
        return conn

    yield factory
    for conn in opened:
        conn.close()


# --- the list of what was checked --------------------------------------------------------

def _description(item: pytest.Item) -> str:
    function = getattr(item, "function", None)
    doc = (function.__doc__ if function is not None else None) or item.name
    text = " ".join(doc.strip().split("\n\n")[0].split())
    callspec = getattr(item, "callspec", None)
    return f"{text} [{callspec.id}]" if callspec is not None else text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    checks = item.config.stash.setdefault(CHECKS, {})
    check = checks.setdefault(item.nodeid, Check(_description(item)))
    if report.skipped:
        check.outcome = "SKIPPED"
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        check.reason = reason.removeprefix("Skipped: ")
    elif report.failed:
        check.outcome = "FAILED" if report.when == "call" else "ERROR"
        check.reason = _first_line(call.excinfo.value) if call.excinfo else report.when
    elif report.when == "call":
        check.outcome = "PASSED"
    return report


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    checks = config.stash.get(CHECKS, {})
    if not checks:
        return
    server = config.stash.get(SERVER, "no TimescaleDB server was started")
    terminalreporter.write_sep("=", f"TimescaleDB conformance: what was checked ({server})")
    counts: dict[str, int] = {}
    for check in checks.values():
        counts[check.outcome] = counts.get(check.outcome, 0) + 1
        line = f"{check.outcome:<8} {check.description}"
        if check.reason and check.outcome != "PASSED":
            line += f"  -- {check.reason}"
        terminalreporter.write_line(line)
    terminalreporter.write_line(
        ", ".join(f"{n} {outcome.lower()}" for outcome, n in sorted(counts.items())))
