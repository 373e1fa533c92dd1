"""The ``sensor-mqtt`` source's loop, without a broker: messages handed to it the way paho's
callback does are decided, spooled and rejected; nothing a gateway sends, and no failure of
the spool or the mapping, stops the loop. (With a real gateway broker:
tests/integration/test_sensor_gateway.py.)"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.rejects import RejectsFile
from edge.sensor.config import SensorMqttSource
from edge.sensor.source import SensorGateway, bridge_state
from edge.sources import SourceContext, build_source
from edge.spool import Spool
from linli.embedded import free_port
from linli.settings import EdgeSettings

SENSORS = [
    {"name": "301 bathroom motion", "device": "h301-motion", "household": "h-301",
     "signal": "motion"},
    {"name": "301 front door", "device": "h301-door", "household": "h-301", "signal": "contact"},
]


@pytest.fixture
def context(tmp_path: Path) -> Iterator[SourceContext]:
    spool = Spool(tmp_path / "spool.db")
    yield SourceContext("juxin", "b03", spool, RejectsFile(tmp_path / "rejects.jsonl"),
                        EdgeSettings(), lambda: None)
    spool.close()


def gateway(context: SourceContext, **options: Any) -> SensorGateway:
    # nothing listens on this port: paho keeps retrying in the background, harmlessly
    config = SensorMqttSource.model_validate({
        "type": "sensor-mqtt", "device": "h301-gateway",
        "url": f"mqtt://linli:s3cret@127.0.0.1:{free_port()}", "sensors": SENSORS, **options})
    source = build_source(config, context)
    assert isinstance(source, SensorGateway)
    return source


def deliver(source: SensorGateway, topic: str, payload: bytes | dict[str, Any],
            retain: bool = False) -> None:
    """What paho's network thread does with a message from the gateway's broker."""
    message = mqtt.MQTTMessage(topic=topic.encode())
    message.payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    message.retain = retain
    source._on_message(source.client, None, message)


def wait_for(what: Callable[[], Any], message: str) -> None:
    deadline = time.monotonic() + 20
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.01)


def spooled(context: SourceContext) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in context.spool.pending(0, 1000)]


def rejects(context: SourceContext) -> list[dict[str, Any]]:
    path = context.rejects.path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class Running:
    """The source's ``run`` on a thread of its own."""

    def __init__(self, source: SensorGateway) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=source.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(20)
        assert not self.thread.is_alive()


def test_bad_reports_never_stop_the_loop(context: SourceContext) -> None:
    source = gateway(context)
    running = Running(source)
    motion, door = "zigbee2mqtt/301 bathroom motion", "zigbee2mqtt/301 front door"
    script: list[tuple[str, bytes | dict[str, Any]]] = [
        (motion, b"\x00not json"), (motion, {"occupancy": True, "battery": 90}),
        (door, {"contact": {"open": 1}}), (door, {"contact": True}), (door, b"[1, 2]"),
        (door, {"contact": False, "linkquality": 87}), (motion, {"occupancy": 1}),
        (motion, {"occupancy": False}), (motion, {"occupancy": True}),
    ]
    for topic, payload in script:
        deliver(source, topic, payload)
    wait_for(lambda: source.tracker.stats.messages == len(script) and len(spooled(context)) == 3,
             "three events spooled")
    wait_for(lambda: source.last_error is not None, "the failed connection noted")
    assert (source.device_status() or {})["last_error"] == "cannot reach the gateway's broker"
    running.end()
    events = spooled(context)
    assert [(e["device"], e["kind"], e["attrs"]["signal"]) for e in events] == [
        ("h301-motion", "activity", "motion"), ("h301-door", "activity", "contact"),
        ("h301-motion", "activity", "motion")]
    reasons = [(r["file"], r["reason"]) for r in rejects(context)]
    assert [file.rsplit(":", 1)[1] for file, _ in reasons] == [motion, door, door, motion]
    assert "not JSON" in reasons[0][1] and "must be a JSON object" in reasons[2][1]
    assert reasons[3][1] == "301 bathroom motion: occupancy must be true or false, not 1"
    assert context.spool.rejects()[0] == 4
    health = source.health()
    assert (health["state"], health["messages"], health["activity"], health["rejected"]) == (
        "stopped", 9, 3, 4)


