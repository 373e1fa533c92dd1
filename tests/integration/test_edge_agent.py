"""The edge agent against a real Mosquitto: lines in, contract events out, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.agent import agent_status_topic, rejects_path
from edge.config import AgentConfig
from linli.contract import Event, parse_event
from linli.embedded import EmbeddedMosquitto
from linli.settings import Settings
from tests.pipeline import Pipeline, RunningAgent

TIMEOUT = 20.0


class Subscriber:
    """A paho client of the test's own, with a persistent session across broker restarts."""

    def __init__(self, url_port: int) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4()}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 600
        self.client.connect("127.0.0.1", url_port, clean_start=False, properties=props)
        self.client.loop_start()
        self.wait_for(lambda: self.client.is_connected(), "subscriber connected")

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe("linli/v1/#", qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def events(self) -> list[Event]:
        with self._lock:
            found = [(t, p) for t, p, _ in self.messages if t.endswith("/events")]
        return [parse_event(topic, payload) for topic, payload in found]

    def statuses(self, topic: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(p) for t, p, _ in self.messages if t == topic]

    def wait_for(self, condition: Callable[[], bool], what: str,
                 timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "b01-u1-door.jsonl"


@pytest.fixture
def config(log_file: Path) -> AgentConfig:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    return AgentConfig.model_validate({
        "community": "juxin", "building": "b01",
        "sources": [{"device": "b01-u1-door", "path": str(log_file),
                     "readers": {"1": "in", "2": "out"}}],
    })


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: EmbeddedMosquitto) -> Settings:
    return make_settings(mqtt_url=broker.url,
                         edge={"poll_interval_s": 0.05, "status_interval_s": 0.3,
                               "max_inflight": 200})


@pytest.fixture
def subscriber(broker: EmbeddedMosquitto) -> Iterator[Subscriber]:
    sub = Subscriber(broker.port)
    yield sub
    sub.close()


@pytest.fixture
def agents(config: AgentConfig, settings: Settings) -> Iterator[Callable[[], RunningAgent]]:
    started: list[RunningAgent] = []

    def start() -> RunningAgent:
        started.append(RunningAgent(config, settings))
        return started[-1]

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()


def write_lines(path: Path, start: int, count: int) -> None:
    with path.open("a", encoding="utf-8") as out:
        for seq in range(start, start + count):
            out.write(json.dumps({"time": "2026-11-22T08:01:02.123+08:00",
                                  "event": ("granted", "denied", "opened")[seq % 3],
                                  "person": f"r-{seq:04d}", "reader": 1 + seq % 2,
                                  "seq": seq}) + "\n")


def seqs(events: list[Event]) -> set[int]:
    return {event.attrs["seq"] for event in events}


def test_appended_lines_arrive_as_contract_events(
        agents: Callable[[], RunningAgent], subscriber: Subscriber, log_file: Path) -> None:
    write_lines(log_file, 0, 300)
    running = agents()
    write_lines(log_file, 300, 200)
    subscriber.wait_for(lambda: seqs(subscriber.events()) == set(range(500)), "500 events")
    events = subscriber.events()
    assert {e.topic for e in events} == {"linli/v1/juxin/b01/b01-u1-door/events"}
    by_seq = {e.attrs["seq"]: e for e in events}
    assert (by_seq[1].kind, by_seq[1].direction, by_seq[1].person_id) == (
        "access_denied", "out", "r-0001")
    assert (by_seq[3].kind, by_seq[3].direction) == ("passage", "out")
    # the broker acknowledged them all, but without ingest's receipts nothing leaves the spool
    subscriber.wait_for(lambda: running.agent.publisher.published >= 500, "all acknowledged")
    assert running.agent.spool.depth() == 500


def test_broker_outage_loses_nothing(
        agents: Callable[[], RunningAgent], subscriber: Subscriber, log_file: Path,
        broker: EmbeddedMosquitto) -> None:
    agents()
    write_lines(log_file, 0, 100)
    subscriber.wait_for(lambda: len(seqs(subscriber.events())) == 100, "first 100")
    broker.stop()
    write_lines(log_file, 100, 400)
    time.sleep(0.3)  # let the agent spool them and try to send them into the void
    broker.start()
    subscriber.wait_for(lambda: seqs(subscriber.events()) == set(range(500)), "all 500")


def test_restart_loses_nothing_and_spools_each_line_once(
        agents: Callable[[], RunningAgent], subscriber: Subscriber, log_file: Path) -> None:
    first = agents()
    write_lines(log_file, 0, 2000)
    subscriber.wait_for(lambda: len(subscriber.events()) > 50, "the first events")
    first.stop()  # most likely mid-stream, with messages in flight
    write_lines(log_file, 2000, 100)  # while no agent runs
    agents()
    subscriber.wait_for(lambda: seqs(subscriber.events()) == set(range(2100)), "all 2100")
    events = subscriber.events()
    # doubles are allowed (unacknowledged at the stop) but always with the same event_id:
    # no line was turned into two different events
    assert len({e.event_id for e in events}) == 2100
    assert len({(e.event_id, e.attrs["seq"]) for e in events}) == 2100


def test_a_bad_line_is_kept_aside_and_the_rest_arrive(
        agents: Callable[[], RunningAgent], subscriber: Subscriber, log_file: Path,
        config: AgentConfig, settings: Settings) -> None:
    write_lines(log_file, 0, 5)
    with log_file.open("a") as out:
        out.write('{"time": "2026-11-22T08:00:00", "event": "teleport"}\n')
    write_lines(log_file, 5, 5)
    agents()
    subscriber.wait_for(lambda: seqs(subscriber.events()) == set(range(10)), "good events")
    (entry,) = [json.loads(line) for line in
                rejects_path(config, settings).read_text().splitlines()]
    assert (entry["file"], entry["line"]) == (str(log_file), 6)
    assert "teleport" in entry["raw"] and entry["reason"] == "unknown event 'teleport'"
    topic = agent_status_topic(config)
    subscriber.wait_for(
        lambda: any(s.get("rejected_lines") == 1 and s["state"] == "online"
                    for s in subscriber.statuses(topic)), "status with the reject")
    status = subscriber.statuses(topic)[-1]
    assert status["last_reject"] == "unknown event 'teleport'"
    assert status["version"] and status["uptime_s"] >= 0 and "spooled" in status


def test_last_will_when_the_connection_dies_and_offline_on_clean_stop(
        agents: Callable[[], RunningAgent], subscriber: Subscriber,
        config: AgentConfig) -> None:
    topic = agent_status_topic(config)
    running = agents()
    subscriber.wait_for(lambda: any(s["state"] == "online"
                                    for s in subscriber.statuses(topic)), "online")
    sock = running.agent.session.client.socket()
    assert isinstance(sock, socket.socket)
    sock.shutdown(socket.SHUT_RDWR)  # the connection dies without a DISCONNECT
    subscriber.wait_for(lambda: {"state": "offline"} in subscriber.statuses(topic),
                        "the last-will")
    seen = len(subscriber.statuses(topic))
    subscriber.wait_for(lambda: any(s["state"] == "online"
                                    for s in subscriber.statuses(topic)[seen:]),
                        "online again after reconnecting")
    running.stop()
    subscriber.wait_for(lambda: subscriber.statuses(topic)[-1]["state"] == "offline",
                        "offline on clean stop")
    assert "at" in subscriber.statuses(topic)[-1]  # ours, not the bare last-will


AGENT_PROCESS = """
import argparse, sys
from edge import cli
from linli.settings import load_settings
parser = argparse.ArgumentParser()
cli.add_parser(parser.add_subparsers())
args = parser.parse_args(sys.argv[1:])
sys.exit(args.run(args, load_settings()))
"""


def start_agent_process(config: AgentConfig, settings: Settings,
                        tmp_path: Path) -> subprocess.Popen[bytes]:
    """``linli edge --config AGENT.yaml`` in a process of its own (so it can be killed)."""
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    assert settings.mqtt_url is not None
    env = {**os.environ, "LINLI_MQTT_URL": settings.mqtt_url.get_secret_value(),
           "LINLI_EDGE__SPOOL_DIR": str(settings.edge.spool_dir),
           "LINLI_EDGE__POLL_INTERVAL_S": "0.05"}
    return subprocess.Popen([sys.executable, "-c", AGENT_PROCESS, "edge", "--config", str(path)],
                            env=env, stderr=subprocess.PIPE)


def test_killed_agent_loses_nothing_and_sigterm_stops_it_cleanly(
        subscriber: Subscriber, log_file: Path, config: AgentConfig, settings: Settings,
        tmp_path: Path) -> None:
    topic = agent_status_topic(config)
    write_lines(log_file, 0, 3000)
    process = start_agent_process(config, settings, tmp_path)
    subscriber.wait_for(lambda: len(subscriber.events()) > 100, "the first events")
    process.send_signal(signal.SIGKILL)  # mid-stream, messages spooled and in flight
    process.wait()
    subscriber.wait_for(lambda: {"state": "offline"} in subscriber.statuses(topic),
                        "the last-will of the killed agent")
    write_lines(log_file, 3000, 100)
    process = start_agent_process(config, settings, tmp_path)
    subscriber.wait_for(lambda: seqs(subscriber.events()) == set(range(3100)), "all 3100")
    events = subscriber.events()
    assert len({e.event_id for e in events}) == 3100  # each line became one event
    process.send_signal(signal.SIGTERM)
    stderr = process.communicate(timeout=20)[1].decode()
    assert process.returncode == 0, stderr
    last = subscriber.statuses(topic)[-1]
    # no ingest, so no receipts: every event is still spooled, ready to go again
    assert last["state"] == "offline" and last["spooled"] == 3100


def test_events_the_broker_refuses_stay_in_the_spool(
        tmp_path: Path, config: AgentConfig, log_file: Path,
        make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture) -> None:
    acl = tmp_path / "acl"
    acl.write_text("pattern write linli/v1/+/+/agent/status\npattern read #\n")
    strict = EmbeddedMosquitto(extra_config=f"acl_file {acl}").start()
    try:
        settings = make_settings(mqtt_url=strict.url, edge={"poll_interval_s": 0.05})
        write_lines(log_file, 0, 1)
        running = RunningAgent(config, settings)
        try:
            deadline = time.monotonic() + TIMEOUT
            while "refused spooled message" not in caplog.text:
                assert time.monotonic() < deadline, "no refusal seen"
                time.sleep(0.02)
            assert running.agent.spool.depth() == 1  # not acknowledged, so not deleted
            assert running.agent.publisher.published == 0
        finally:
            running.stop()
    finally:
        strict.cleanup()


def test_log_lines_become_rows_through_broker_and_ingest(pipeline: Pipeline,
                                                         config: AgentConfig,
                                                         log_file: Path) -> None:
    write_lines(log_file, 0, 30)
    pipeline.start_agent(config)
    rows = pipeline.wait_rows(30)
    assert sorted(row["attrs"]["seq"] for row in rows) == list(range(30))
    assert {row["device"] for row in rows} == {"b01-u1-door"}
