"""The provisioned credentials and ACL in a real Mosquitto: an agent publishes for its own
building only, ingest reads, a wrong password is refused; and a provisioned agent's events
reach the database through the secured broker and the real ingest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hardware.profiles import load_profiles
from hardware.provision.devices import parse_devices_file, plan_building
from hardware.provision.files import agent_broker
from hardware.provision.flow import OutputPaths, output_paths, provision, write_agent_files
from hardware.provision.mosquitto import new_password, upsert_entry
from linli.contract import utc_now
from linli.directory import import_directory, parse_directory
from linli.embedded import EmbeddedMosquitto
from linli.mqtt import BrokerAddress, parse_broker_url
from linli.settings import Settings
from linli.topics import EVENTS_SHARED_SUBSCRIPTION, STATUS_SUBSCRIPTION
from tests.integration.mqtt_client import Client
from tests.pipeline import IngestRunner, RunningAgent, ingest_settings, wait_for

NOT_AUTHORIZED = 0x87
"""MQTT 5 reason code Mosquitto 2.0 puts in the PUBACK/SUBACK of a denied publish/subscribe
(and, measured with 2.0.11, in the CONNACK of a wrong password)."""
BAD_CREDENTIALS = (0x86, NOT_AUTHORIZED)


def devices(building: str, logs: Path) -> dict[str, Any]:
    return {"community": "c", "building": building, "devices": [
        {"id": f"{building}-u1-door", "profile": "generic-log",
         "path": str(logs / f"{building}-u1-door.jsonl")}]}


@dataclass
class SecuredBroker:
    """A Mosquitto using the provisioned passwd and acl, plus an ingest user."""

    server: EmbeddedMosquitto
    paths: dict[str, OutputPaths]
    ingest_password: str

    def agent(self, building: str) -> BrokerAddress:
        found = agent_broker(self.paths[building].agent_env)
        assert found is not None
        return found


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[SecuredBroker]:
    """Agents of b01 and b02 provisioned (files only), then the broker started on them."""
    broker_dir = tmp_path / "broker"
    passwd, acl = broker_dir / "passwd", broker_dir / "acl"
    server = EmbeddedMosquitto(tmp_path / "mqtt", extra_config="\n".join([
        "allow_anonymous false", f"password_file {passwd}", f"acl_file {acl}"]))
    paths = {}
    for building in ("b01", "b02"):
        plan = plan_building(parse_devices_file(devices(building, tmp_path / "logs")),
                             load_profiles())
        paths[building] = output_paths(tmp_path / "out", "c", building, broker_dir)
        write_agent_files(plan, paths[building], broker=parse_broker_url(server.url))
    ingest_password = new_password()
    upsert_entry(passwd, "ingest", ingest_password)  # what deploy/mosquitto/start.sh adds
    server.start()
    yield SecuredBroker(server, paths, ingest_password)
    server.cleanup()


def connect(secured: SecuredBroker, user: str, password: str) -> Client:
    return Client(secured.server.port, user, password)


def test_an_agent_publishes_for_its_own_building_only(secured: SecuredBroker) -> None:
    b01 = secured.agent("b01")
    assert b01.username == "agent-c-b01" and b01.password
    ingest = connect(secured, "ingest", secured.ingest_password)
    clients = [ingest]

    def agent() -> Client:
        # Mosquitto 2.0.11 with max_queued_messages 0 (our configuration) closes the
        # connection after a denied publish (eclipse-mosquitto/mosquitto#2579): one each
        clients.append(connect(secured, str(b01.username), str(b01.password)))
        assert clients[-1].connack == 0
        return clients[-1]

    try:
        assert ingest.connack == 0
        assert ingest.subscribe(EVENTS_SHARED_SUBSCRIPTION) < 0x80
        assert ingest.subscribe(STATUS_SUBSCRIPTION) < 0x80
        # Mosquitto grants the subscription and filters each message by read access
        listener = agent()
        listener.subscribe("linli/v1/#")
        assert agent().publish("linli/v1/c/b02/b02-u1-door/events", b"b02") == NOT_AUTHORIZED
        assert agent().publish("linli/v1/c/b01/b01-u1-door/config", b"cfg") == NOT_AUTHORIZED
        writer = connect(secured, "ingest", secured.ingest_password)
        clients.append(writer)
        assert writer.publish("linli/v1/c/b01/b01-u1-door/events", b"ingest") == NOT_AUTHORIZED
        allowed = agent()
        assert allowed.publish("linli/v1/c/b01/b01-u1-door/events", b"b01") == 0
        assert allowed.publish("linli/v1/c/b01/agent/status", b"online", retain=True) == 0
        # the broker handled the denied ones first: had it passed one on, it came first
        wait_for(lambda: len(ingest.received()) >= 2, 10, "the allowed messages")
        assert ingest.received() == [("linli/v1/c/b01/b01-u1-door/events", b"b01"),
                                     ("linli/v1/c/b01/agent/status", b"online")]
        # the PUBACK of the listener's own publish follows anything sent to it before
        assert listener.publish("linli/v1/c/b01/b01-u1-door/events", b"barrier") == 0
        assert listener.received() == []  # an agent reads nothing, not even its own
    finally:
        for client in clients:
            client.close()


def test_a_wrong_or_missing_password_is_refused(secured: SecuredBroker) -> None:
    b01, b02 = secured.agent("b01"), secured.agent("b02")
    attempts = [connect(secured, str(b01.username), "not-the-password"),
                connect(secured, str(b01.username), str(b02.password)),  # another agent's
                connect(secured, "edge", str(b01.password)),
                connect(secured, str(b01.username), str(b01.password))]
    try:
        assert [a.connack in BAD_CREDENTIALS for a in attempts] == [True, True, True, False]
        assert attempts[-1].connack == 0
    finally:
        for attempt in attempts:
            attempt.close()


def test_a_provisioned_agent_reaches_the_database_through_the_secured_broker(
        tmp_path: Path, db_url: str, make_settings: Callable[..., Settings]) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        import_directory(conn, parse_directory({"community": {"id": "c", "name": "C"},
                                                "buildings": [{"id": "b01", "name": "1栋"}]}))
    server = EmbeddedMosquitto(tmp_path / "mqtt", extra_config="\n".join([
        "allow_anonymous false", f"password_file {tmp_path}/out/broker/passwd",
        f"acl_file {tmp_path}/out/broker/acl"]))
    plan = plan_building(parse_devices_file(devices("b01", tmp_path / "logs")), load_profiles())
    paths = output_paths(tmp_path / "out", "c", "b01")
    with psycopg.connect(db_url) as conn:
        provision(conn, plan, paths, broker=parse_broker_url(server.url))
    ingest_password = new_password()
    upsert_entry(paths.passwd, "ingest", ingest_password)
    agent_url = paths.agent_env.read_text().split("LINLI_MQTT_URL=")[1].strip()
    log = tmp_path / "logs" / "b01-u1-door.jsonl"
    log.parent.mkdir()
    log.write_text(json.dumps({"time": utc_now().isoformat(), "event": "passage",
                               "person": "r-0001", "reader": 1}) + "\n")
    server.start()
    ingest = IngestRunner(ingest_settings(
        make_settings, db_url, f"mqtt://ingest:{ingest_password}@127.0.0.1:{server.port}"))
    agent: RunningAgent | None = None
    try:
        ingest.start()
        agent = RunningAgent(plan.agent, make_settings(mqtt_url=agent_url))

        def stored() -> list[tuple[Any, ...]]:
            with psycopg.connect(db_url) as conn:
                return conn.execute(
                    "SELECT e.device, e.kind, e.direction, e.person_id, d.state AS agent "
                    "FROM events e JOIN devices d ON (d.community, d.building, d.id) = "
                    "(e.community, e.building, 'agent')").fetchall()

        rows = wait_for(lambda: [r for r in stored() if r[4] == "online"], 20,
                        "the event and the agent's online status in the database")
        assert rows == [("b01-u1-door", "passage", "in", "r-0001", "online")]
    finally:
        if agent is not None:
            agent.stop()
        ingest.stop()
        server.cleanup()
