"""Bounded fuzzing of the terminal parsers: whatever a device (or anyone on its network)
sends, they answer with parts, records or a ``BadPayload`` — never another exception —
and well-formed streams come out the same however the network cuts them.

Derandomized, so CI sees the same examples every run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.dahua.config import DahuaSource
from edge.dahua.mapping import map_event, record_as_event
from edge.dahua.parse import DahuaEvent, read_body, read_records
from edge.dahua.parse import body_complete as dahua_complete
from edge.hikvision.config import HikvisionSource
from edge.hikvision.mapping import map_record
from edge.hikvision.parse import AcsRecord, body_complete, read_part, read_search_page
from edge.vendors.multipart import BadPart, MultipartReader, Part
from edge.vendors.payload import BadPayload
from edge.vendors.records import TerminalRecord

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
HIK = HikvisionSource(device="d1", host="h", readers={"1": "in"})
DAHUA = DahuaSource(device="d1", host="h", readers={"1": "in"})
RECEIVED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
field_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**33), st.text(max_size=30),
                         st.sampled_from(["2026-11-22T08:00:00+08:00", "2026-11-22T08:00:00",
                                          "1790000000", "Entry", "Exit", "Open", "checkIn"]),
                         st.lists(st.integers(), max_size=2))
hik_fields = st.fixed_dictionaries({}, optional={
    key: field_values for key in ("majorEventType", "subEventType", "serialNo", "currentEvent",
                                  "employeeNoString", "cardReaderNo", "attendanceStatus",
                                  "cardNo", "doorNo", "dateTime")})
dahua_fields = st.fixed_dictionaries({}, optional={
    key: field_values for key in ("RecNo", "UTC", "CreateTime", "LocaleTime", "Status",
                                  "Method", "Type", "UserID", "ReaderID", "ErrorCode", "CardNo")})


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(0, 4000), max_size=12),
       st.sampled_from([b"bd", b"MIME_boundary", b"myboundary"]))
def test_multipart_survives_any_bytes(data: bytes, cuts: list[int], boundary: bytes) -> None:
    reader = MultipartReader(boundary, max_part_bytes=1024, max_header_bytes=256,
                             complete=body_complete)
    out: list[Part | BadPart] = []
    for piece in chunked(b"--" + boundary + b"\r\n" + data, cuts):
        out += reader.feed(piece)
    out += reader.finish()
    assert all(isinstance(item, Part | BadPart) for item in out)
    assert all(len(item.body) <= 1024 for item in out if isinstance(item, Part))


bodies = st.text(st.characters(blacklist_characters="-\r\n", blacklist_categories=["Cs"]),
                 min_size=1, max_size=200).map(lambda t: t.strip()).filter(bool)
headers = st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
                          st.from_regex(r"[ -~]{0,30}", fullmatch=True).map(str.strip),
                          max_size=3)


@FUZZ
@given(st.lists(st.tuples(headers, bodies), min_size=1, max_size=6),
       st.lists(st.integers(0, 5000), max_size=15), st.booleans())
def test_well_formed_streams_come_out_whole_however_they_are_cut(
        parts: list[tuple[dict[str, str], str]], cuts: list[int], crlf: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    stream = "".join("--bd" + eol + "".join(f"{k}: {v}{eol}" for k, v in head.items()) + eol
                     + body + eol for head, body in parts) + "--bd--" + eol
    reader = MultipartReader("bd")
    out: list[Part | BadPart] = []
    for piece in chunked(stream.encode(), cuts):
        out += reader.feed(piece)
    out += reader.finish()
    expected = [Part({k.lower(): v for k, v in head.items()}, body.encode())
                for head, body in parts]
    assert out == expected


@FUZZ
@given(st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=5), min_size=1,
                max_size=4), st.lists(st.integers(0, 3000), max_size=15))
def test_json_parts_handed_over_early_are_the_same_objects(
        objects: list[dict[str, Any]], cuts: list[int]) -> None:
    stream = b"".join(b"--MIME_boundary\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 9999\r\n\r\n"
                      + json.dumps(obj, indent="\t").encode() + b"\r\n" for obj in objects)
    reader = MultipartReader("MIME_boundary", complete=body_complete)
    out: list[Part | BadPart] = []
    for piece in chunked(stream, cuts):
        out += reader.feed(piece)
    out += reader.finish()
    assert [json.loads(item.body) for item in out if isinstance(item, Part)] == objects


@FUZZ
@given(st.binary(max_size=500), st.sampled_from(["application/json", "application/xml", "",
                                                 "image/jpeg", "text/plain"]))
def test_hikvision_parts_of_any_bytes(body: bytes, kind: str) -> None:
    with contextlib.suppress(BadPayload):
        read_part(Part({"content-type": kind} if kind else {}, body))
    with contextlib.suppress(BadPayload):
        read_search_page(body)


@FUZZ
@given(hik_fields, st.one_of(st.none(), field_values), json_values)
def test_hikvision_records_of_any_fields(fields: dict[str, Any], time: Any,
                                         extra: Any) -> None:
    envelope = {"dateTime": time, "eventType": "AccessControllerEvent",
                "AccessControllerEvent": {**fields, "extra": extra}}
    try:
        notice = read_part(Part({}, json.dumps(envelope).encode()))
        assert isinstance(notice, AcsRecord)
        record = map_record(notice, HIK, community="c", building="b", where="t")
    except BadPayload:
        return
    assert isinstance(record, TerminalRecord)
    assert (record.event is None) or record.event.device == "d1"


@FUZZ
@given(st.binary(max_size=500))
def test_dahua_bodies_of_any_bytes(body: bytes) -> None:
    for parse in (read_body, read_records):
        with contextlib.suppress(BadPayload):
            parse(body)
    assert isinstance(dahua_complete({}, body), bool)


@FUZZ
@given(st.sampled_from(["AccessControl", "DoorStatus", "BreakIn", "DoorNotClosed", "Weird"]),
       st.sampled_from(["Pulse", "Start", "Stop", ""]), st.integers(0, 8), dahua_fields)
def test_dahua_events_of_any_fields(code: str, action: str, index: int,
                                    data: dict[str, Any]) -> None:
    body = f"Code={code};action={action};index={index};data={json.dumps(data)}"
    try:
        (event,) = read_body(body.encode())
        records = [map_event(event, DAHUA, community="c", building="b", where="t",
                             received_at=RECEIVED)]
        row = {key: str(value) for key, value in data.items()}
        records.append(map_event(record_as_event(row), DAHUA, community="c", building="b",
                                 where="t", received_at=RECEIVED))
    except BadPayload:
        return
    assert all(isinstance(record, TerminalRecord) for record in records)


def test_dahua_event_type_is_what_the_fuzzer_builds() -> None:
    (event,) = read_body(b'Code=BreakIn;action=Start;index=2;data={"UTC": 1}')
    assert event == DahuaEvent("BreakIn", "Start", 2, {"UTC": 1})
