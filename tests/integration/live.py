"""A Server-Sent Events reader for tests: reads a stream in a thread, keeps its events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from api.live.models import EVENTS_CHANNEL


@dataclass(frozen=True)
class Event:
    """One event of the stream: its name and decoded data (a comment has name ``:``)."""

    name: str
    data: Any


class StreamReader:
    """Opens ``/api/v1/stream`` (or another stream's ``path``) with ``client``'s cookies
    and reads it until it ends."""

    def __init__(self, client: httpx.Client, path: str = "/api/v1/stream") -> None:
        self.path = path
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self.lines: list[str] = []
        self.events: list[Event] = []
        self.error: BaseException | None = None
        self.ended = threading.Event()
        self._opened = threading.Event()
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=str(client.base_url), cookies=client.cookies,
                                    headers=client.headers, timeout=httpx.Timeout(10, read=60))
        self._thread = threading.Thread(target=self._read, daemon=True, name="sse-reader")
        self._thread.start()
        assert self._opened.wait(15), "the stream did not answer"

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self.path) as response:
                self.status, self.headers = response.status_code, response.headers
                self._opened.set()
                name, data = "message", []
                for line in response.iter_lines():
                    with self._lock:
                        self.lines.append(line)
                        if line.startswith(":"):
                            self.events.append(Event(":", line[1:].strip()))
                        elif line.startswith("event:"):
                            name = line[6:].strip()
                        elif line.startswith("data:"):
                            data.append(line[5:].strip())
                        elif line == "" and data:
                            self.events.append(Event(name, json.loads("\n".join(data))))
                            name, data = "message", []
        except BaseException as exc:  # kept for the test to inspect
            self.error = exc
        finally:
            self._opened.set()
            self.ended.set()

    def named(self, name: str) -> list[Any]:
        with self._lock:
            return [e.data for e in self.events if e.name == name]

    def wait_for(self, found: Callable[[list[Event]], bool], timeout: float = 30.0) -> None:
        """Until ``found(events)``; generous, for slow machines."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if found(list(self.events)):
                    return
            if self.ended.is_set():
                break
            time.sleep(0.05)
        raise AssertionError(f"not found in {self.events!r} (error: {self.error!r})")

    def wait_for_alert(self, alert_id: int, change: str, timeout: float = 30.0) -> None:
        self.wait_for(lambda events: any(
            e.name == "alert" and e.data["id"] == alert_id and e.data["change"] == change
            for e in events), timeout)

    def close(self) -> None:
        self._client.close()
        self._thread.join(10)


def wait_until_listening(db: psycopg.Connection[Any], timeout: float = 30.0) -> None:
    """Until the API's LISTEN connection to ``db``'s database listens (its last LISTEN
    done, or idle since)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'linli-api-live'"
            " AND (query = %s OR query = 'SELECT 1')", (f"LISTEN {EVENTS_CHANNEL}",)).fetchone()
        if row and (row["n"] if isinstance(row, dict) else row[0]):
            return
        time.sleep(0.05)
    raise AssertionError("the API is not listening")
