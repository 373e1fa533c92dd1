"""In-home sensors through a real gateway broker: a private Mosquitto plays a home's
Zigbee2MQTT broker, a simulated Zigbee2MQTT publishes device states on it, and the edge
agent's ``sensor-mqtt`` source turns them into activity rows in PostgreSQL through the
project's own broker and ingest — each once, also after the gateway's broker restarted
without its sessions — over MQTT 3.1.1 and 5, and the gateway's password shows nowhere."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.agent import rejects_path
from edge.config import AgentConfig
from edge.sensor.source import SensorGateway
from hardware.provision.devicetest import DeviceTestOptions, run_device_test
from hardware.provision.mosquitto import new_password, upsert_entry
from hardware.simulators.zigbee2mqtt import Zigbee2MqttGateway
from linli.contract import utc_now
from linli.embedded import EmbeddedMosquitto
from linli.settings import Settings
from tests.pipeline import Pipeline, RunningAgent, wait_for

TIMEOUT = 30.0


class GatewayBroker:
    """The home gateway's Mosquitto, with accounts for the agent and Zigbee2MQTT;
    ``replace`` stands in a fresh one on the same port, as after a reboot that lost the
    broker's sessions and subscriptions."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.password = new_password()
        passwd = base / "passwd"
        for user in ("linli", "zigbee2mqtt"):
            upsert_entry(passwd, user, self.password)
        self.config = f"allow_anonymous false\npassword_file {passwd}"
        self.retired: list[EmbeddedMosquitto] = []
        self.server = EmbeddedMosquitto(base / "0", extra_config=self.config).start()

    def url(self, user: str) -> str:
        return f"mqtt://{user}:{self.password}@127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        self.server.stop()

    def replace(self) -> None:
        self.server.stop()
        self.retired.append(self.server)
        self.server = EmbeddedMosquitto(self.base / str(len(self.retired)), port=self.server.port,
                                        extra_config=self.config).start()

    def cleanup(self) -> None:
        for server in [self.server, *self.retired]:
            server.cleanup()


@pytest.fixture
def gateway_broker(tmp_path: Path) -> Iterator[GatewayBroker]:
    broker = GatewayBroker(tmp_path / "gateway")
    yield broker
    broker.cleanup()


def agent_config(url: str, protocol: str = "3.1.1") -> AgentConfig:
    return AgentConfig.model_validate({
        "community": "juxin", "building": "b03", "sources": [{
            "type": "sensor-mqtt", "device": "h301-gateway", "url": url, "protocol": protocol,
            "min_interval_s": 3600, "max_per_hour": 3, "reconnect_max_s": 2,
            "sensors": [
                {"name": "301 bathroom motion", "device": "h301-motion", "household": "h-301",
                 "signal": "motion"},
                {"name": "301 front door", "device": "h301-door", "household": "h-301",
                 "signal": "contact"},
                {"name": "301 kettle", "device": "h301-kettle", "person": "r-0042",
                 "signal": "power", "above": 200},
                {"name": "301 button", "device": "h301-button", "person": "r-0042",
                 "signal": "button"},
                {"name": "301 water meter", "device": "h301-water", "person": "r-0042",
                 "signal": "water", "topic": "meters/301", "field": "flow_lpm", "above": 0,
                 "time_field": "ts"},
            ]}]})


def gateway_source(agent: RunningAgent) -> SensorGateway:
    (source,) = agent.agent.sources
    assert isinstance(source, SensorGateway)
    return source


def until(what: Callable[[], Any], message: str) -> None:
    wait_for(what, TIMEOUT, message)


def meter(gateway: Zigbee2MqttGateway, flow: float, at: dt.datetime) -> None:
    """The water meter's own JSON (not Zigbee2MQTT's): flow and an epoch-ms time."""
    body = {"meter": "301", "flow_lpm": flow, "total_l": 1234.5, "ts": int(at.timestamp() * 1000)}
    gateway.publish("meters/301", json.dumps(body).encode())


