"""Fixtures shared by every test layer.

Integration and end-to-end tests run against a real PostgreSQL and a real Mosquitto that
the suite starts itself, on free loopback ports in temporary folders (``linli.embedded``).
Each test gets its own database, copied from a migrated template, and its own broker.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from linli.db import migrate
from linli.embedded import EmbeddedMosquitto, EmbeddedPostgres
from linli.settings import Settings, load_settings
from tests.pipeline import Pipeline, ingest_settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    """One private PostgreSQL for the whole run, with a migrated template database."""
    server = EmbeddedPostgres().start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE linli_template")
    migrate(server.url("linli_template"))
    yield server
    server.cleanup()


@pytest.fixture
def db_url(pg_server: EmbeddedPostgres) -> str:
    """A fresh, migrated database for this test."""
    name = f"t{os.getpid()}_{next(_db_counter)}"
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE linli_template')
    return pg_server.url(name)


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    """An autocommit connection to this test's database, rows as dicts."""
    from psycopg.rows import dict_row

    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture
def broker() -> Iterator[EmbeddedMosquitto]:
    """A private Mosquitto for this test (restartable on the same port)."""
    server = EmbeddedMosquitto().start()
    yield server
    server.cleanup()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: ``make_settings(database_url=..., mqtt_url=..., edge={...})``."""

    def factory(**values: Any) -> Settings:
        values.setdefault("edge", {})
        values["edge"].setdefault("spool_dir", str(tmp_path / "edge"))
        return load_settings(None, **values)

    return factory


@pytest.fixture
def shared_samples() -> Path:
    """``../shared/samples``; tests that need it skip when it is absent."""
    path = SHARED / "samples"
    if not path.exists():
        pytest.skip(f"shared samples not found at {path}")
    return path


@pytest.fixture
def pipeline(make_settings: Callable[..., Settings], db_url: str,
             broker: EmbeddedMosquitto) -> Iterator[Pipeline]:
    """Ingest on this test's broker and database, and agents started with ``start_agent``."""
    running = Pipeline(ingest_settings(make_settings, db_url, broker.url))
    try:
        yield running
    finally:
        running.close()
