"""The installer's console: profiles, adopting a device seen on the wire, the agent's
configuration and credentials, a camera's frame and counting line, one device's events
live — in the installer's buildings only, secrets never returned by a GET."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api.server import ApiServer
from hardware.provision.mosquitto import read_entries, verify_password
from ingest.batch import prepare_batch
from ingest.consumer import ReceivedMessage
from ingest.writer import BatchWriter
from linli.contract import Event
from linli.mqtt import parse_broker_url
from tests.accounts import add_user, logged_in
from tests.integration.conftest import StartApi
from tests.integration.live import StreamReader, wait_until_listening
from tests.integration.test_api_seed import COMMUNITY, Db

_mids = itertools.count(1)
SECRET = "terminal-s3cret-pw"
HIKVISION = {"profile": "hikvision-ds-k1t", "name": "1栋新门禁",
             "settings": {"host": "192.0.2.10", "username": "admin", "password": SECRET}}
LINE = {"frame_size": [640, 480], "line": {"a": [40, 300], "b": [600, 300], "in_side": "below"}}


def publish_event(db_url: str, building: str, device: str, *, kind: str = "passage",
                  source: str = "door", direction: str | None = "in") -> Event:
    """An event of ``device`` written the way ingest writes it (an unknown device becomes a
    ``registered=false`` row)."""
    event = Event.model_validate({
        "event_id": uuid.uuid4(), "occurred_at": dt.datetime.now(dt.UTC),
        "community": COMMUNITY, "building": building, "device": device, "kind": kind,
        "direction": direction, "person_id": "r-0001" if source == "door" else None,
        "credential": "card" if source == "door" else None, "source": source})
    writer = BatchWriter(db_url)
    try:
        writer.write(prepare_batch([ReceivedMessage(event.topic, event.to_json(),
                                                    next(_mids), 1, 0)]))
    finally:
        writer.close()
    return event


def path(building: str, rest: str) -> str:
    return f"/api/v1/communities/{COMMUNITY}/buildings/{building}/{rest}"


@pytest.fixture(name="fitter")
def fitter_fixture(seeded: Db, server: ApiServer) -> Iterator[httpx.Client]:
    """An installer of building b01 only."""
    add_user(seeded, "fitter", "installer", community=COMMUNITY, buildings=("b01",))
    client = logged_in(server.url, "fitter")
    yield client
    client.close()


def test_profiles_say_what_a_device_needs_and_no_secret(fitter: httpx.Client) -> None:
    response = fitter.get("/api/v1/device-profiles")
    assert response.status_code == 200, response.text
    profiles = {p["family"]: p for p in response.json()}
    hik = profiles["hikvision-ds-k1t"]
    assert (hik["protocol"], hik["kind"]) == ("hikvision-isapi", "door")
    assert {f["name"]: (f["kind"], f["required"]) for f in hik["fields"]} == {
        "host": ("text", True), "username": ("text", False), "password": ("secret", False)}
    assert hik["defaults"]["port"] == 80
    camera = profiles["generic-camera"]
    assert camera["kind"] == "camera"
    assert {f["name"]: f["kind"] for f in camera["fields"]} == {"url": "secret",
                                                               "counting": "structured"}
    for profile in profiles.values():
        assert "password" not in profile["defaults"] and "comm_key" not in profile["defaults"]


def test_an_installer_adopts_a_device_seen_on_the_wire(seeded: Db, db_url: str,
                                                       fitter: httpx.Client) -> None:
    publish_event(db_url, "b01", "b01-new-door")
    seen = fitter.get("/api/v1/devices", params={"registered": "false"}).json()["items"]
    assert "b01-new-door" in {d["id"] for d in seen}

    adopted = fitter.post(path("b01", "devices/b01-new-door/adopt"), json=HIKVISION)
    assert adopted.status_code == 201, adopted.text
    body = adopted.json()
    assert body["settings"] == {"host": "192.0.2.10", "username": "admin"}
    assert body["secrets"] == {"password": True}
    assert SECRET not in adopted.text
    row = seeded.execute("SELECT registered, kind, name FROM devices WHERE community = %s"
                         " AND id = 'b01-new-door'", (COMMUNITY,)).fetchone()
    assert row == {"registered": True, "kind": "door", "name": "1栋新门禁"}

    listed = fitter.get(path("b01", "installed-devices"))
    assert listed.status_code == 200 and SECRET not in listed.text
    assert [d["device"] for d in listed.json()] == ["b01-new-door"]

    # set up again without the password: the stored one is kept
    again = fitter.post(path("b01", "devices/b01-new-door/adopt"),
                        json={**HIKVISION, "settings": {"host": "192.0.2.11"}})
    assert again.status_code == 200, again.text
    assert again.json()["secrets"] == {"password": True}
    stored = seeded.execute("SELECT settings FROM installed_devices WHERE device ="
                            " 'b01-new-door'").fetchone()
    assert stored == {"settings": {"host": "192.0.2.11", "password": SECRET}}

    config = fitter.get(path("b01", "agent.yaml"))
    assert config.status_code == 200, config.text
    assert config.headers["cache-control"] == "no-store"
    assert SECRET not in config.text
    source = yaml.safe_load(config.text)["sources"][0]
    assert (source["type"], source["device"], source["host"], source["password"]) == (
        "hikvision-isapi", "b01-new-door", "192.0.2.11", "********")

    audit = seeded.execute("SELECT action, target, detail FROM audit_log WHERE username ="
                           " 'fitter' AND action LIKE 'device.%%' ORDER BY id").fetchall()
    assert [(a["action"], a["target"]) for a in audit] == [
        ("device.adopted", f"device:{COMMUNITY}/b01/b01-new-door"),
        ("device.updated", f"device:{COMMUNITY}/b01/b01-new-door")]
    assert SECRET not in str(audit)


def test_outside_the_installers_buildings_nothing_is_there(db_url: str,
                                                           fitter: httpx.Client) -> None:
    publish_event(db_url, "b02", "b02-new-door")
    for call in (fitter.post(path("b02", "devices/b02-new-door/adopt"), json=HIKVISION),
                 fitter.get(path("b02", "installed-devices")),
                 fitter.get(path("b02", "agent.yaml")),
                 fitter.post(path("b02", "agent/credentials"), json={}),
                 fitter.get(path("b02", "devices/b02-cam/frame"))):
        assert call.status_code == 404, call.text
        assert call.json()["error"]["code"] == "not_found"
    unseen = fitter.post(path("b01", "devices/b01-never-seen/adopt"), json=HIKVISION)
    assert unseen.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({**HIKVISION, "settings": {"username": "admin"}}, "settings.host"),
    ({**HIKVISION, "settings": {"host": "192.0.2.10", "port": "eighty"}}, "settings.port"),
    ({**HIKVISION, "settings": {"host": "192.0.2.10", "colour": "red"}}, "settings.colour"),
    ({**HIKVISION, "settings": {"host": "192.0.2.10", "type": "log"}}, "device"),
    ({**HIKVISION, "profile": "acme-door"}, "profile"),
    ({"profile": "generic-camera", "settings": {"url": "rtsp://192.0.2.20/live",
      "counting": {"frame_size": [640, 480], "line": {"a": [0, 0], "b": [1, 1],
                                                      "in_side": "left"}}}},
     "settings.counting.line"),
])
def test_bad_settings_are_refused_naming_the_field(db_url: str, fitter: httpx.Client,
                                                   body: dict[str, Any], field: str) -> None:
    publish_event(db_url, "b01", "b01-bad-door")
    response = fitter.post(path("b01", "devices/b01-bad-door/adopt"), json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in {f["field"] for f in error["fields"]}, error


def test_credentials_are_shown_once_and_the_broker_accepts_them(
        seeded: Db, db_url: str, start_api: StartApi, tmp_path: Path) -> None:
    server, _ = start_api(database_url=db_url, mqtt_url="mqtt://ingest:pw@127.0.0.1:1883",
                          api={"provision_dir": str(tmp_path)})
    add_user(seeded, "fitter", "installer", community=COMMUNITY, buildings=("b01",))
    client = logged_in(server.url, "fitter")
    publish_event(db_url, "b01", "b01-new-door")
    assert client.post(path("b01", "devices/b01-new-door/adopt"),
                       json=HIKVISION).status_code == 201

    issued = client.post(path("b01", "agent/credentials"), json={})
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert body["username"] == f"agent-{COMMUNITY}-b01" and body["broker_updated"] is True
    url = body["env"].split("LINLI_MQTT_URL=")[1].strip()
    broker = parse_broker_url(url)
    assert (broker.host, broker.port, broker.username) == ("127.0.0.1", 1883, body["username"])
    assert broker.password and "ingest" not in url
    assert SECRET in body["agent_yaml"]  # the file to install, with the terminal's password
    entries = dict(read_entries(tmp_path / "broker" / "passwd"))
    assert verify_password(broker.password, entries[body["username"]])
    assert f"user {body['username']}" in (tmp_path / "broker" / "acl").read_text()
    stored = seeded.execute("SELECT password_hash FROM agent_credentials").fetchone()
    assert stored is not None and broker.password not in str(stored)
    assert verify_password(broker.password, stored["password_hash"])

    rotated = client.post(path("b01", "agent/credentials"), json={}).json()
    assert parse_broker_url(rotated["env"].split("=", 1)[1].strip()).password != broker.password
    audit = seeded.execute("SELECT detail FROM audit_log WHERE action ="
                           " 'agent.credentials_issued'").fetchall()
    assert len(audit) == 2 and broker.password not in str(audit)
    client.close()


def test_without_a_provision_dir_the_passwd_line_is_given(
        seeded: Db, db_url: str, start_api: StartApi) -> None:
    server, _ = start_api(database_url=db_url, api={"agent_broker_url": "mqtts://mq.example:8883"})
    add_user(seeded, "boss", "admin")
    client = logged_in(server.url, "boss")
    assert client.post(path("b02", "agent/credentials"), json={}).status_code == 404
    publish_event(db_url, "b02", "b02-new-door")
    assert client.post(path("b02", "devices/b02-new-door/adopt"),
                       json=HIKVISION).status_code == 201
    body = client.post(path("b02", "agent/credentials"), json={}).json()
    assert body["broker_updated"] is False
    password = parse_broker_url(body["env"].split("=", 1)[1].strip()).password
    assert body["env"].count("mqtts://") == 1 and password
    user, hashed = body["passwd_line"].split(":", 1)
    assert user == f"agent-{COMMUNITY}-b02" and verify_password(password, hashed)
    client.close()


def test_a_cameras_frame_and_counting_line_reach_its_configuration(
        seeded: Db, db_url: str, fitter: httpx.Client) -> None:
    publish_event(db_url, "b01", "b01-cam", source="camera")
    camera = {"profile": "generic-camera", "name": "1栋门口摄像头",
              "settings": {"url": "rtsp://admin:campw@192.0.2.20/live", "counting": LINE}}
    adopted = fitter.post(path("b01", "devices/b01-cam/adopt"), json=camera)
    assert adopted.status_code == 201, adopted.text
    assert adopted.json()["kind"] == "camera" and "campw" not in adopted.text

    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    stored = fitter.post(path("b01", "devices/b01-cam/frame"), content=png,
                         headers={"Content-Type": "image/png"})
    assert stored.status_code == 201, stored.text
    got = fitter.get(path("b01", "devices/b01-cam/frame"))
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, png, "image/png")
    refused = fitter.post(path("b01", "devices/b01-cam/frame"), content=b"GIF89a",
                          headers={"Content-Type": "image/gif"})
    assert refused.status_code == 415

    moved = {"frame_size": [640, 480],
             "line": {"a": [100, 200], "b": [500, 260], "in_side": "above"}}
    vision = {"person_width_px": 72, "person_length_px": 110}
    saved = fitter.post(path("b01", "devices/b01-cam/adopt"), json={
        "profile": "generic-camera", "name": "1栋门口摄像头",
        "settings": {"counting": moved, "vision": vision}})
    assert saved.status_code == 200, saved.text
    source = yaml.safe_load(fitter.get(path("b01", "agent.yaml")).text)["sources"][0]
    assert source["counting"]["line"] == moved["line"]
    assert source["vision"] == vision
    assert source["url"] == "rtsp://admin:********@192.0.2.20/live"


def test_test_this_device_shows_its_events_as_they_arrive(
        seeded: Db, db_url: str, fitter: httpx.Client) -> None:
    first = publish_event(db_url, "b01", "b01-new-door")
    reader = StreamReader(fitter, path("b01", "devices/b01-new-door/events/stream"))
    try:
        assert reader.status == 200
        assert reader.headers is not None
        assert reader.headers["cache-control"] == "no-store"
        wait_until_listening(seeded)
        reader.wait_for(lambda events: any(e.name == "event" for e in events))
        assert [e["event_id"] for e in reader.named("event")] == [str(first.event_id)]
        second = publish_event(db_url, "b01", "b01-new-door", direction="out")
        reader.wait_for(lambda events: len([e for e in events if e.name == "event"]) == 2)
        shown = reader.named("event")[1]
        assert (shown["event_id"], shown["direction"]) == (str(second.event_id), "out")
        assert "person_id" not in shown and "credential" not in shown
    finally:
        reader.close()
    elsewhere = fitter.get(path("b02", "devices/b02-cam/events/stream"))
    assert elsewhere.status_code == 404
