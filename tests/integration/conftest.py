"""Fixtures of the API's integration tests: a served API and clients logged in by role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.server import ApiServer, start_in_thread
from linli.settings import Settings
from tests.accounts import add_user, logged_in
from tests.integration.test_api_seed import COMMUNITY, Db, seed_directory

StartApi = Callable[..., tuple[ApiServer, httpx.Client]]


@pytest.fixture(name="start_api")
def start_api_fixture(make_settings: Callable[..., Settings]) -> Iterator[StartApi]:
    """``start_api(health_cache_s=5.0, **settings)``: a served API and a client for it."""
    running: list[tuple[ApiServer, httpx.Client]] = []

    def start(health_cache_s: float = 5.0, **values: Any) -> tuple[ApiServer, httpx.Client]:
        settings = make_settings(**values)
        app = create_app(settings, health_cache_s=health_cache_s)
        server = start_in_thread(settings, app=app, host="127.0.0.1", port=0)
        client = httpx.Client(base_url=server.url, timeout=10)
        running.append((server, client))
        return server, client

    yield start
    for server, client in running:
        client.close()
        server.stop()


@pytest.fixture(name="server")
def server_fixture(db_url: str, start_api: StartApi) -> ApiServer:
    """An API on this test's database (no broker configured)."""
    return start_api(database_url=db_url)[0]


@pytest.fixture(name="api")
def api_fixture(db: Db, server: ApiServer) -> Iterator[httpx.Client]:
    """A client logged in as an admin: reads every community, acts on nothing."""
    add_user(db, "admin", "admin")
    client = logged_in(server.url, "admin")
    yield client
    client.close()


@pytest.fixture(name="control")
def control_fixture(seeded: Db, server: ApiServer) -> Iterator[httpx.Client]:
    """A client logged in as the control room of ``COMMUNITY``."""
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY, display_name="值班员")
    client = logged_in(server.url, "ctl-1")
    yield client
    client.close()


@pytest.fixture(name="worker")
def worker_fixture(seeded: Db, server: ApiServer) -> Iterator[httpx.Client]:
    """A client logged in as grid worker w-01 (grid g1 of ``COMMUNITY``)."""
    add_user(seeded, "w-01", "grid_worker", community=COMMUNITY, worker="w-01",
             display_name="王芳")
    client = logged_in(server.url, "w-01")
    yield client
    client.close()


@pytest.fixture(name="seeded")
def seeded_fixture(db: Db) -> Db:
    """This test's database with the directory of ``seed_directory``."""
    seed_directory(db)
    return db


