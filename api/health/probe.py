"""The broker check: one MQTT CONNECT/CONNACK round-trip, cached for a few seconds.

paho is synchronous, so the round-trip runs in a worker thread; the result is cached so
that a load balancer polling ``/health`` does not open a connection per request.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from linli.errors import ConfigError
from linli.logs import redact
from linli.mqtt import BrokerAddress, new_session, parse_broker_url

OK = "ok"
NOT_CONFIGURED = "not configured"


def probe_broker(broker: BrokerAddress, timeout_s: float) -> str:
    """``ok`` when the broker answers CONNECT with a successful CONNACK, else why not."""
    session = new_session(broker, f"linli-api-health-{uuid.uuid4().hex[:12]}")
    client = session.client
    answers: list[Any] = []
    client.on_connect = lambda _c, _u, _f, reason_code, _p: answers.append(reason_code)
    client.connect_timeout = timeout_s
    deadline = time.monotonic() + timeout_s
    try:
        client.connect(broker.host, broker.port, keepalive=max(5, int(timeout_s) * 2),
                       clean_start=True)
        while not answers and time.monotonic() < deadline:
            client.loop(timeout=0.05)
    except OSError as exc:
        return f"error: {redact(str(exc)) or type(exc).__name__}"
    finally:
        client.disconnect()
    if not answers:
        return f"error: no CONNACK within {timeout_s:g}s"
    if answers[0].is_failure:
        return f"error: connection refused ({answers[0]})"
    return OK


class BrokerProbe:
    """Checks the broker at ``url`` at most once per ``cache_s``; ``None`` = not configured."""

    def __init__(self, url: str | None, *, timeout_s: float = 2.0, cache_s: float = 5.0) -> None:
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._lock = asyncio.Lock()
        self._result: str | None = None
        self._checked_at = float("-inf")
        self._broker: BrokerAddress | None = None
        self._config_error: str | None = None
        if url:
            try:
                self._broker = parse_broker_url(url)
            except ConfigError as exc:
                self._config_error = f"error: {exc}"

    async def check(self) -> str:
        """``ok``, ``not configured`` or ``error: …``."""
        if self._config_error:
            return self._config_error
        if self._broker is None:
            return NOT_CONFIGURED
        async with self._lock:  # one probe at a time; the others wait for its result
            if self._result is None or time.monotonic() - self._checked_at >= self._cache_s:
                self._result = await asyncio.to_thread(probe_broker, self._broker,
                                                       self._timeout_s)
                self._checked_at = time.monotonic()
            return self._result
