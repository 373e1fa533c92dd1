"""Door-log lines (JSON lines and CSV) → contract events, and every kind of bad line."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from edge.config import LogSource
from edge.door.mapping import EVENT_ALIASES, map_record
from edge.door.records import BadLine, Record, RecordReader
from edge.door.tail import Line
from linli.contract import Event, parse_event

FILE = (1, 2)


def source(**changes: Any) -> LogSource:
    values: dict[str, Any] = {"device": "b01-u1-door", "path": "/tmp/door.jsonl",
                              "readers": {"1": "in", "2": "out"}}
    values.update(changes)
    return LogSource.model_validate(values)


def to_event(record: Record | None, src: LogSource | None = None) -> Event:
    assert record is not None
    return map_record(record, src or source(), community="juxin", building="b01")


def parse_json(text: str) -> Record | None:
    return RecordReader("jsonl").parse(Line(1, text.encode()), FILE, lambda: None)


SAMPLE = {"time": "2026-11-22T08:01:02.123+08:00", "device": "b01-u1-door",
          "event": "passage", "person": "r-0001", "direction": "in", "credential": "face",
          "reader": 1, "seq": 1234}


def test_json_record_becomes_a_valid_event_on_its_topic() -> None:
    event = to_event(parse_json(json.dumps(SAMPLE)))
    assert parse_event(event.topic, event.to_json()) == event
    assert event.topic == "linli/v1/juxin/b01/b01-u1-door/events"
    assert (event.kind, event.direction, event.person_id, event.credential) == (
        "passage", "in", "r-0001", "face")
    assert event.occurred_at == dt.datetime(2026, 11, 22, 0, 1, 2, 123000, tzinfo=dt.UTC)
    assert (event.source, event.confidence, event.count) == ("door", 1.0, 1)
    assert event.attrs == {"reader": 1, "seq": 1234}


def test_each_record_gets_its_own_event_id() -> None:
    record = parse_json(json.dumps(SAMPLE))
    assert to_event(record).event_id != to_event(record).event_id


@pytest.mark.parametrize(("alias", "kind"), sorted(EVENT_ALIASES.items()))
def test_aliases_map_onto_our_kinds(alias: str, kind: str) -> None:
    assert to_event({"time": SAMPLE["time"], "event": alias.upper()}).kind == kind


def test_reader_gives_the_direction_when_none_is_written() -> None:
    base = {"time": SAMPLE["time"], "event": "granted"}
    assert to_event({**base, "reader": 2}).direction == "out"
    assert to_event({**base, "reader": "1"}).direction == "in"
    assert to_event({**base, "reader": 9}).direction is None
    assert to_event({**base, "reader": 2, "direction": "in"}).direction == "in"


def test_naive_time_is_in_the_source_time_zone_and_device_defaults() -> None:
    record = {"time": "2026-11-22 08:00:00", "event": "door_opened"}
    event = to_event(record, source(timezone="Europe/Berlin"))
    assert event.occurred_at.utcoffset() == dt.timedelta(hours=1)
    assert event.device == "b01-u1-door"
    assert event.direction is None and event.person_id is None and event.attrs == {}


def test_renamed_columns_are_read_under_our_names() -> None:
    src = source(fields={"person": "user_id", "event": "type"})
    event = to_event({"time": SAMPLE["time"], "type": "denied", "user_id": "r-7"}, src)
    assert (event.kind, event.person_id) == ("access_denied", "r-7")


def test_csv_rows_match_the_json_form() -> None:
    reader = RecordReader("csv")
    header = "time,device,event,person,direction,credential,reader,seq"
    row = '2026-11-22T08:01:02.123+08:00,b01-u1-door,passage,r-0001,,"face",1,1234'
    assert reader.parse(Line(1, header.encode()), FILE, lambda: None) is None
    from_csv = to_event(reader.parse(Line(2, row.encode()), FILE, lambda: None))
    from_json = to_event(parse_json(json.dumps(SAMPLE)))
    assert from_csv.model_dump(exclude={"event_id"}) == from_json.model_dump(
        exclude={"event_id"})


def test_csv_resumed_past_its_header_reads_the_header_from_the_file() -> None:
    reader = RecordReader("csv")
    record = reader.parse(Line(7, b"2026-11-22T08:00:00,button"), FILE,
                          lambda: b"\xef\xbb\xbftime,event")
    assert to_event(record).kind == "exit_button"
    # a repeated header row (writer restarted) carries no record
    assert reader.parse(Line(8, b"time,event"), FILE, lambda: None) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'["passage"]', "not a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"time": "2026-11-22T08:00:00", "event": "teleport"}', "unknown event"),
        (b'{"time": "yesterday", "event": "passage"}', "bad time"),
        (b'{"time": 1700000000, "event": "passage"}', "bad time"),
        (b'{"event": "passage"}', "no time"),
        (b'{"time": "2026-11-22T08:00:00"}', "no event"),
        (b'{"time": "2026-11-22T08:00:00", "event": "passage", "direction": "up"}',
         "direction"),
        (b'{"time": "2026-11-22T08:00:00", "event": "passage", "device": "Door_1"}',
         "device"),
        (b'{"time": "2026-11-22T08:00:00", "event": "passage", "credential": "iris"}',
         "credential"),
        (b'{"time": "2026-11-22T08:00:00", "event": "passage", "blob": "' + b"x" * 3000
         + b'"}', "attrs"),
        (b'{"time": "2026-11-22T08:00:00", "event": "passage", "person": {"id": 1}}',
         "person must be text"),
    ],
)
def test_bad_json_lines_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(BadLine, match=reason):
        to_event(RecordReader("jsonl").parse(Line(3, line), FILE, lambda: None))


def test_contract_failures_are_reported_as_such() -> None:
    with pytest.raises(BadLine, match="breaks the event contract"):
        to_event({"time": SAMPLE["time"], "event": "passage", "direction": "up"})


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"2026-11-22T08:00:00,passage,extra", "expected 2 CSV columns, got 3"),
        (b"2026-11-22T08:00:00", "expected 2 CSV columns, got 1"),
        (b'"2026-11-22T08:00:00,passage', "not a CSV row"),
    ],
)
def test_bad_csv_lines_say_why(line: bytes, reason: str) -> None:
    reader = RecordReader("csv")
    reader.parse(Line(1, b"time,event"), FILE, lambda: None)
    with pytest.raises(BadLine, match=reason):
        reader.parse(Line(2, line), FILE, lambda: None)


def test_csv_without_a_header_row_is_rejected() -> None:
    with pytest.raises(BadLine, match="no header"):
        RecordReader("csv").parse(Line(2, b"a,b"), FILE, lambda: None)


def test_blank_lines_carry_no_record() -> None:
    assert RecordReader("jsonl").parse(Line(1, b"   "), FILE, lambda: None) is None
