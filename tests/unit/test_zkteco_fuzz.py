"""Bounded fuzzing of the ZKTeco parsers: whatever bytes arrive, each parser either returns
something usable or raises its own error (never anything else), and what it returns maps
to a valid contract event or is refused with a reason."""

from __future__ import annotations

import contextlib
import datetime as dt
import struct

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edge.zkteco.config import ZktecoPushSource
from edge.zkteco.layouts import LOG_RECORD, parse_alarm, parse_attlog_buffer, parse_live_punch
from edge.zkteco.mapping import Mapper
from edge.zkteco.protocol import FrameReader, Packet, encode
from edge.zkteco.pushtext import body_lines, decode_line, parse_attlog, parse_operlog
from edge.zkteco.records import BadRecord, FramingError, Operation, Punch
from linli.contract import Event, new_event_id, parse_event

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
MAPPER = Mapper(ZktecoPushSource(device="b01-u1-door", serial="CKJ001", direction="in",
                                 person_format="r-{pin}"), community="juxin", building="b01")
NOW = dt.datetime(2026, 11, 22, 0, 1, 2, tzinfo=dt.UTC)


def check_event(event: Event | None) -> None:
    if event is not None:
        assert parse_event(event.topic, event.to_json()) == event


def map_punch(punch: Punch) -> None:
    with contextlib.suppress(BadRecord):
        check_event(MAPPER.punch(punch, record=f"{punch.pin}/{punch.time}", drift_s=100.0))


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=8))
@example([encode(500, 1, 0, b"\x01" * 32)[:11], b"\x00" * 40])
@example([b"\x50\x50\x82\x7d\xff\xff\xff\x7f"])
def test_frame_reader(chunks: list[bytes]) -> None:
    reader = FrameReader()
    try:
        for chunk in chunks:
            reader.feed(chunk)
            while (packet := reader.next_packet()) is not None:
                assert isinstance(packet, Packet)
    except FramingError:
        pass


@FUZZ
@given(st.one_of(st.binary(max_size=48),
                 st.tuples(st.binary(min_size=24, max_size=24), st.integers(0, 255),
                           st.integers(0, 255), st.binary(min_size=6, max_size=6))
                 .map(lambda t: struct.pack("<24sBB6s", *t)),
                 st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 255),
                           st.integers(0, 255), st.tuples(*[st.integers(0, 60)] * 6))
                 .map(lambda t: struct.pack("<IBB6s", t[0], t[1], t[2], bytes(t[3])))))
def test_live_punches(data: bytes) -> None:
    try:
        punch = parse_live_punch(data)
    except BadRecord:
        return
    map_punch(punch)


@FUZZ
@given(st.binary(max_size=16))
@example(b"\x37\0\0\0")
@example(b"\xff\xff\xff\xff\x22\x00\x05\x00\x00\x00\x00\x00")
def test_alarms(data: bytes) -> None:
    with contextlib.suppress(BadRecord):
        check_event(MAPPER.alarm(parse_alarm(data, NOW), event_id=new_event_id()))


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.lists(st.binary(min_size=LOG_RECORD.size, max_size=LOG_RECORD.size),
                          max_size=5)
                 .map(lambda records: struct.pack("<I", 40 * len(records)) + b"".join(records))))
def test_attendance_logs(buffer: bytes) -> None:
    try:
        entries = parse_attlog_buffer(buffer)
    except BadRecord:
        return
    assert len(entries) == (len(buffer) - 4) // LOG_RECORD.size
    for _, raw, entry in entries:
        assert len(raw) == LOG_RECORD.size
        if isinstance(entry, Punch):
            map_punch(entry)
        else:
            assert entry


TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@FUZZ
@given(st.one_of(
    st.binary(max_size=300),
    st.lists(st.tuples(TEXT, st.sampled_from(["2026-11-22 08:01:02", "2026-02-30 08:00:00",
                                              "x"]), TEXT, TEXT), max_size=4)
    .map(lambda rows: "\n".join("\t".join(row) for row in rows).encode()),
    st.lists(st.tuples(st.sampled_from(["OPLOG 3", "OPLOG 32", "OPLOG ", "USER PIN=", "FP"]),
                       TEXT, st.just("2026-11-22 08:01:02"), TEXT), max_size=4)
    .map(lambda rows: "\r\n".join("\t".join(row) for row in rows).encode("gbk", "replace"))))
@example(b"7\t2026-11-22 08:01:02\t0\t15\t0\n\xff\xfe\t\n" + b"9" * 5000)
def test_push_bodies(body: bytes) -> None:
    for _, raw in body_lines(body):
        for parse in (parse_attlog, parse_operlog):
            try:
                record = parse(decode_line(raw))
            except BadRecord:
                continue
            if isinstance(record, Punch):
                map_punch(record)
            elif isinstance(record, Operation):
                with contextlib.suppress(BadRecord):
                    check_event(MAPPER.operation(record, record="o"))
