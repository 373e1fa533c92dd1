"""Nothing lost when the broker crashes or the spool's disk fills: real Mosquitto, real
ingest and PostgreSQL, the agent's real SQLite spool."""

from __future__ import annotations

import functools
import json
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import agent_status_topic
from edge.config import AgentConfig
from edge.publisher import REPUBLISH_AFTER_S
from edge.spool import Spool
from linli.embedded import EmbeddedMosquitto
from linli.errors import ServiceError
from linli.settings import Settings
from tests.integration.test_edge_agent import write_lines
from tests.pipeline import IngestRunner, Pipeline, RunningAgent, ingest_settings, wait_for

TIMEOUT = 60.0


@pytest.fixture
def config(tmp_path: Path) -> AgentConfig:
    (tmp_path / "logs").mkdir()
    return AgentConfig.model_validate({
        "community": "juxin", "building": "b01",
        "sources": [{"device": "b01-u1-door", "path": str(tmp_path / "logs" / "door.jsonl"),
                     "readers": {"1": "in", "2": "out"}}],
    })


def log_path(config: AgentConfig) -> Path:
    return Path(config.sources[0].path)  # type: ignore[union-attr]


def retained_status(broker: EmbeddedMosquitto, topic: str) -> dict[str, Any]:
    """The retained status on ``topic``, as a fresh subscriber gets it."""
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4()}",
                         protocol=mqtt.MQTTv5)

    def on_message(c: mqtt.Client, u: Any, message: mqtt.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        done.set()

    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        assert done.wait(10), f"no retained status on {topic}"
    finally:
        client.disconnect()
        client.loop_stop()
    body: dict[str, Any] = json.loads(got[0])
    return body


def distinct_and_total(pipeline: Pipeline) -> tuple[int, int]:
    (row,) = pipeline.rows("SELECT count(DISTINCT event_id) AS d, count(*) AS n FROM events")
    return int(row["d"]), int(row["n"])


def test_broker_sigkill_with_ingest_offline_loses_nothing(
        make_settings: Callable[..., Settings], db_url: str, broker: EmbeddedMosquitto,
        config: AgentConfig) -> None:
    count = 2000
    settings = ingest_settings(make_settings, db_url, broker.url)
    settings.edge.poll_interval_s = 0.05
    # ingest's persistent session and shared subscription exist, then ingest goes away
    IngestRunner(settings).start().stop()
    agent = RunningAgent(config, settings)
    pipeline = Pipeline.__new__(Pipeline)
    pipeline.settings, pipeline.agents = settings, [agent]
    try:
        write_lines(log_path(config), 0, count)
        # every event acknowledged by the broker (held for ingest's session, in memory)
        wait_for(lambda: agent.agent.publisher.published >= count, TIMEOUT, "all PUBACKed")
        assert agent.agent.spool.depth() == count  # not stored yet: all still spooled
        assert broker.process is not None
        broker.process.send_signal(signal.SIGKILL)
        broker.process.wait()
        broker.process = None
        broker.start()
        pipeline.ingest = IngestRunner(settings).start()
        wait_for(lambda: distinct_and_total(pipeline)[0] >= count, TIMEOUT,
                 f"{count} rows after the broker crash")
        wait_for(lambda: agent.agent.spool.depth() == 0, TIMEOUT, "receipts empty the spool")
        assert distinct_and_total(pipeline) == (count, count)  # none lost, none doubled
    finally:
        pipeline.close()


def test_a_broker_that_lost_ingests_session_gets_the_resends_when_ingest_is_back(
        make_settings: Callable[..., Settings], db_url: str, broker: EmbeddedMosquitto,
        config: AgentConfig) -> None:
    """The broker crashes (before its autosave) while ingest is away and forgets ingest's
    session; the agent reconnects and sends everything again, but no ingest subscription
    exists yet. Another subscriber to the events (an operator's ``mosquitto_sub``, a
    bridge) makes the broker acknowledge them as delivered, so they are not retried as
    unrouted: they are lost in the broker. When ingest comes back with a fresh session its
    epoch makes the agent send them again, long before the 60 s re-send and with no new
    traffic to trigger it."""
    count = 500
    settings = ingest_settings(make_settings, db_url, broker.url)
    settings.edge.poll_interval_s = 0.05
    first = IngestRunner(settings).start()  # a session, its epoch retained
    first.stop()
    agent = RunningAgent(config, settings)
    publisher = agent.agent.publisher
    pipeline = Pipeline.__new__(Pipeline)
    pipeline.settings, pipeline.agents = settings, [agent]
    seen: list[str] = []
    bystander = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4()}",
                            protocol=mqtt.MQTTv5)
    bystander.on_message = lambda c, u, message: seen.append(message.topic)
    bystander.on_connect = lambda client, *_: client.subscribe("linli/v1/#", qos=0)
    try:
        wait_for(lambda: publisher._epoch is not None, TIMEOUT, "the retained epoch seen")
        write_lines(log_path(config), 0, count)
        wait_for(lambda: publisher.published >= count, TIMEOUT, "all PUBACKed")
        assert agent.agent.spool.depth() == count
        assert broker.process is not None
        broker.process.send_signal(signal.SIGKILL)  # well before the 30 s autosave
        broker.process.wait()
        broker.process = None
        broker.start()
        bystander.connect("127.0.0.1", broker.port)
        bystander.loop_start()
        # the agent's reconnect sends everything again: it reaches the bystander only
        wait_for(lambda: sum(t.endswith("/events") for t in seen) >= count, TIMEOUT,
                 "the re-send after the reconnect")
        assert agent.agent.spool.depth() == count and publisher.epochs == 0
        pipeline.ingest = IngestRunner(settings).start()  # the broker kept no session
        started = time.monotonic()
        wait_for(lambda: distinct_and_total(pipeline)[0] >= count, 30,
                 f"{count} rows after ingest's new session, with no new traffic")
        assert time.monotonic() - started < REPUBLISH_AFTER_S / 2
        wait_for(lambda: agent.agent.spool.depth() == 0, TIMEOUT, "receipts empty the spool")
        assert publisher.epochs == 1
        assert distinct_and_total(pipeline) == (count, count)
    finally:
        bystander.loop_stop()
        bystander.disconnect()
        pipeline.close()