def test_a_failing_spool_or_mapping_costs_no_event_and_no_loop(
        context: SourceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    source = gateway(context)
    real_append = context.spool.append_events
    failures: list[int] = []

    def full_disk(*args: Any, **kwargs: Any) -> None:
        if not failures:
            failures.append(1)
            raise OSError("No space left on device")
        real_append(*args, **kwargs)

    monkeypatch.setattr(context.spool, "append_events", full_disk)
    real_observe = source.tracker.observe

    def buggy(message: Any) -> Any:
        if message.payload == b'{"boom": 1}':
            raise KeyError("boom")
        return real_observe(message)

    monkeypatch.setattr(source.tracker, "observe", buggy)
    running = Running(source)
    deliver(source, "zigbee2mqtt/301 bathroom motion", {"occupancy": True})
    deliver(source, "zigbee2mqtt/301 front door", {"boom": 1})
    deliver(source, "zigbee2mqtt/301 front door", {"contact": True})
    deliver(source, "zigbee2mqtt/301 front door", {"contact": False})
    wait_for(lambda: len(spooled(context)) == 2, "both events spooled after the failure")
    running.end()
    assert failures == [1]
    assert [e["device"] for e in spooled(context)] == ["h301-motion", "h301-door"]
    # a reject written before the spool failed is written again with the retry: repeated,
    # never lost (edge/rejects.py)
    assert {r["reason"] for r in rejects(context)} == {"internal error: KeyError"}


def test_retained_states_set_the_baseline_and_the_bridge_says_whether_the_gateway_runs(
        context: SourceContext) -> None:
    source = gateway(context)
    deliver(source, "zigbee2mqtt/bridge/state", b'{"state":"online"}', retain=True)
    deliver(source, "zigbee2mqtt/301 front door", {"contact": True}, retain=True)
    deliver(source, "zigbee2mqtt/301 front door", {"contact": False})
    source.take(source._drain())
    assert source.flush() == 1  # the door opened after the retained "closed"
    assert source.bridge == "online"
    source.connected = True  # as paho's on_connect sets it
    status = source.device_status()
    assert status is not None
    assert (status["state"], status["kind"], status["bridge"], status["sensors"]) == (
        "online", "sensor", "online", 2)
    assert status["broker"].startswith("mqtt://linli:***@127.0.0.1:")
    assert "s3cret" not in json.dumps([status, source.health()])
    deliver(source, "zigbee2mqtt/bridge/state", b"offline", retain=True)
    deliver(source, "zigbee2mqtt/bridge/state", b"rebooting")
    source.take(source._drain())
    source.flush()
    assert (source.device_status() or {})["state"] == "offline"
    assert source.health()["bridge"] == "offline"
    assert "bridge state must be online or offline" in rejects(context)[0]["reason"]
    source.connected = False
    deliver(source, "zigbee2mqtt/bridge/state", b"online")
    source.take(source._drain())
    assert (source.device_status() or {})["state"] == "offline"  # not connected


def test_health_lists_sensors_never_heard_as_stale(context: SourceContext) -> None:
    source = gateway(context, stale_after_s=0.001)
    time.sleep(0.01)
    health = source.health()
    assert health["stale"] == ["301 bathroom motion", "301 front door"]
    assert health["stale_count"] == 2
    assert health["last_message"] == {"301 bathroom motion": None, "301 front door": None}
    assert (source.device_status() or {})["stale"] == health["stale"]


@pytest.mark.parametrize(("payload", "state"), [
    (b"online", "online"), (b"offline", "offline"), (b'{"state":"online"}', "online"),
    (b'{"state": "offline"}', "offline"), (b'"online"', "online"), (b"ON", None),
    (b'{"state": 1}', None), (b"\xff", None),
])
def test_bridge_state_reads_both_zigbee2mqtt_forms(payload: bytes, state: str | None) -> None:
    assert bridge_state(payload) == state


def test_a_full_inbox_drops_and_counts(context: SourceContext,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import edge.sensor.source as module

    monkeypatch.setattr(module, "QUEUE_LIMIT", 2)
    source = gateway(context)
    for _ in range(5):
        deliver(source, "zigbee2mqtt/301 bathroom motion", {"occupancy": True})
    assert source.dropped == 3 and source.health()["dropped"] == 3
