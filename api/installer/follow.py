""""Test this device": one device's events, live, as Server-Sent Events.

No trigger on ``events`` (a hypertable written in batches of thousands): the stream is
woken by the note ingest already sends after each batch (``linli_events``, naming the
community; the API's one LISTEN connection passes it on) or by the device's own
``linli_device`` note, and then reads the device's new events from the database — at most
once per ``MIN_READ_S``, so a busy community costs each open test panel two small indexed
queries a second at most. Events carry no person, name or credential, whoever watches
(an installer tests a device, not a person).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg

from api.deps import Pool
from api.installer import queries
from api.installer.models import TestEvent
from api.live.hub import LiveHub
from api.live.models import DeviceNote, EventsNote, HealthNote, server_sent_event
from api.live.service import PING_S, RETRY_MS
from api.security import Principal

HISTORY = dt.timedelta(hours=24)
"""The stream starts with the device's events of this last while (at most ``BATCH``)."""
BATCH = 50
MIN_READ_S = 0.5
OVERLAP = dt.timedelta(seconds=2)
"""Read back this far before the newest event seen: a transaction that began earlier may
commit later; what was already sent is recognised by its id."""
SEEN = 1000


async def read_events(pool: Pool, *, community: str, building: str, device: str,
                      after: dt.datetime) -> list[dict[str, Any]]:
    """The device's events received after ``after``, oldest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(queries.DEVICE_EVENTS_AFTER, {
            "community": community, "building": building, "device": device,
            "after": after, "limit": BATCH})
        return [dict(row) for row in reversed(await cur.fetchall())]


def event_message(row: dict[str, Any]) -> str:
    body = TestEvent.model_validate(row).model_dump_json()
    return f"event: event\ndata: {body}\n\n"


async def events(*, hub: LiveHub, pool: Pool, principal: Principal, community: str,
                 building: str, device: str, first_health: HealthNote,
                 recheck: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
    """The stream: the recent events, then each new one, until the client goes away, the
    hub ends it or the session no longer stands."""
    subscriber = hub.subscribe(principal)
    loop = asyncio.get_running_loop()
    recheck_at = loop.time() + hub.recheck_s
    after = dt.datetime.now(dt.UTC) - HISTORY
    seen: deque[str] = deque(maxlen=SEEN)
    trailing_at: float | None = None
    read_at = loop.time()

    async def fresh() -> list[str]:
        nonlocal after
        try:
            rows = await read_events(pool, community=community, building=building,
                                     device=device, after=after)
        except psycopg.Error:
            return []  # the database is away: the health events say so; read again later
        out = []
        for row in rows:
            after = max(after, row["received_at"] - OVERLAP)
            key = str(row["event_id"])
            if key not in seen:
                seen.append(key)
                out.append(event_message(row))
        return out

    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield server_sent_event(first_health)
        for message in await fresh():
            yield message
        while True:
            now = loop.time()
            if now >= recheck_at:
                if not await recheck():
                    return
                recheck_at = now + hub.recheck_s
            if trailing_at is not None and now >= trailing_at:
                trailing_at = None
                read_at = now
                for message in await fresh():
                    yield message
            wait = min(PING_S, hub.recheck_s)
            if trailing_at is not None:
                wait = max(0.0, min(wait, trailing_at - now))
            try:
                note = await asyncio.wait_for(subscriber.queue.get(), wait)
            except TimeoutError:
                if trailing_at is None:
                    yield ": ping\n\n"
                continue
            if note is None:
                return
            if isinstance(note, HealthNote):
                yield server_sent_event(note)
                continue
            mine = isinstance(note, DeviceNote) and (note.community, note.building,
                                                     note.id) == (community, building, device)
            if mine:
                yield server_sent_event(note)
            if mine or (isinstance(note, EventsNote) and note.community == community):
                if loop.time() - read_at >= MIN_READ_S:
                    read_at = loop.time()
                    for message in await fresh():
                        yield message
                elif trailing_at is None:
                    trailing_at = read_at + MIN_READ_S
    finally:
        hub.unsubscribe(subscriber)
