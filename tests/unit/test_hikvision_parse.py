"""Hikvision payloads → notices → events: the real alertStream capture, XML heartbeats,
pictures, push bodies, search answers, and what is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.hikvision.config import HikvisionSource
from edge.hikvision.mapping import map_record
from edge.hikvision.parse import (
    AcsRecord,
    Heartbeat,
    Picture,
    body_complete,
    push_parts,
    read_part,
    read_search_page,
)
from edge.vendors.multipart import MultipartReader, Part
from edge.vendors.payload import BadPayload
from edge.vendors.records import TerminalRecord

SAMPLE = "access/hikvision/01_alertStream_multipart_DS-K1T342MWX_excerpt.txt"
PROFILES = Path(__file__).resolve().parents[2] / "hardware" / "profiles"


def sample_records(shared_samples: Path, **config: Any) -> list[TerminalRecord]:
    reader = MultipartReader("MIME_boundary", complete=body_complete)
    parts = reader.feed((shared_samples / SAMPLE).read_bytes()) + reader.finish()
    source = HikvisionSource.model_validate({"device": "d1", "host": "h",
                                             "readers": {"1": "in"}, **config})
    records = []
    for part in parts:
        assert isinstance(part, Part)
        notice = read_part(part)
        assert isinstance(notice, AcsRecord) and notice.live is False
        records.append(map_record(notice, source, community="c", building="b", where="t",
                                  history=not notice.live))
    return records


def outcome(record: TerminalRecord) -> tuple[Any, ...]:
    if record.rejected is not None:
        return ("rejected", record.rejected.reason)
    if record.event is None:
        return ("ignored",)
    event = record.event
    return (event.kind.value, event.direction, event.person_id,
            event.credential.value if event.credential else None)


def test_the_real_capture_maps_code_by_code(shared_samples: Path) -> None:
    records = sample_records(shared_samples)
    assert [r.number for r in records] == [1, 2, 3, 4, 10, 17, 18, 19]
    assert all(r.history for r in records)
    assert [outcome(r) for r in records] == [
        ("rejected", "unknown Hikvision event code 2.1024"),
        ("exit_button", "out", None, "exit_button"),     # SDK meaning of 5.23
        ("door_opened", None, None, None),               # 5.21 lock opened
        ("door_closed", None, None, None),               # 5.22 lock closed
        ("ignored",),                                    # 3.112 remote login
        ("door_opened", None, None, None),
        ("passage", "in", "REDACTED_EMP", "face"),       # 5.75 on reader 1
        ("door_closed", None, None, None),
    ]
    face = records[6].event
    assert face is not None and face.occurred_at.isoformat() == "2025-06-22T10:37:34-04:00"
    assert face.attrs == {"major": 5, "minor": 75, "serial": 18, "reader": "1",
                          "verify_mode": "cardOrFace", "user_type": "normal"}


def test_the_k1t342_profile_reads_5_23_as_the_door_contact(shared_samples: Path) -> None:
    profile = yaml.safe_load((PROFILES / "hikvision-ds-k1t342.yaml").read_text())
    records = sample_records(shared_samples, **profile["defaults"],
                             codes=profile.get("codes", {}))
    assert profile["defaults"]["code_table"] == "door-contact"
    assert outcome(records[1]) == ("door_opened", None, None, None)
    assert records[1].event is not None and records[1].event.attrs["signal"] == "contact"


def test_xml_heartbeats_and_xml_records() -> None:
    heartbeat = read_part(Part({"content-type": "application/xml"}, (
        b'<?xml version="1.0" encoding="UTF-8"?>\r\n<EventNotificationAlert version="2.0" '
        b'xmlns="http://www.hikvision.com/ver20/XMLSchema"><eventType>videoloss</eventType>'
        b"<eventState>inactive</eventState></EventNotificationAlert>")))
    assert heartbeat == Heartbeat("videoloss")
    record = read_part(Part({}, (
        b"<EventNotificationAlert><dateTime>2026-11-22T08:00:00+08:00</dateTime>"
        b"<eventType>AccessControllerEvent</eventType><AccessControllerEvent>"
        b"<majorEventType>5</majorEventType><subEventType>75</subEventType>"
        b"<serialNo>9</serialNo><currentEvent>true</currentEvent>"
        b"<employeeNoString>r-1</employeeNoString></AccessControllerEvent>"
        b"</EventNotificationAlert>")))
    assert isinstance(record, AcsRecord)
    assert (record.major, record.minor, record.serial, record.live) == (5, 75, 9, True)
    assert record.time == "2026-11-22T08:00:00+08:00"


@pytest.mark.parametrize(("part", "reason"), [
    (Part({"content-type": "application/json"}, b'{"a": "\xff"}'), "not UTF-8"),
    (Part({"content-type": "application/json"}, b'{"a": '), "not valid JSON"),
    (Part({"content-type": "application/json"}, b"[1, 2]"), "expected a JSON object"),
    (Part({}, b'{"eventType": "AccessControllerEvent"}'), "without its object"),
    (Part({}, b'{"AccessControllerEvent": {"subEventType": 75}}'), "majorEventType"),
    (Part({}, b'{"AccessControllerEvent": {"majorEventType": "five", "subEventType": 1}}'),
     "must be a number"),
    (Part({"content-type": "application/xml"}, b"<a><b></a>"), "not well-formed"),
    (Part({}, b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'), "document type declaration"),
    (Part({"content-type": "text/html"}, b"hello"), "unexpected part of type text/html"),
    (Part({"content-type": "application/json"}, b""), "empty"),
    (Part({}, b"{}"), "neither an event notification"),
])
def test_broken_parts_say_why(part: Part, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        read_part(part)


def test_pictures_are_dropped_unread() -> None:
    assert read_part(Part({"content-type": "image/jpeg"}, b"\xff\xd8" * 10)) == Picture(20)


def test_push_bodies_multipart_or_bare() -> None:
    body = (b"--x\r\nContent-Disposition: form-data; name=\"event_log\"\r\n\r\n"
            b'{"dateTime": "2026-11-22T08:00:00+08:00", "eventType": "AccessControllerEvent",'
            b' "AccessControllerEvent": {"majorEventType": 5, "subEventType": 1}}\r\n'
            b"--x\r\nContent-Disposition: form-data; name=\"Picture\"; filename=\"p.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n--x--\r\n")
    parts = push_parts("multipart/form-data; boundary=x", body, 4096)
    assert [type(read_part(p)) for p in parts if isinstance(p, Part)] == [AcsRecord, Picture]
    (bare,) = push_parts("application/json", b'  {"eventType": "heartBeat"}  ', 4096)
    assert isinstance(bare, Part) and read_part(bare) == Heartbeat("heartBeat")


def test_search_answers() -> None:
    page = read_search_page(b'{"AcsEvent": {"searchID": "1", "responseStatusStrg": "MORE", '
                            b'"numOfMatches": 1, "totalMatches": 3, "InfoList": '
                            b'[{"major": 5, "minor": 75, "time": "2026-11-22T08:00:00+08:00"}]}}')
    assert (page.status, len(page.items), page.total) == ("MORE", 1, 3)
    empty = read_search_page(b'{"AcsEvent": {"responseStatusStrg": "NO MATCH"}}')
    assert empty.items == []
    for body, reason in ((b'{"statusCode": 4, "statusString": "Invalid Operation", '
                          b'"subStatusCode": "notSupport"}', "refused the search"),
                         (b'{"AcsEvent": {"responseStatusStrg": "MAYBE"}}', "MAYBE"),
                         (b'{"AcsEvent": {"responseStatusStrg": "OK", "InfoList": [1]}}',
                          "not a list of objects")):
        with pytest.raises(BadPayload, match=reason):
            read_search_page(body)


def test_bodies_are_complete_when_their_json_or_xml_closes() -> None:
    json_part = {"content-type": "application/json"}
    assert body_complete(json_part, b'{"a": {"b": 1}}')
    assert not body_complete(json_part, b'{"a": {"b": 1}')
    assert not body_complete(json_part, b'{"a": {"b": 1}}}')
    assert body_complete({}, b'<?xml version="1.0"?><Alert><x/></Alert>')
    assert not body_complete({}, b"<Alert><x></x>")
    assert not body_complete({"content-type": "image/jpeg"}, b"{}")
