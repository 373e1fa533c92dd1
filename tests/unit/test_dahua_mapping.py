"""Dahua events and card records → events: verdicts, methods, directions, door and alarm
codes, overrides, one id per record whichever way it comes, and the configuration."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from edge.dahua.config import DahuaSource
from edge.dahua.mapping import code_key, map_event, record_as_event
from edge.dahua.parse import DahuaEvent
from edge.vendors.payload import BadPayload
from edge.vendors.records import TerminalRecord

UTC = 1_790_000_000
RECEIVED = dt.datetime(2026, 9, 21, tzinfo=dt.UTC)


def source(**values: Any) -> DahuaSource:
    return DahuaSource.model_validate({"device": "d1", "host": "h",
                                       "readers": {"1": "in", "2": "out"}, **values})


def access(**data: Any) -> DahuaEvent:
    return DahuaEvent("AccessControl", "Pulse", 0, {"RecNo": 1, "UTC": UTC, **data})


def mapped(event: DahuaEvent, config: DahuaSource | None = None) -> TerminalRecord:
    return map_event(event, config or source(), community="c", building="b", where="t",
                     received_at=RECEIVED)


def summary(event: DahuaEvent, config: DahuaSource | None = None) -> tuple[Any, ...]:
    record = mapped(event, config)
    if record.event is None:
        return ("rejected", record.rejected.reason) if record.rejected else ("ignored",)
    got = record.event
    return (got.kind.value, got.direction, got.person_id, got.credential)


@pytest.mark.parametrize(("data", "expected"), [
    ({"Status": 1, "Method": 15, "Type": "Entry", "UserID": "r-1"},
     ("passage", "in", "r-1", "face")),
    ({"Status": "1", "Method": 1, "Type": "Exit", "UserID": "r-2"},
     ("passage", "out", "r-2", "card")),
    ({"Status": 1, "Method": 6, "ReaderID": "2", "UserID": "r-3"},
     ("passage", "out", "r-3", "fingerprint")),
    ({"Status": 0, "Method": 0, "ReaderID": "1", "ErrorCode": 16},
     ("access_denied", "in", None, "pin")),
    ({"Status": "Open", "Method": 14, "UserID": "0"}, ("passage", None, None, "qr")),
    ({"Method": 1, "ErrorCode": 16}, ("access_denied", None, None, "card")),
    ({"Status": 1, "Method": 5, "ReaderID": "1"},
     ("exit_button", "out", None, "exit_button")),
    ({"Status": 1, "Method": 4, "Type": "Entry", "UserID": "r-4"},
     ("door_opened", None, "r-4", "remote")),
    ({"Status": 1, "Method": 99}, ("passage", None, None, None)),
])
def test_access_control_events(data: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert summary(access(**data)) == expected


def test_door_and_alarm_events() -> None:
    def event(code: str, action: str = "Pulse", **data: Any) -> DahuaEvent:
        return DahuaEvent(code, action, 1, {"UTC": UTC, **data})

    assert summary(event("DoorStatus", Status="Open")) == ("door_opened", None, None, None)
    assert summary(event("DoorStatus", Status="Close")) == ("door_closed", None, None, None)
    assert summary(event("BreakIn", "Start")) == ("door_forced", None, None, None)
    assert summary(event("BreakIn", "Stop")) == ("ignored",)
    assert summary(event("DoorNotClosed", "Start")) == ("door_held_open", None, None, None)
    assert summary(event("ChassisIntruded", "Start")) == ("tamper", None, None, None)
    assert summary(event("AlarmLocal", "Start")) == ("ignored",)
    assert summary(event("Invite")) == ("rejected", "unknown Dahua event Invite")
    forced = mapped(event("BreakIn", "Start")).event
    assert forced is not None and forced.attrs["index"] == 1
    # no record number: the same alarm seen twice is one event, a later one another
    assert mapped(event("BreakIn")).record_id == mapped(event("BreakIn")).record_id
    assert mapped(event("BreakIn")).record_id != mapped(
        DahuaEvent("BreakIn", "Pulse", 1, {"UTC": UTC + 1})).record_id


def test_overrides_of_codes_and_methods() -> None:
    config = source(codes={"AlarmLocal": "door_held_open", "AccessControl.remote": "ignore",
                           "Invite": "ignore"}, methods={15: "card"})
    alarm = DahuaEvent("AlarmLocal", "Start", 0, {"UTC": UTC})
    assert summary(alarm, config) == ("door_held_open", None, None, None)
    assert summary(access(Status=1, Method=4), config) == ("ignored",)
    assert summary(DahuaEvent("Invite", "Pulse", 0, {}), config) == ("ignored",)
    assert summary(access(Status=1, Method=15, UserID="r-1"), config)[3] == "card"


def test_a_card_record_and_its_live_event_are_one_event() -> None:
    live = mapped(access(Status=1, Method=1, UserID="r-1", RecNo=31))
    row = {"RecNo": "31", "CreateTime": str(UTC), "UserID": "r-1", "Status": "1",
           "Method": "1", "Door": "0", "Type": "Entry"}
    searched = mapped(record_as_event(row))
    assert searched.record_id == live.record_id and searched.number == 31
    restarted = mapped(access(Status=1, Method=1, UserID="r-1", RecNo=31, UTC=UTC + 86400))
    assert restarted.record_id != live.record_id


def test_unreadable_fields_are_refused_with_reasons() -> None:
    with pytest.raises(BadPayload, match="neither 1 nor 0"):
        mapped(access(Status="maybe"))
    with pytest.raises(BadPayload, match="UTC must be a number"):
        mapped(access(UTC="soon"))
    with pytest.raises(BadPayload, match="RecNo must be a number"):
        mapped(access(RecNo="x", Status=1))
    local = mapped(DahuaEvent("AccessControl", "Pulse", 0, {
        "RecNo": 2, "LocaleTime": "2026-09-21 16:00:00", "Status": 1}))
    assert local.at == dt.datetime(2026, 9, 21, 8, tzinfo=dt.UTC)
    assert code_key(DahuaEvent("DoorStatus", "Open", 0, {})) == "DoorStatus.Open"


@pytest.mark.parametrize(("values", "message"), [
    ({"events": ["Access Control"]}, "event codes are names"),
    ({"events": []}, "at least 1 item"),
    ({"codes": {"Break In": "door_forced"}}, "codes keys are event codes"),
    ({"methods": {"face": "face"}}, "methods keys are Method numbers"),
    ({"methods": {"15": "retina"}}, "methods.15"),
    ({"heartbeat_s": 0}, "heartbeat_s"),
])
def test_configuration_errors_name_the_field(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        source(**values)
