"""Sorting a batch into events, status reports and dead letters, without any I/O."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from ingest.batch import parse_status, prepare_batch
from ingest.consumer import ReceivedMessage
from linli.contract import Event
from linli.errors import ContractError

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=SHANGHAI)
STATUS = "linli/v1/juxin/b01/b01-u1-door/status"


def event(**values: Any) -> Event:
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(), "occurred_at": T0, "community": "juxin", "building": "b01",
        "device": "b01-u1-door", "kind": "passage", "direction": "in", "person_id": "r-0001",
        "credential": "face", "source": "door",
    }
    fields.update(values)
    return Event(**fields)


def received(topic: str, payload: bytes, *, dup: bool = False, mid: int = 1) -> ReceivedMessage:
    return ReceivedMessage(topic, payload, mid, 1, 1, dup)


def of(e: Event, **kw: Any) -> ReceivedMessage:
    return received(e.topic, e.to_json(), **kw)


def test_valid_events_are_kept_in_order_and_each_id_once() -> None:
    a, b = event(), event(occurred_at=T0 + dt.timedelta(seconds=1))
    batch = prepare_batch([of(a), of(b), of(a)])
    assert [e.event_id for e in batch.events] == [a.event_id, b.event_id]
    assert batch.duplicates_in_batch == 1
    assert batch.messages == 3
    assert not batch.dead_letters and not batch.redelivered


def test_every_kind_of_bad_message_becomes_a_dead_letter_with_its_reason() -> None:
    good = event()
    topic = good.topic
    wrong_kind = json.loads(good.to_json()) | {"kind": "teleported"}
    cases = {
        b"\xff\xfe not json": "JSON",
        json.dumps(wrong_kind).encode(): "kind",
        event(device="b01-u9-door").to_json(): "b01-u9-door",
        b"{" + b" " * 9000 + b"}": "at most",
    }
    messages = [of(good)] + [received(topic, payload) for payload in cases]
    messages.append(received("linli/v1/Juxin/b01/d/events", good.to_json()))
    batch = prepare_batch(messages)

    assert [e.event_id for e in batch.events] == [good.event_id]
    letters = {d.payload: d for d in batch.dead_letters}
    for payload, reason in cases.items():
        assert reason in letters[payload].reason
        assert letters[payload].topic == topic
    assert "lowercase" in batch.dead_letters[-1].reason
    assert batch.messages == len(messages)


def test_a_redelivered_message_marks_the_batch() -> None:
    assert prepare_batch([of(event()), of(event(), dup=True)]).redelivered


def test_presence_takes_the_latest_passage_of_each_resident() -> None:
    early = event(occurred_at=T0)
    # another offset than the earlier one: compared as instants
    late = event(occurred_at=(T0 + dt.timedelta(hours=1)).astimezone(dt.UTC), direction="out")
    other = event(person_id="r-0002", community="hexie")
    anonymous = event(person_id=None, occurred_at=T0 + dt.timedelta(hours=5))
    denied = event(kind="access_denied", occurred_at=T0 + dt.timedelta(hours=6))
    batch = prepare_batch([of(late), of(early), of(other), of(anonymous), of(denied)])

    updates = batch.presence_updates()
    assert [(u["community"], u["resident"]) for u in updates] == [
        ("hexie", "r-0002"), ("juxin", "r-0001")]
    assert updates[1]["event_id"] == late.event_id
    assert updates[1]["direction"] == "out"
    assert updates[1]["last_seen_at"] == late.occurred_at


def test_signs_of_life_keep_the_latest_door_use_and_activity_per_source() -> None:
    passage = event(occurred_at=T0 + dt.timedelta(hours=1), direction="in")
    earlier = event(occurred_at=T0, direction="out")
    button = event(person_id=None, kind="exit_button", device="h101-door", direction=None,
                   credential="exit_button", occurred_at=T0 + dt.timedelta(hours=2))
    meter = event(kind="activity", source="sensor", person_id=None, device="h101-water",
                  direction=None, credential=None, attrs={"household": "h101"},
                  occurred_at=T0 + dt.timedelta(hours=3))
    denied = event(kind="access_denied", occurred_at=T0 + dt.timedelta(hours=4))
    updates = prepare_batch([of(e) for e in (passage, earlier, button, meter, denied)]
                            ).signal_updates()
    rows = {(u["device"], u["person"], u["household"]): u for u in updates}
    assert set(rows) == {("b01-u1-door", "r-0001", None), ("h101-door", None, None),
                         ("h101-water", None, "h101")}
    face = rows["b01-u1-door", "r-0001", None]
    assert (face["door_at"], face["door_direction"]) == (passage.occurred_at, "in")
    # An exit button names nobody; on a home's own door it means someone went out.
    assert rows["h101-door", None, None]["door_direction"] == "out"
    water = rows["h101-water", None, "h101"]
    assert (water["activity_at"], water["door_at"]) == (meter.occurred_at, None)


def test_device_sightings_carry_the_latest_event_time_and_source() -> None:
    times = [T0 + dt.timedelta(minutes=m) for m in (3, 9, 1)]
    cam = event(device="b02-cam-1", building="b02", source="camera", confidence=0.7)
    batch = prepare_batch([of(event(occurred_at=t)) for t in times] + [of(cam)])
    sightings = batch.device_sightings()
    assert [(s["building"], s["device"], s["kind"]) for s in sightings] == [
        ("b01", "b01-u1-door", "door"), ("b02", "b02-cam-1", "camera")]
    assert sightings[0]["last_event_at"] == max(times)


@pytest.mark.parametrize("payload", [b"online", b" offline\n", b'"online"'])
def test_bare_status_words_are_accepted(payload: bytes) -> None:
    status = parse_status(STATUS, payload)
    assert status.state == payload.strip().strip(b'"').decode()
    assert status.status == {"state": status.state}
    assert (status.community, status.building, status.device, status.kind) == (
        "juxin", "b01", "b01-u1-door", "door")


def test_a_status_object_is_kept_whole_and_the_agent_is_recognised() -> None:
    report = {"state": "online", "version": "0.1.0", "uptime_s": 3.5, "spooled": 2}
    status = parse_status("linli/v1/juxin/b01/agent/status", json.dumps(report).encode())
    assert status.kind == "agent"
    assert status.status == report
    camera = parse_status(STATUS, b'{"state": "online", "kind": "camera"}')
    assert camera.kind == "camera"


@pytest.mark.parametrize("payload, reason", [
    (b"{nope", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"version": "1"}', "state"),
    (b'{"state": "ONLINE!"}', "state"),
    (b'{"state": "online", "x": NaN}', "not JSON"),
])
def test_malformed_status_is_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(ContractError, match=reason):
        parse_status(STATUS, payload)


def test_the_latest_status_of_a_device_in_a_batch_wins() -> None:
    batch = prepare_batch([received(STATUS, b"online"), received(STATUS, b"offline"),
                           received(STATUS, b"{broken")])
    assert [s.state for s in batch.statuses] == ["offline"]
    assert len(batch.dead_letters) == 1
    assert batch.messages == 3


def test_a_cleared_retained_status_is_ignored() -> None:
    batch = prepare_batch([received(STATUS, b""), received(STATUS, b"online")])
    assert [s.state for s in batch.statuses] == ["online"]
    assert not batch.dead_letters
    assert batch.messages == 2
