"""The health checks."""

from __future__ import annotations

import asyncio

from api.deps import ApiState, Pool
from api.health import queries
from api.health.models import HealthRead
from api.health.probe import NOT_CONFIGURED, OK
from linli.logs import redact

DATABASE_TIMEOUT_S = 2.0


async def check_database(state: ApiState) -> str:
    """``ok`` when ``SELECT 1`` answers within the timeout, else why not."""
    return await check_pool(state.pool)


async def check_pool(pool: Pool) -> str:
    """``ok`` when ``SELECT 1`` on a connection of ``pool`` answers in time, else why not."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S):
            async with pool.connection(timeout=DATABASE_TIMEOUT_S) as conn:
                await conn.execute(queries.PING)
    except TimeoutError:
        return f"error: no answer within {DATABASE_TIMEOUT_S:g}s"
    except Exception as exc:  # any failure is the answer, not a crash of /health
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"error: {redact(first)}"
    return OK


async def health(state: ApiState) -> HealthRead:
    """Both checks, concurrently."""
    database, broker = await asyncio.gather(check_database(state), state.broker.check())
    healthy = database == OK and broker in (OK, NOT_CONFIGURED)
    return HealthRead(status="ok" if healthy else "unavailable", database=database,
                      broker=broker)