def test_a_full_spool_says_so_keeps_publishing_and_recovers_by_itself(
        pipeline: Pipeline, broker: EmbeddedMosquitto, config: AgentConfig) -> None:
    pipeline.settings.edge.poll_interval_s = 0.05
    pipeline.settings.edge.status_interval_s = 0.3
    agent = pipeline.start_agent(config)
    spool = agent.agent.spool
    write_lines(log_path(config), 0, 100)
    pipeline.wait_rows(100)
    wait_for(lambda: spool.depth() == 0, TIMEOUT, "the first 100 confirmed")
    pipeline.ingest.stop()  # nothing is stored meanwhile, so nothing makes room
    # a "full disk" for real: SQLite answers SQLITE_FULL past this many pages
    (pages,) = spool._db.execute("PRAGMA page_count").fetchone()
    spool._db.execute(f"PRAGMA max_page_count={pages + 40}")
    source: Any = agent.agent.sources[0]
    total = 100
    while spool.problem != "spool_full":  # a live door log, 200 lines at a time
        assert total < 100_000, "the spool never filled"
        write_lines(log_path(config), total, 200)
        total += 200
        read_all = functools.partial(lambda n: source.lines == n or spool.problem == "spool_full",
                                     total)
        wait_for(read_all, TIMEOUT, "the lines read")
    topic = agent_status_topic(config)
    wait_for(lambda: retained_status(broker, topic)["state"] == "spool_full", TIMEOUT,
             "status spool_full")
    status = retained_status(broker, topic)
    assert "spool_full" in status["problems"] and status["spooled"] < total - 100
    write_lines(log_path(config), total, 100)  # the door goes on writing meanwhile
    total += 100
    assert agent.thread.is_alive()
    # space returns as ingest stores what is spooled, and the receipts delete it
    pipeline.ingest = IngestRunner(pipeline.settings).start()
    wait_for(lambda: distinct_and_total(pipeline)[0] >= total, TIMEOUT, "every line stored")
    wait_for(lambda: retained_status(broker, topic)["state"] == "online", TIMEOUT,
             "status online again, same agent")
    assert retained_status(broker, topic)["problems"] == []
    assert distinct_and_total(pipeline) == (total, total)


def test_an_unwritable_spool_directory_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # unwritable as a directory even for root
    with pytest.raises(ServiceError, match="cannot open the spool") as raised:
        Spool(blocker / "spool.db")
    assert raised.value.__suppress_context__  # one line, no chained traceback
