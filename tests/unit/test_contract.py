"""The event contract and topics: what the edge sends is what ingest accepts."""

from __future__ import annotations

import json
import uuid

import pytest

from linli.contract import Event, EventKind, derived_event_id, parse_event, utc_now
from linli.errors import ContractError
from linli.topics import events_topic, parse_topic, status_topic


def make_event(**changes: object) -> Event:
    values: dict[str, object] = dict(
        event_id=uuid.uuid4(), occurred_at=utc_now(), community="c1", building="b-1",
        device="door-1", kind="passage", direction="in", person_id="r-1", credential="face",
        source="door",
    )
    values.update(changes)
    return Event(**values)  # type: ignore[arg-type]


def test_round_trip_through_the_wire_form() -> None:
    event = make_event(attrs={"reader": 2})
    wire = json.loads(event.to_json())
    assert wire["schema"] == 1
    assert wire["occurred_at"].endswith("Z") or "+" in wire["occurred_at"]
    assert parse_event(event.topic, event.to_json()) == event


def test_event_must_match_its_topic() -> None:
    event = make_event()
    with pytest.raises(ContractError, match="came on"):
        parse_event(events_topic("c1", "b-1", "door-2"), event.to_json())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"occurred_at": "2026-01-01T08:00:00"}, "occurred_at"),
        ({"kind": "teleport"}, "kind"),
        ({"count": 0}, "count"),
        ({"confidence": 0.5}, "confidence 1"),
        ({"community": "Bad_Name"}, "community"),
        ({"attrs": {"blob": "x" * 5000}}, "attrs"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_events_are_refused_with_a_reason(change: dict[str, object], reason: str) -> None:
    payload = json.loads(make_event().to_json())
    payload.update(change)
    with pytest.raises(ContractError, match=reason):
        parse_event(events_topic("c1", "b-1", "door-1"), json.dumps(payload).encode())


def test_not_json_is_refused() -> None:
    with pytest.raises(ContractError):
        parse_event(events_topic("c1", "b-1", "door-1"), b"\xff\xfe not json")


def test_topics_reject_identifiers_outside_the_contract() -> None:
    assert parse_topic(status_topic("c1", "b1", "agent")).channel == "status"
    for bad in ("B1", "b_1", "", "-b", "b" * 65):
        with pytest.raises(ContractError):
            events_topic("c1", bad, "d1")
    with pytest.raises(ContractError):
        parse_topic("linli/v2/c1/b1/d1/events")


def test_kinds_are_a_closed_set() -> None:
    assert {k.value for k in EventKind} >= {"passage", "access_denied", "door_forced"}


def test_derived_event_ids_name_a_record_for_good() -> None:
    first = derived_event_id("juxin", "b01", "b01-door", "serial-17")
    assert first == derived_event_id("juxin", "b01", "b01-door", "serial-17")
    assert first != derived_event_id("juxin", "b01", "b01-door", "serial-18")
    assert first != derived_event_id("juxin", "b02", "b01-door", "serial-17")
    assert first.version == 5


def _activity(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema": 1, "event_id": "6f1c1d3e-8a2b-4c1d-9e2f-0a1b2c3d4e5f",
        "occurred_at": "2026-12-06T08:15:00+08:00", "community": "c1", "building": "b1",
        "device": "meter-301", "kind": "activity", "source": "sensor",
    }
    return base | fields


def test_activity_events_name_their_resident_or_home() -> None:
    topic = events_topic("c1", "b1", "meter-301")
    by_person = parse_event(topic, json.dumps(_activity(person_id="r-7")).encode())
    assert by_person.kind is EventKind.ACTIVITY and by_person.person_id == "r-7"
    by_home = parse_event(topic, json.dumps(_activity(attrs={"household": "h-301"})).encode())
    assert by_home.attrs["household"] == "h-301"
    with pytest.raises(ContractError, match="names its resident"):
        parse_event(topic, json.dumps(_activity()).encode())
    with pytest.raises(ContractError, match="in-home sensors"):
        parse_event(topic, json.dumps(_activity(person_id="r-7", source="door")).encode())
