"""Ingest against a real broker and a real database: what arrives is stored exactly once.

The helpers at the top (a publisher, an in-process ingest runner, event builders) are also
used by the other ingest integration tests.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from linli.contract import Event
from linli.settings import Settings
from linli.topics import EVENTS_SHARED_SUBSCRIPTION, status_topic
from tests.integration.mqtt_client import Client
from tests.pipeline import IngestRunner, ingest_settings, wait_for

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=SHANGHAI)


# --- helpers shared by the ingest integration tests -------------------------------------

def make_event(**values: Any) -> Event:
    """A valid door passage; ``values`` override any field."""
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(), "occurred_at": T0, "community": "juxin", "building": "b01",
        "device": "b01-u1-door", "kind": "passage", "direction": "in", "person_id": "r-0001",
        "credential": "face", "source": "door", "attrs": {"reader": 1},
    }
    fields.update(values)
    return Event(**fields)


class Publisher:
    """A plain paho client publishing QoS 1 messages and waiting for the broker's acks."""

    def __init__(self, url: str, max_inflight: int = 100) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4()}",
                                  protocol=mqtt.MQTTv5)
        self.max_inflight = max_inflight
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, int(port))
        self.client.loop_start()

    def publish(self, messages: Iterable[tuple[str, bytes]], *, retain: bool = False,
                timeout: float = 60) -> int:
        """Publish (topic, payload) pairs at QoS 1; returns once the broker has them all.

        At most ``max_inflight`` wait for the broker at a time: paho rescans what it holds
        on every acknowledgement, so a small window publishes fastest (~9,000/s at 100).
        """
        deadline = time.monotonic() + timeout
        pending: collections.deque[mqtt.MQTTMessageInfo] = collections.deque()
        sent = 0
        for topic, payload in messages:
            if len(pending) >= self.max_inflight:
                self._wait(pending.popleft(), deadline)
            pending.append(self.client.publish(topic, payload, qos=1, retain=retain))
            sent += 1
        while pending:
            self._wait(pending.popleft(), deadline)
        return sent

    @staticmethod
    def _wait(info: mqtt.MQTTMessageInfo, deadline: float) -> None:
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        assert info.is_published(), "broker did not acknowledge a publish in time"

    def events(self, events: Iterable[Event], timeout: float = 60) -> int:
        return self.publish(((e.topic, e.to_json()) for e in events), timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def publisher(url: str) -> Iterator[Publisher]:
    pub = Publisher(url)
    try:
        yield pub
    finally:
        pub.close()


@contextmanager
def running_ingest(settings: Settings, *, fast_path: bool = True) -> Iterator[IngestRunner]:
    runner = IngestRunner(settings, fast_path=fast_path).start()
    try:
        yield runner
    finally:
        runner.stop()


def count(db: psycopg.Connection[Any], sql: str, *params: Any) -> int:
    row = db.execute(sql, params).fetchone()
    assert row is not None
    return int(next(iter(row.values())))


def stored_ids(db: psycopg.Connection[Any]) -> list[uuid.UUID]:
    return [r["event_id"] for r in db.execute("SELECT event_id FROM events ORDER BY event_id")]


# --- tests ------------------------------------------------------------------------------

def test_published_events_become_exactly_those_rows(db: Any, db_url: str, broker: Any,
                                                     make_settings: Any) -> None:
    events = [make_event(occurred_at=T0 + dt.timedelta(seconds=i), person_id=f"r-{i:04d}",
                         direction="in" if i % 2 else "out") for i in range(40)]
    with running_ingest(ingest_settings(make_settings, db_url, broker.url)), \
            publisher(broker.url) as pub:
        pub.events(events)
        wait_for(lambda: count(db, "SELECT count(*) FROM events") >= len(events))

    rows = {r["event_id"]: r for r in db.execute("SELECT * FROM events")}
    assert set(rows) == {e.event_id for e in events}
    for event in events:
        row = rows[event.event_id]
        assert row["occurred_at"] == event.occurred_at
        assert (row["community"], row["building"], row["device"]) == (
            event.community, event.building, event.device)
        assert row["kind"] == event.kind.value
        assert row["direction"] == (event.direction.value if event.direction else None)
        assert row["person_id"] == event.person_id
        assert row["credential"] == (event.credential.value if event.credential else None)
        assert row["count"] == event.count
        assert row["source"] == event.source.value
        assert row["attrs"] == event.attrs
        assert row["received_at"] >= row["occurred_at"]


def test_a_replica_in_a_secret_share_group_stores_what_is_published(
        db: Any, db_url: str, broker: Any, make_settings: Any) -> None:
    events = [make_event(occurred_at=T0 + dt.timedelta(seconds=i)) for i in range(20)]
    settings = ingest_settings(make_settings, db_url, broker.url,
                               share_group=f"g-{uuid.uuid4().hex}")
    # a member of the default group would take every other event from a replica in it
    bystander = Client(broker.port)
    try:
        assert bystander.subscribe(EVENTS_SHARED_SUBSCRIPTION) < 0x80
        with running_ingest(settings), publisher(broker.url) as pub:
            pub.events(events)
            wait_for(lambda: count(db, "SELECT count(*) FROM events") >= len(events))
        assert set(stored_ids(db)) == {e.event_id for e in events}
        wait_for(lambda: len(bystander.received()) >= len(events))  # its own group: all
    finally:
        bystander.close()


def test_same_event_twice_is_stored_once(db: Any, db_url: str, broker: Any,
                                         make_settings: Any) -> None:
    first = [make_event(occurred_at=T0 + dt.timedelta(seconds=i)) for i in range(5)]
    later = [make_event(occurred_at=T0 + dt.timedelta(minutes=1, seconds=i)) for i in range(5)]
    # batch_wait_ms long enough that a burst lands in one batch with its own duplicates
    settings = ingest_settings(make_settings, db_url, broker.url, batch_wait_ms=300)
    with running_ingest(settings) as ingest, publisher(broker.url) as pub:
        pub.events(first + first)  # same batch
        wait_for(lambda: ingest.stats.snapshot().messages >= 10)
        pub.events(first + later)  # a later batch: the first five are already stored
        wait_for(lambda: ingest.stats.snapshot().messages >= 20)
        figures = ingest.stats.snapshot()

    assert stored_ids(db) == sorted(e.event_id for e in first + later)
    assert figures.events_written == 10
    assert figures.duplicates == 10
    assert figures.staged_batches >= 1


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-paths", "stock-paho"])
def test_bad_payloads_become_dead_letters_and_good_ones_are_stored(
        db: Any, db_url: str, broker: Any, make_settings: Any, fast_path: bool) -> None:
    good = [make_event(occurred_at=T0 + dt.timedelta(seconds=i)) for i in range(5)]
    topic = good[0].topic
    wrong_schema = make_event().model_dump(mode="json", by_alias=True) | {"kind": "teleported"}
    bad = {
        "JSON": b"not json at all",
        "kind": json.dumps(wrong_schema).encode(),
        "b01-u2-door": make_event(device="b01-u2-door").to_json(),  # topic names another
        # valid JSON and a valid event, but PostgreSQL's text type refuses a NUL character
        "refused by the database": make_event(person_id="r-\x00-1").to_json(),
    }
    messages = [(topic, good[0].to_json())]
    for payload, event in zip(bad.values(), good[1:], strict=True):
        messages += [(topic, payload), (event.topic, event.to_json())]

    with running_ingest(ingest_settings(make_settings, db_url, broker.url),
                        fast_path=fast_path) as ingest, publisher(broker.url) as pub:
        pub.publish(messages)
        wait_for(lambda: ingest.stats.snapshot().messages >= len(messages))
        figures = ingest.stats.snapshot()

    letters = {bytes(r["payload"]): r for r in db.execute("SELECT * FROM dead_letters")}
    assert set(letters) == set(bad.values())
    for expected_reason, payload in bad.items():
        assert letters[payload]["topic"] == topic
        assert expected_reason in letters[payload]["reason"]
    assert figures.dead_letters == len(bad)
    assert stored_ids(db) == sorted(e.event_id for e in good)


def test_presence_only_moves_forward(db: Any, db_url: str, broker: Any,
                                     make_settings: Any) -> None:
    newer = make_event(occurred_at=T0 + dt.timedelta(hours=2), direction="out",
                       device="b01-u2-door")
    older = make_event(occurred_at=T0 + dt.timedelta(hours=1), direction="in")
    other = make_event(occurred_at=T0, person_id="r-0002")
    no_person = make_event(occurred_at=T0 + dt.timedelta(hours=3), person_id=None)
    denied = make_event(occurred_at=T0 + dt.timedelta(hours=4), kind="access_denied")

    def presence() -> dict[str, Any]:
        return {r["resident"]: r for r in db.execute("SELECT * FROM presence")}

    with running_ingest(ingest_settings(make_settings, db_url, broker.url)) as ingest, \
            publisher(broker.url) as pub:
        pub.events([newer, other])
        wait_for(lambda: len(presence()) == 2)
        pub.events([older, no_person, denied])  # a later batch, older than what is stored
        wait_for(lambda: ingest.stats.snapshot().events_written == 5)

    seen = presence()
    assert set(seen) == {"r-0001", "r-0002"}
    assert seen["r-0001"]["last_seen_at"] == newer.occurred_at
    assert seen["r-0001"]["event_id"] == newer.event_id
    assert (seen["r-0001"]["device"], seen["r-0001"]["direction"]) == ("b01-u2-door", "out")
    assert seen["r-0002"]["event_id"] == other.event_id


def test_latest_passage_in_one_batch_wins(db: Any, db_url: str, broker: Any,
                                          make_settings: Any) -> None:
    times = [T0 + dt.timedelta(minutes=m) for m in (5, 30, 10)]
    events = [make_event(occurred_at=t) for t in times]
    settings = ingest_settings(make_settings, db_url, broker.url, batch_wait_ms=300)
    with running_ingest(settings) as ingest, publisher(broker.url) as pub:
        pub.events(events)
        wait_for(lambda: ingest.stats.snapshot().events_written == 3)
    row = db.execute("SELECT last_seen_at, event_id FROM presence").fetchone()
    assert row == {"last_seen_at": max(times), "event_id": events[1].event_id}


def test_unknown_device_gets_an_unregistered_row(db: Any, db_url: str, broker: Any,
                                                 make_settings: Any) -> None:
    db.execute("INSERT INTO devices (community, building, id, kind, name, registered) "
               "VALUES ('juxin', 'b01', 'b01-u1-door', 'door', '1栋1单元门禁', true)")
    known = [make_event(occurred_at=T0 + dt.timedelta(minutes=m)) for m in (1, 9, 3)]
    unknown = make_event(device="b07-cam-1", building="b07", source="camera",
                         confidence=0.8, person_id=None, credential=None)
    with running_ingest(ingest_settings(make_settings, db_url, broker.url)) as ingest, \
            publisher(broker.url) as pub:
        pub.events([*known, unknown])
        wait_for(lambda: ingest.stats.snapshot().events_written == 4)

    devices = {r["id"]: r for r in db.execute("SELECT * FROM devices")}
    assert devices["b01-u1-door"]["registered"] is True
    assert devices["b01-u1-door"]["name"] == "1栋1单元门禁"
    assert devices["b01-u1-door"]["last_event_at"] == max(e.occurred_at for e in known)
    assert devices["b01-u1-door"]["first_seen_at"] is not None
    cam = devices["b07-cam-1"]
    assert (cam["registered"], cam["kind"], cam["building"]) == (False, "camera", "b07")
    assert cam["last_event_at"] == unknown.occurred_at
    assert count(db, "SELECT count(*) FROM events WHERE device = 'b07-cam-1'") == 1


def test_status_reports_update_devices(db: Any, db_url: str, broker: Any,
                                       make_settings: Any) -> None:
    door = status_topic("juxin", "b01", "b01-u1-door")
    agent = status_topic("juxin", "b01", "agent")
    camera = status_topic("juxin", "b02", "b02-cam-1")
    broken = status_topic("juxin", "b02", "b02-cam-2")
    report = {"state": "online", "version": "0.1.0", "uptime_s": 12.5,
              "at": "2026-11-22T08:00:00+08:00", "spooled": 3}
    messages = [
        (agent, json.dumps(report).encode()),
        (door, b"online"),
        (door, b"offline"),  # the later report of a device wins
        (camera, json.dumps({"state": "online", "kind": "camera"}).encode()),
        (broken, b"{not json"),
        (broken, json.dumps({"version": "1"}).encode()),  # no state
    ]
    with running_ingest(ingest_settings(make_settings, db_url, broker.url)) as ingest, \
            publisher(broker.url) as pub:
        pub.publish(messages, retain=True)
        wait_for(lambda: ingest.stats.snapshot().messages >= len(messages))

    devices = {r["id"]: r for r in db.execute("SELECT * FROM devices")}
    assert set(devices) == {"agent", "b01-u1-door", "b02-cam-1"}
    assert devices["agent"]["kind"] == "agent"
    assert devices["agent"]["status"] == report
    assert devices["agent"]["state"] == "online"
    assert devices["b01-u1-door"]["state"] == "offline"
    assert devices["b01-u1-door"]["status"] == {"state": "offline"}
    assert devices["b02-cam-1"]["kind"] == "camera"
    assert all(d["status_at"] is not None and d["registered"] is False
               for d in devices.values())
    reasons = [r["reason"] for r in db.execute(
        "SELECT reason FROM dead_letters WHERE topic = %s ORDER BY id", (broken,))]
    assert len(reasons) == 2
    assert "JSON" in reasons[0]
    assert "state" in reasons[1]


def test_stored_events_notify_their_community(db_url: str, broker: Any,
                                              make_settings: Any) -> None:
    events = [make_event(), make_event(community="hexie"), make_event()]
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN linli_events")
        with running_ingest(ingest_settings(make_settings, db_url, broker.url)) as ingest, \
                publisher(broker.url) as pub:
            pub.events(events)
            wait_for(lambda: ingest.stats.snapshot().events_written == 3)
        payloads = [n.payload for n in listener.notifies(timeout=1, stop_after=10)]
    assert sorted(set(payloads)) == ["hexie", "juxin"]
    assert len(payloads) <= 3  # once per community and batch, never once per event


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-paths", "stock-paho"])
def test_committed_messages_are_acknowledged(db: Any, db_url: str, broker: Any,
                                             make_settings: Any, fast_path: bool) -> None:
    settings = ingest_settings(make_settings, db_url, broker.url)
    events = [make_event(occurred_at=T0 + dt.timedelta(seconds=i)) for i in range(200)]
    with running_ingest(settings, fast_path=fast_path) as ingest, publisher(broker.url) as pub:
        pub.events(events)
        wait_for(lambda: ingest.stats.snapshot().events_written == len(events))
    assert ingest.stats.snapshot().acked == len(events)

    # Same session again: nothing may come back, only the new marker event.
    marker = make_event()
    with running_ingest(settings) as again, publisher(broker.url) as pub:
        pub.events([marker])
        wait_for(lambda: again.stats.snapshot().events_written == 1)
    assert again.stats.snapshot().messages == 1
    assert count(db, "SELECT count(*) FROM events") == len(events) + 1