def settled(pipeline: Pipeline, agent: RunningAgent, source: SensorGateway,
            count: int) -> list[dict[str, Any]]:
    """The activity rows once the agent's spool is empty: exactly ``count``, each once."""
    until(lambda: source.tracker.stats.activity == count, f"{count} activity events decided")
    until(lambda: agent.agent.spool.depth() == 0, "the agent's spool drained")
    rows = pipeline.wait_rows(count, TIMEOUT)
    assert len(rows) == count, [(r["device"], r["occurred_at"]) for r in rows]
    assert len({row["event_id"] for row in rows}) == count
    assert {(row["kind"], row["source"]) for row in rows} == {("activity", "sensor")}
    return rows


def gateway_row(pipeline: Pipeline) -> dict[str, Any] | None:
    rows = pipeline.rows("SELECT * FROM devices WHERE id = 'h301-gateway'")
    return rows[0] if rows else None


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_zigbee2mqtt_states_become_activity_rows_once_across_a_gateway_restart(
        pipeline: Pipeline, make_settings: Callable[..., Settings],
        gateway_broker: GatewayBroker, protocol: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # Zigbee2MQTT runs before the agent: its bridge state and a door's state, retained
    zigbee = Zigbee2MqttGateway(gateway_broker.url("zigbee2mqtt")).start()
    zigbee.report("301 front door", retain=True, battery=91, contact=True, linkquality=87)
    config = agent_config(gateway_broker.url("linli"), protocol)
    settings = make_settings(database_url=pipeline.settings.database_url,
                             mqtt_url=pipeline.settings.mqtt_url, edge={"status_interval_s": 0.5})
    agent = RunningAgent(config, settings)
    pipeline.agents.append(agent)
    source = gateway_source(agent)
    topics = len(source.tracker.topics) + 1  # and the bridge state
    until(lambda: source.subscriptions >= topics, "subscribed on the gateway's broker")
    until(lambda: source.bridge == "online", "the retained bridge state")
    until(lambda: (gateway_row(pipeline) or {}).get("state") == "online",
          "the gateway's status online in the database")

    start = utc_now().replace(microsecond=0) - dt.timedelta(minutes=10)
    seen = [start + dt.timedelta(seconds=i) for i in range(5)]
    for at in seen:  # someone moves about: one edge, then repeats within min_interval_s
        zigbee.report("301 bathroom motion", at, battery=100, occupancy=True, linkquality=120)
    for contact in (False, True, False, True, False):  # 5 moves, at most 3 an hour
        zigbee.report("301 front door", contact=contact)
    for watts in (0.4, 1850.0, 1840.0):  # off, switched on, still on
        zigbee.report("301 kettle", power=watts, energy=1.2, state="ON", voltage=231)
    for action in ("single", "", "double"):  # a press, the empty action after it, a press
        zigbee.report("301 button", action=action, battery=100)
    meter(zigbee, 0.0, start)
    meter(zigbee, 4.5, start + dt.timedelta(seconds=30))
    meter(zigbee, 0.0, start + dt.timedelta(seconds=90))
    zigbee.publish("zigbee2mqtt/301 bathroom motion", b"not json")
    zigbee.report("301 kettle", power="35.2")
    published = 1 + 5 + 5 + 3 + 3 + 3 + 2  # the retained door state included

    until(lambda: source.tracker.stats.messages == published, "every report decided")
    rows = settled(pipeline, agent, source, 7)
    stats = source.tracker.stats
    assert (stats.rate_limited, stats.capped, stats.rejected) == (5, 2, 2)
    assert Counter(row["device"] for row in rows) == {
        "h301-motion": 1, "h301-door": 3, "h301-kettle": 1, "h301-button": 1, "h301-water": 1}
    by_device = {row["device"]: row for row in rows}
    assert by_device["h301-motion"]["occurred_at"] == seen[0]  # Zigbee2MQTT's last_seen
    assert by_device["h301-water"]["occurred_at"] == start + dt.timedelta(seconds=30)
    assert by_device["h301-motion"]["person_id"] is None
    assert by_device["h301-motion"]["attrs"] == {
        "household": "h-301", "signal": "motion", "sensor": "301 bathroom motion"}
    assert by_device["h301-kettle"]["person_id"] == "r-0042"
    assert by_device["h301-kettle"]["attrs"] == {"signal": "power", "sensor": "301 kettle"}
    path = rejects_path(config, settings)
    reasons = [json.loads(line)["reason"] for line in path.read_text().splitlines()]
    assert len(reasons) == 2 and "not JSON" in reasons[0]
    assert reasons[1] == '301 kettle: power must be a number, not "35.2"'

    # the gateway's broker goes down and comes back empty: no sessions, no subscriptions
    zigbee.stop()
    gateway_broker.stop()
    until(lambda: not source.connected, "the agent notices the gateway's broker is gone")
    until(lambda: (gateway_row(pipeline) or {}).get("state") == "offline",
          "the gateway's status offline in the database")
    granted = source.subscriptions
    gateway_broker.replace()
    until(lambda: source.subscriptions >= granted + topics, "subscriptions restored")
    zigbee = Zigbee2MqttGateway(gateway_broker.url("zigbee2mqtt")).start()
    later = start + dt.timedelta(minutes=5)
    zigbee.report("301 bathroom motion", later, occupancy=False)
    zigbee.report("301 bathroom motion", later + dt.timedelta(seconds=1), occupancy=True)
    meter(zigbee, 2.0, later)
    until(lambda: source.tracker.stats.messages == published + 3, "the new reports decided")
    rows = settled(pipeline, agent, source, 9)
    assert Counter(row["device"] for row in rows)["h301-motion"] == 2
    assert Counter(row["device"] for row in rows)["h301-water"] == 2
    health = source.health()
    assert health["reconnects"] >= 1 and health["connected"] is True
    assert health["last_message"]["301 bathroom motion"] is not None
    until(lambda: (gateway_row(pipeline) or {}).get("state") == "online",
          "the gateway's status online again")
    row = gateway_row(pipeline)
    assert row is not None and row["kind"] == "sensor"
    assert row["status"]["bridge"] == "online" and row["status"]["sensors"] == 5
    assert row["status"]["broker"] == f"mqtt://linli:***@127.0.0.1:{gateway_broker.server.port}"
    zigbee.stop()
    # the gateway's password shows nowhere: logs, health, status
    assert "connected to mqtt://linli:***@" in caplog.text
    shown = caplog.text + json.dumps([health, row["status"], agent.agent.health()], default=str)
    assert gateway_broker.password not in shown


def wave(zigbee: Zigbee2MqttGateway) -> None:
    """Someone walks past the bathroom sensor, then leaves."""
    zigbee.report("301 bathroom motion", occupancy=True)
    zigbee.report("301 bathroom motion", occupancy=False)
    time.sleep(0.2)


def test_hardware_test_follows_a_sensor_while_the_agent_runs(
        pipeline: Pipeline, gateway_broker: GatewayBroker) -> None:
    zigbee = Zigbee2MqttGateway(gateway_broker.url("zigbee2mqtt")).start()
    config = agent_config(gateway_broker.url("linli"))
    agent = pipeline.start_agent(config)
    source = gateway_source(agent)
    until(lambda: source.subscriptions > 0, "the agent subscribed")
    out = io.StringIO()
    stop = threading.Event()
    codes: list[int] = []
    test = threading.Thread(target=lambda: codes.append(run_device_test(
        config, "h301-motion", pipeline.settings, DeviceTestOptions(seconds=30, wait_db=True),
        out, stop)))
    test.start()
    try:
        until(lambda: "database: waiting" in out.getvalue(), "the device test to start")
        # the test's own client subscribes at a moment we cannot see: wave at the sensor
        # until the test has its event and the database its row
        deadline = time.monotonic() + TIMEOUT
        while not codes:
            assert time.monotonic() < deadline, f"the device test did not finish: {out.getvalue()}"
            wave(zigbee)
    finally:
        stop.set()
        test.join(10)
        zigbee.stop()
    shown = out.getvalue()
    assert codes == [0], shown
    assert "activity" in shown and "device=h301-motion" in shown
    assert "arrival confirmed in the database" in shown
    assert gateway_broker.password not in shown
    assert source.connects == 1  # the test's client did not push the agent's off the broker
