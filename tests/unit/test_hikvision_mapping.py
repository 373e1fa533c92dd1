"""Hikvision records → events: the code table and its overrides, directions, ids that
survive replays and searches but not factory resets, and the configuration model."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from edge.hikvision.codes import DEFAULT_CODES, code_meaning
from edge.hikvision.config import HikvisionSource
from edge.hikvision.mapping import map_record
from edge.hikvision.parse import AcsRecord, read_envelope
from edge.vendors.records import TerminalRecord
from linli.contract import EventKind

TIME = "2026-11-22T08:00:00+08:00"


def source(**values: Any) -> HikvisionSource:
    return HikvisionSource.model_validate({"device": "d1", "host": "h",
                                           "readers": {1: "in", "2": "out"}, **values})


def stream(major: int, minor: int, time: str = TIME, **inner: Any) -> dict[str, Any]:
    return {"dateTime": time, "eventType": "AccessControllerEvent",
            "AccessControllerEvent": {"majorEventType": major, "subEventType": minor,
                                      "currentEvent": True, **inner}}


def mapped(envelope: dict[str, Any], config: HikvisionSource | None = None,
           **options: Any) -> TerminalRecord:
    notice = read_envelope(envelope)
    assert isinstance(notice, AcsRecord)
    return map_record(notice, config or source(), community="c", building="b", where="t",
                      **options)


@pytest.mark.parametrize(("code", "kind", "credential", "reason"), [
    ("5.1", "passage", "card", None), ("5.75", "passage", "face", None),
    ("5.38", "passage", "fingerprint", None),
    ("5.6", "access_denied", "card", "no_permission"),
    ("5.9", "access_denied", "card", "invalid_card"),
    ("5.10", "access_denied", None, "anti_passback"),
    ("5.39", "access_denied", "fingerprint", "fingerprint_mismatch"),
    ("5.76", "access_denied", "face", "face_mismatch"),
    ("5.80", "access_denied", "face", "face_not_recognised"),
    ("5.27", "door_forced", None, None), ("5.28", "door_held_open", None, None),
    ("5.21", "door_opened", None, None), ("5.22", "door_closed", None, None),
    ("5.25", "door_opened", None, None), ("5.26", "door_closed", None, None),
    ("5.23", "exit_button", "exit_button", None), ("3.1024", "door_opened", "remote", None),
    ("1.1028", "tamper", None, None), ("1.1030", "tamper", None, None),
    ("1.1034", "duress", None, None),
])
def test_the_code_table(code: str, kind: str, credential: str | None,
                        reason: str | None) -> None:
    major, minor = (int(n) for n in code.split("."))
    event = mapped(stream(major, minor, serialNo=1)).event
    assert event is not None
    assert (event.kind.value, event.credential, event.attrs.get("reason")) == (
        kind, credential, reason)


def test_overrides_correct_ignore_and_add_codes() -> None:
    config = source(codes={"5.23": "door_opened", "5.21": "ignore", "2.1024": "door_opened"})
    opened = mapped(stream(5, 23, serialNo=1), config).event
    assert opened is not None and opened.kind is EventKind.DOOR_OPENED
    assert opened.credential is None and opened.direction is None
    ignored = mapped(stream(5, 21, serialNo=2), config)
    assert ignored.event is None and ignored.rejected is None
    assert mapped(stream(2, 1024, serialNo=3), config).event is not None
    unknown = mapped(stream(9, 9, serialNo=4))
    assert unknown.rejected is not None and unknown.rejected.line == 4
    assert "unknown Hikvision event code 9.9" in unknown.rejected.reason
    assert code_meaning(5, 75, {}) is DEFAULT_CODES["5.75"]


def test_directions_from_readers_then_attendance() -> None:
    def direction(config: HikvisionSource, **inner: Any) -> str | None:
        event = mapped(stream(5, 75, serialNo=1, employeeNoString="r-1", **inner),
                       config).event
        assert event is not None
        return event.direction

    assert direction(source(), cardReaderNo=1) == "in"
    assert direction(source(), cardReaderNo="2") == "out"
    assert direction(source(), cardReaderNo=3, attendanceStatus="checkOut") is None
    assert direction(source(attendance_direction=True), attendanceStatus="checkOut") == "out"
    assert direction(source(attendance_direction=True), cardReaderNo=1,
                     attendanceStatus="checkOut") == "in"


def test_a_record_has_one_id_whichever_way_it_comes() -> None:
    live = mapped(stream(5, 75, serialNo=42, employeeNoString="r-1"))
    searched = mapped({"major": 5, "minor": 75, "time": "2026-11-22T00:00:00Z",
                       "serialNo": 42, "employeeNoString": "r-1"})
    assert live.record_id == searched.record_id
    assert live.event is not None and live.event.event_id == live.record_id
    # numbering restarted by a factory reset: same serial, later time, another event
    after_reset = mapped(stream(5, 75, "2026-11-23T09:00:00+08:00", serialNo=42))
    assert after_reset.record_id != live.record_id
    # no serial at all: named by time, code and person
    a = mapped(stream(5, 75, employeeNoString="r-1"))
    b = mapped(stream(5, 75, employeeNoString="r-2"))
    assert a.record_id != b.record_id and a.number is None


def test_times_without_offset_are_in_the_device_zone_and_bad_ones_refused() -> None:
    event = mapped(stream(5, 75, "2026-11-22T08:00:00", serialNo=1)).event
    assert event is not None and event.occurred_at == dt.datetime.fromisoformat(TIME)
    with pytest.raises(ValueError, match="bad dateTime"):
        mapped(stream(5, 75, "someday", serialNo=1))


def test_attrs_stay_small_and_useful() -> None:
    event = mapped(stream(5, 9, serialNo=3, cardNo="1234567890", cardReaderNo=2, doorNo=1,
                          name="张三", FaceRect={"x": 0.1}),
                   drift_s=-3600.0).event
    assert event is not None
    assert event.attrs == {"major": 5, "minor": 9, "serial": 3, "door": "1", "reader": "2",
                           "card_tail": "7890", "reason": "invalid_card", "drift_s": -3600.0}
    assert event.person_id is None


def test_a_record_breaking_the_contract_is_rejected() -> None:
    record = mapped(stream(5, 75, serialNo=5, employeeNoString="x" * 100))
    assert record.event is None and record.rejected is not None
    assert "breaks the event contract: person_id" in record.rejected.reason


@pytest.mark.parametrize(("values", "message"), [
    ({"mode": "push"}, "mode push needs listen"),
    ({"mode": "push", "listen": "8088"}, "listen must be HOST:PORT"),
    ({"codes": {"5/75": "passage"}}, "MAJOR.MINOR"),
    ({"codes": {"5.75": "teleport"}}, "Input should be .passage."),
    ({"readers": {"1": "sideways"}}, "readers.1"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"path": "no-slash"}, "path"),
    ({"colour": "red"}, "colour"),
])
def test_configuration_errors_name_the_field(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        source(**values)


def test_configuration_defaults() -> None:
    config = source(port=8080, password="x", mode="push", listen="0.0.0.0:8088")
    assert config.base_url == "http://h:8080" and config.silence_s == 30
    assert source(scheme="https").base_url == "https://h:443"
    assert str(config.password) == "**********"


def test_overrides_keep_the_door_signal_and_tables_follow_the_profile() -> None:
    contact = code_meaning(5, 25, {"5.25": EventKind.DOOR_FORCED})
    assert contact is not None and (contact.kind, contact.signal) == (
        EventKind.DOOR_FORCED, "contact")
    lock = code_meaning(5, 21, {"5.21": EventKind.DOOR_HELD_OPEN})
    assert lock is not None and lock.signal == "lock" and lock.credential is None
    sdk = code_meaning(5, 23, {})
    wired = code_meaning(5, 23, {}, "door-contact")
    assert sdk is not None and (sdk.kind, sdk.signal) == (EventKind.EXIT_BUTTON, "button")
    assert wired is not None and (wired.kind, wired.signal) == (EventKind.DOOR_OPENED,
                                                                "contact")
    routine = code_meaning(3, 0x405, {})
    assert routine is not None and routine.kind is None
    assert code_meaning(3, 0x405, {"3.1029": EventKind.TAMPER}) is not None
