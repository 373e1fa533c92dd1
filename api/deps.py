"""What routes depend on, as ``Annotated`` aliases: ``ConnDep``, ``PoolDep``, ``StateDep``.

The application's state (settings, pool, broker probe, live-update hub) is made in the
lifespan (``api.app``) and reaches routes through the request, never a module global.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from linli.settings import Settings

if TYPE_CHECKING:
    from api.health.probe import BrokerProbe
    from api.live.hub import LiveHub

Conn = AsyncConnection[DictRow]
"""An async connection in autocommit mode whose rows are dicts."""

Pool = AsyncConnectionPool[Conn]

CONNECTION_WAIT_S = 5.0
"""How long a request waits for a free connection before answering 503."""


@dataclass(frozen=True, slots=True)
class ApiState:
    """Everything the lifespan creates for one run of the application."""

    settings: Settings
    pool: Pool
    broker: BrokerProbe
    live: LiveHub


def get_state(request: Request) -> ApiState:
    """The running application's state (set by the lifespan)."""
    state = request.state.linli
    assert isinstance(state, ApiState)
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_pool(state: StateDep) -> Pool:
    """The application's connection pool."""
    return state.pool


PoolDep = Annotated[Pool, Depends(get_pool)]


async def get_conn(pool: PoolDep) -> AsyncIterator[Conn]:
    """A pooled connection for the length of one request."""
    async with pool.connection(timeout=CONNECTION_WAIT_S) as conn:
        yield conn


ConnDep = Annotated[Conn, Depends(get_conn)]
