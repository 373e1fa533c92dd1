"""The real pipeline in one test process: edge agents and ingest on threads of their own,
against the test's private broker and database.

Tests of a new source type use the ``pipeline`` fixture (tests/conftest.py) to show that
what their source saw arrives as rows, through the real broker and ingest:

    def test_x(pipeline: Pipeline) -> None:
        agent = pipeline.start_agent(config)      # an AgentConfig
        pipeline.wait_rows(3)                      # events rows, polled with a timeout
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from edge.agent import EdgeAgent
from edge.config import AgentConfig
from ingest.service import run_ingest
from ingest.stats import IngestStats
from linli.settings import Settings

TIMEOUT_S = 30.0


def wait_for(what: Callable[[], Any], timeout: float = 10, message: str = "") -> Any:
    """Poll ``what`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = what()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting: {message or what}"
        time.sleep(0.02)


class RunningAgent:
    """An EdgeAgent on a thread of its own, stopped like SIGTERM would."""

    def __init__(self, config: AgentConfig, settings: Settings) -> None:
        self.agent = EdgeAgent(config, settings)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop_event,))
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


class IngestRunner:
    """``run_ingest`` in a thread, started and stopped like a process would be."""

    def __init__(self, settings: Settings, *, fast_path: bool = True) -> None:
        self.settings = settings
        self.fast_path = fast_path
        self.stats = IngestStats()
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)

    def _run(self) -> None:
        try:
            run_ingest(self.settings, self.stop_event, self.ready, stats=self.stats,
                       fast_path=self.fast_path)
        except BaseException as exc:
            self.error = exc
            raise

    def start(self, timeout: float = 10) -> IngestRunner:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.02):
            assert self.error is None, f"ingest failed: {self.error!r}"
            assert time.monotonic() < deadline, "ingest did not subscribe in time"
        return self

    def stop(self, timeout: float = 20) -> None:
        self.stop_event.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "ingest did not stop"
        assert self.error is None, f"ingest failed: {self.error!r}"


def ingest_settings(make_settings: Callable[..., Settings], db_url: str, broker_url: str,
                    **ingest: Any) -> Settings:
    """Settings for an ingest under test: its own client id, short batch wait."""
    values: dict[str, Any] = {"client_id": f"ingest-{uuid.uuid4().hex[:8]}",
                              "batch_wait_ms": 20}
    values.update(ingest)
    return make_settings(database_url=db_url, mqtt_url=broker_url, ingest=values)


class Pipeline:
    """Ingest running against the test's broker and database, and agents started on demand."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ingest = IngestRunner(settings).start()
        self.agents: list[RunningAgent] = []

    def start_agent(self, config: AgentConfig) -> RunningAgent:
        """Run an edge agent for ``config`` (stopped when the test ends)."""
        agent = RunningAgent(config, self.settings)
        self.agents.append(agent)
        return agent

    def rows(self, sql: str = "SELECT * FROM events ORDER BY occurred_at, event_id",
             *params: Any) -> list[dict[str, Any]]:
        """Rows of a query on the test's database."""
        with psycopg.connect(self.settings.require_database_url(), row_factory=dict_row) as db:
            return db.execute(sql, params).fetchall()

    def wait_rows(self, count: int, timeout: float = TIMEOUT_S) -> list[dict[str, Any]]:
        """Wait until ``events`` holds at least ``count`` rows; return them (oldest first)."""
        rows: list[dict[str, Any]] = []

        def enough() -> bool:
            rows[:] = self.rows()
            return len(rows) >= count

        wait_for(enough, timeout, f"{count} event rows (have {len(rows)})")
        return rows

    def close(self) -> None:
        """Stop the agents, then ingest."""
        for agent in self.agents:
            agent.stop()
        self.ingest.stop()
