"""The API process's one LISTEN connection, fanned out to a bounded queue per stream.

``LiveHub.run()`` listens on the channels of migration 0005, reconnecting with backoff
while the database is away, and every ``health_every_s`` asks the health probe (the
checks of ``/health``) and passes its answer on. A stream whose queue is full is a client
that does not keep up: it is ended (the browser reconnects and reads afresh) rather than
let its backlog grow. ``close()`` ends every stream, so that shutdown does not wait on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psycopg
from pydantic import ValidationError

from api.live.models import (
    ALERT_CHANNEL,
    DEVICE_CHANNEL,
    EVENTS_CHANNEL,
    HealthNote,
    Note,
    parse_notification,
)
from api.security import Principal
from linli.logs import redact

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
"""Notes waiting for one stream; a client this far behind is dropped."""
BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Waits between attempts to listen again while the database is away."""
IDLE_CHECK_S = 30.0
"""A listening connection quiet this long is checked with a query (a dead TCP peer)."""

HealthProbe = Callable[[], Awaitable[HealthNote]]


@dataclass(eq=False)
class Subscriber:
    """One open stream: whose it is and what waits for it; ``None`` ends it."""

    principal: Principal
    queue: asyncio.Queue[Note | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE))


class LiveHub:
    """Listens on ``database_url``; ``subscribe()`` / ``unsubscribe()`` streams."""

    def __init__(self, database_url: str, probe: HealthProbe, *,
                 health_every_s: float = 5.0, recheck_s: float = 60.0) -> None:
        self._url = database_url
        self.recheck_s = recheck_s
        """How often a stream checks that its session or token still stands."""
        self._probe = probe
        self._health_every_s = health_every_s
        self._subscribers: set[Subscriber] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.listening = asyncio.Event()
        """Set while the LISTEN connection is up (tests wait for it)."""
        self.last_health: HealthNote | None = None

    def start(self) -> None:
        """Start listening and probing, in tasks of the running loop."""
        self._tasks = [asyncio.create_task(self._listen(), name="linli-live-listen"),
                       asyncio.create_task(self._watch_health(), name="linli-live-health")]

    async def stop(self) -> None:
        """End every stream and the tasks."""
        self.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def close(self) -> None:
        """End every open stream now; new ones end at once."""
        self._closed = True
        for subscriber in list(self._subscribers):
            self._drop(subscriber)

    def subscribe(self, principal: Principal) -> Subscriber:
        """A new stream's queue; ended at once if the hub is closing."""
        subscriber = Subscriber(principal)
        if self._closed:
            subscriber.queue.put_nowait(None)
        else:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, note: Note) -> None:
        """Queue ``note`` for every stream (each filters by its principal when sending)."""
        for subscriber in list(self._subscribers):
            try:
                subscriber.queue.put_nowait(note)
            except asyncio.QueueFull:
                log.warning("live stream of %s dropped: %d notes behind",
                            subscriber.principal.username, QUEUE_SIZE)
                self._drop(subscriber)

    def _drop(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(None)

    async def _listen(self) -> None:
        attempt = 0
        while True:
            try:
                await self._listen_once()
                attempt = 0
            except (psycopg.Error, OSError) as exc:
                wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                if attempt == 0:
                    log.warning("live updates: not listening (%s); retrying",
                                redact(str(exc).strip().splitlines()[0] if str(exc).strip()
                                       else type(exc).__name__))
                attempt += 1
                await asyncio.sleep(wait)
            finally:
                self.listening.clear()

    async def _listen_once(self) -> None:
        async with await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=5,
                application_name="linli-api-live") as conn:
            await conn.execute(f"LISTEN {ALERT_CHANNEL}")
            await conn.execute(f"LISTEN {DEVICE_CHANNEL}")
            await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
            self.listening.set()
            log.info("live updates: listening")
            while True:
                async for notification in conn.notifies(timeout=IDLE_CHECK_S):
                    self._forward(notification.channel, notification.payload)
                await conn.execute("SELECT 1")

    def _forward(self, channel: str, payload: str) -> None:
        # One bad note is logged and skipped: it must not end the listening of every stream.
        try:
            note = parse_notification(channel, payload)
            if note is not None:
                self.publish(note)
        except ValidationError as exc:
            log.warning("live updates: bad note on %s (%s): %.200s", channel,
                        exc.errors()[0]["msg"], payload)
        except Exception:
            log.exception("live updates: note on %s not passed on: %.200s", channel, payload)

    async def _watch_health(self) -> None:
        while True:
            try:
                self.last_health = await self._probe()
                self.publish(self.last_health)
            except Exception:  # a failing probe must not end the health of every stream
                log.exception("live updates: health probe failed")
            await asyncio.sleep(self._health_every_s)
