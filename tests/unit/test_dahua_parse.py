"""Dahua payloads: eventManager part bodies, recordFinder answers, and the real
AccessControl event from the shared samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from edge.dahua.config import DahuaSource
from edge.dahua.mapping import map_event
from edge.dahua.parse import DahuaEvent, body_complete, read_body, read_records
from edge.vendors.payload import BadPayload

SAMPLE = "access/dahua/01_issue221_AccessControl_OpenDoor_card_Entry.yaml"
DATA_FIELDS = ("CardNo", "CardType", "ErrorCode", "LocaleTime", "Method", "Name", "Password",
               "ReaderID", "RecNo", "SnapURL", "Status", "Type", "UTC", "UserID")


def test_the_real_access_event_maps_to_an_entry_by_card(shared_samples: Path) -> None:
    dump = yaml.safe_load((shared_samples / SAMPLE).read_text())["data"]
    # Home Assistant flattened the event's data; the poster blanked UTC and LocaleTime
    data = {key: dump[key] for key in DATA_FIELDS if key in dump}
    event = DahuaEvent(dump["Code"], dump["Action"], dump["Index"], data)
    received = dt.datetime(2023, 2, 25, 12, 0, tzinfo=dt.UTC)
    record = map_event(event, DahuaSource(device="d1", host="h"), community="c",
                       building="b", where="t", received_at=received)
    assert record.number == 31 and record.event is not None
    got = record.event
    assert (got.kind.value, got.direction, got.person_id, got.credential) == (
        "passage", "in", "01", "card")
    assert got.occurred_at == received and got.attrs["time_source"] == "agent"
    assert got.attrs["rec_no"] == "31" and got.attrs["reader"] == "1"


def test_part_bodies_with_one_several_or_no_events() -> None:
    assert read_body(b"Heartbeat") == []
    (one,) = read_body(b'Code=AccessControl;action=Pulse;index=0;data={\n   "RecNo" : 7,\n'
                       b'   "UserID" : "r-1"\n}\n')
    assert one == DahuaEvent("AccessControl", "Pulse", 0, {"RecNo": 7, "UserID": "r-1"})
    several = read_body(b'Code=DoorStatus;action=Pulse;index=1;data={ "Status" : "Open" }\r\n'
                        b"Code=BreakIn;action=Start;index=1\r\n"
                        b'Code=AccessControl;action=Pulse;index=0;data={"Method":4}')
    assert [(e.code, e.action, e.index) for e in several] == [
        ("DoorStatus", "Pulse", 1), ("BreakIn", "Start", 1), ("AccessControl", "Pulse", 0)]
    assert several[1].data == {}


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "empty"),
    (b"hello world", "expected key=value"),
    (b"action=Pulse;index=0", "without Code"),
    (b"Code=X;action=Pulse;index=zero", "must be a number"),
    (b"Code=X;data={broken", "not valid JSON"),
    (b"Code=X;data=[1]", "not a JSON object"),
    (b"Code=X;data=" + b"[" * 50_000, "nested too deeply"),
    (b"Code=X;data={\"a\": \"\xff\"}", "not UTF-8"),
    (b"Code=X;index=0\n" * 150, "more than 100 events"),
])
def test_broken_bodies_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        read_body(body)


def test_bodies_are_complete_when_their_data_closed() -> None:
    assert body_complete({}, b"Heartbeat")
    assert body_complete({}, b'Code=A;action=Pulse;index=0;data={"a": {"b": 1}}')
    assert not body_complete({}, b'Code=A;action=Pulse;index=0;data={"a": {"b": 1}')
    assert not body_complete({}, b"Code=DoorSta")  # no data: wait for the boundary


def test_record_finder_answers() -> None:
    page = read_records(b"found=2\r\nrecords[0].RecNo=5\r\nrecords[0].CreateTime=1790000000\r\n"
                        b"records[1].RecNo=6\r\nrecords[1].Type=Exit\r\n")
    assert page.found == 2
    assert page.records == [{"RecNo": "5", "CreateTime": "1790000000"},
                            {"RecNo": "6", "Type": "Exit"}]
    assert read_records(b"found=0\r\n").records == []
    for body, reason in ((b"Error\r\nBad Request!\r\n", "refused the search"),
                         (b"records[0].RecNo=1\r\n", "without found="),
                         (b"found=1\r\nwhat is this\r\n", "not key=value"),
                         (b"found=\xff", "not UTF-8")):
        with pytest.raises(BadPayload, match=reason):
            read_records(body)
