"""Record keys, checkpoints, the recent-id set, the clock-drift gauge and the careful
payload decoders shared by the terminal adapters."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from edge.vendors.clock import ClockDrift, parse_http_date
from edge.vendors.payload import (
    BadPayload,
    as_int,
    as_text,
    epoch_time,
    load_json,
    parse_device_time,
    utf8,
)
from edge.vendors.records import Checkpoint, RecentIds, record_key

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 22, 8, 0, 0, tzinfo=SHANGHAI)


def test_a_record_key_is_its_number_and_its_utc_second() -> None:
    same_instant = T0.astimezone(dt.UTC)
    assert record_key(7, T0) == record_key(7, same_instant) == f"7@{int(T0.timestamp())}"
    assert record_key(7, T0) != record_key(7, T0 + dt.timedelta(seconds=1))


def test_checkpoints_only_move_forward_and_survive_the_spool() -> None:
    start = Checkpoint()
    later = start.advanced(T0, 5)
    assert later == Checkpoint(T0, 5)
    assert later.advanced(T0 - dt.timedelta(seconds=1), 9) == later
    assert later.advanced(T0, 4) == later
    assert later.advanced(T0, 6) == Checkpoint(T0, 6)
    assert Checkpoint.from_text(later.to_text()) == later
    for broken in (None, "", "{", "[]", '{"at": "yesterday"}', '{"number": 3}'):
        assert Checkpoint.from_text(broken).at is None


def test_recent_ids_forget_the_oldest_first() -> None:
    recent = RecentIds(size=3)
    ids = [uuid.uuid4() for _ in range(4)]
    recent.add(ids[:3])
    recent.add([ids[0]])          # seen again: now the newest
    recent.add([ids[3]])
    assert len(recent) == 3 and ids[1] not in recent and ids[0] in recent and ids[3] in recent


def test_clock_drift_from_dates_and_events() -> None:
    drift = ClockDrift(threshold_s=30)
    assert drift.drift_s is None and drift.notable() is None
    assert drift.observe(T0 + dt.timedelta(seconds=10), T0) == 10
    assert drift.notable() is None
    drift.observe(T0 - dt.timedelta(hours=1), T0)
    assert drift.notable() == -3600
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT")
    assert drift.observe_http_date(ahead) == pytest.approx(300, abs=3)
    assert drift.device_now() - dt.datetime.now(dt.UTC) > dt.timedelta(minutes=4)
    assert drift.observe_http_date("not a date") is None
    assert parse_http_date(None) is None


def test_payload_decoders_say_what_is_wrong() -> None:
    assert as_int("42", "n") == 42 and as_int(7.0, "n") == 7 and as_int("", "n") is None
    for bad in (True, "4x", 1.5, [1], "9" * 30):
        with pytest.raises(BadPayload, match="must be a number"):
            as_int(bad, "n")
    assert as_text(12, "t") == "12" and as_text("  ", "t") is None and as_text(None, "t") is None
    with pytest.raises(BadPayload, match="must be text"):
        as_text({"a": 1}, "t")
    with pytest.raises(BadPayload, match="characters long"):
        as_text("x" * 300, "t")
    assert parse_device_time("2026-11-22T08:00:00", SHANGHAI) == T0
    assert parse_device_time("2026-11-22T00:00:00Z", SHANGHAI) == T0
    for bad_time in (None, 17, "yesterday", "2026-13-40T99:00:00"):
        with pytest.raises(BadPayload):
            parse_device_time(bad_time, SHANGHAI)
    assert epoch_time(int(T0.timestamp())) == T0
    with pytest.raises(BadPayload):
        epoch_time(-5)
    with pytest.raises(BadPayload, match="not UTF-8"):
        utf8(b"ok\xff")
    with pytest.raises(BadPayload, match="nested too deeply"):
        load_json(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(BadPayload, match="not valid JSON"):
        load_json(b"{'single': 'quotes'}")
