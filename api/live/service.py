"""The stream itself: its health note, and the Server-Sent Events one principal gets."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import psycopg

from api import security
from api.deps import Pool
from api.health.probe import NOT_CONFIGURED, OK, BrokerProbe
from api.health.service import check_pool
from api.live.hub import LiveHub
from api.live.models import HealthNote, server_sent_event
from api.live.scope import sees
from api.security import Principal

RETRY_MS = 3000
"""How long a browser waits before it reconnects a dropped stream."""
PING_S = 15.0
"""A comment line this often keeps proxies from closing a quiet stream."""
RECHECK_TIMEOUT_S = 2.0


async def health_note(*, pool: Pool, broker: BrokerProbe) -> HealthNote:
    """The checks of ``/health``, said as a stream says them."""
    database, broker_state = await asyncio.gather(check_pool(pool), broker.check())
    return HealthNote(
        database="ok" if database == OK else "down",
        broker="ok" if broker_state == OK
        else "unconfigured" if broker_state == NOT_CONFIGURED else "down",
        at=dt.datetime.now(dt.UTC))


async def still_valid(*, pool: Pool, principal: Principal, idle: dt.timedelta) -> bool:
    """Whether the stream's session or token still stands; while the database cannot say,
    yes (the stream says the database is down)."""
    try:
        async with asyncio.timeout(RECHECK_TIMEOUT_S):
            async with pool.connection(timeout=RECHECK_TIMEOUT_S) as conn:
                return await security.still_valid(conn, principal, idle=idle)
    except (psycopg.Error, TimeoutError):
        return True


async def events(*, hub: LiveHub, principal: Principal, first_health: HealthNote,
                 recheck: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
    """The stream of ``principal``: until the hub ends it, the client goes away, or
    ``recheck`` says the session or token no longer stands."""
    subscriber = hub.subscribe(principal)
    loop = asyncio.get_running_loop()
    recheck_at = loop.time() + hub.recheck_s
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield server_sent_event(first_health)
        while True:
            if loop.time() >= recheck_at:
                if not await recheck():
                    return
                recheck_at = loop.time() + hub.recheck_s
            try:
                note = await asyncio.wait_for(subscriber.queue.get(),
                                              min(PING_S, hub.recheck_s))
            except TimeoutError:
                yield ": ping\n\n"
                continue
            if note is None:
                return
            if sees(principal, note):
                yield server_sent_event(note)
    finally:
        hub.unsubscribe(subscriber)
