"""A Hikvision camera's hourly counting statistics read back into running totals after an
outage: the real ``CountingStatisticsResult`` answer, the closed hours after the last
report only, a midnight inside the outage, and a camera whose statistics disagree with its
counter (nothing caught up rather than anyone counted twice)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from edge.camcount.counters import CounterTracker, Reading, StreamState, Verdict
from edge.camcount.statistics import (
    MAX_DAYS,
    Slot,
    catch_up_readings,
    catch_up_windows,
    read_statistics,
    search_body,
    search_days,
)
from edge.vendors.payload import BadPayload

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 3)

# As a DS-2CD6825G0 answers (two slots of the day shown)
ANSWER = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CountingStatisticsResult xmlns="http://www.hikvision.com/ver20/XMLSchema" version="2.0">
<responseStatus>OK</responseStatus>
<responseStatusStrg>OK</responseStatusStrg>
<matchList>
<matchElement>
<timeSpan>
<startTime>2026-12-03T00:00:00</startTime>
<endTime>2026-12-03T00:59:59</endTime>
</timeSpan>
<enterCount>3</enterCount>
<exitCount>0</exitCount>
</matchElement>
<matchElement>
<timeSpan>
<startTime>2026-12-03T01:00:00</startTime>
<endTime>2026-12-03T01:59:59</endTime>
</timeSpan>
<enterCount>0</enterCount>
<exitCount>2</exitCount>
</matchElement>
</matchList>
</CountingStatisticsResult>
"""


def local(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=ZONE)


def hours(day: dt.date, counts: dict[int, tuple[int, int]]) -> list[Slot]:
    """A whole day of hourly slots, ``counts`` by hour."""
    return [Slot(local(day, h), local(day, h, 59, 59), *counts.get(h, (0, 0)))
            for h in range(24)]


def test_the_real_answer_is_read_into_slots_in_the_camera_zone() -> None:
    slots = read_statistics(ANSWER, ZONE)
    assert slots == [Slot(local(DAY, 0), local(DAY, 0, 59, 59), 3, 0),
                     Slot(local(DAY, 1), local(DAY, 1, 59, 59), 0, 2)]
    body = search_body(DAY).decode()
    assert "<reportType>daily</reportType>" in body
    assert "<startTime>2026-12-03T00:00:00</startTime>" in body
    assert "<endTime>2026-12-03T23:59:59</endTime>" in body


@pytest.mark.parametrize("body", [
    b"<ResponseStatus><statusCode>4</statusCode></ResponseStatus>",
    b"<CountingStatisticsResult><responseStatusStrg>FAILED</responseStatusStrg>"
    b"</CountingStatisticsResult>",
    ANSWER.replace(b"<enterCount>3</enterCount>", b"<enterCount>-3</enterCount>"),
    ANSWER.replace(b"<enterCount>3</enterCount>", b""),
    ANSWER.replace(b"T00:59:59", b"yesterday"),
    b'<!DOCTYPE x [<!ENTITY a "b">]><CountingStatisticsResult/>',
    b"<CountingStatisticsResult><matchList>",
])
def test_anything_else_is_a_bad_payload(body: bytes) -> None:
    with pytest.raises(BadPayload):
        read_statistics(body, ZONE)


def test_only_closed_hours_after_the_last_report_become_readings() -> None:
    # seen live: 4 in, 1 out by 10:40; then the agent was away until 14:20
    state = StreamState(epoch=1, entered=4, exited=1, at=local(DAY, 10, 40))
    slots = hours(DAY, {9: (2, 0), 10: (3, 1), 11: (0, 2), 13: (5, 0), 14: (1, 1)})
    readings, reason = catch_up_readings("ch1", state, slots, local(DAY, 14, 20), ZONE,
                                         {"channel": 1})
    assert reason is None
    assert [(r.at.astimezone(ZONE).hour, r.entered, r.exited) for r in readings] == [
        (10, 5, 1), (11, 5, 3), (12, 5, 3), (13, 10, 3)]
    assert all(r.attrs["caught_up"] and r.attrs["channel"] == 1 for r in readings)

    tracker = CounterTracker(200, {"ch1": state})
    counted = [(d.direction, d.count, d.at.astimezone(ZONE).hour)
               for r in readings for d in tracker.observe(r)[1]]
    # the hour of the last report adds only what its end total exceeds the stored total by
    assert counted == [("in", 1, 10), ("out", 2, 11), ("in", 5, 13)]
    # the hour still open is the live stream's: its next report counts on from here
    verdict, deltas = tracker.observe(_reading(local(DAY, 14, 25), 11, 4))
    assert verdict is Verdict.COUNTED and [(d.direction, d.count) for d in deltas] == [
        ("in", 1), ("out", 1)]
    # a report re-sent from the outage adds nothing
    assert tracker.observe(_reading(local(DAY, 12, 10), 5, 3))[0] is Verdict.STALE


def test_the_same_slots_read_twice_give_the_same_ids_and_nothing_twice() -> None:
    state = StreamState(epoch=1, entered=4, exited=1, at=local(DAY, 10, 40))
    slots = hours(DAY, {10: (4, 1), 12: (2, 2)})
    now = local(DAY, 15, 5)
    first = CounterTracker(200, {"ch1": state})
    records = [d.record for r in catch_up_readings("ch1", state, slots, now, ZONE, {})[0]
               for d in first.observe(r)[1]]
    again = CounterTracker(200, {"ch1": state})  # a restart before the spool committed
    assert [d.record for r in catch_up_readings("ch1", state, slots, now, ZONE, {})[0]
            for d in again.observe(r)[1]] == records
    later = first.streams["ch1"]  # a second reconnect after the first catch-up
    assert [d for r in catch_up_readings("ch1", later, slots, now, ZONE, {})[0]
            for d in first.observe(r)[1]] == []


def test_a_midnight_inside_the_outage_opens_a_new_epoch_as_the_counter_did() -> None:
    state = StreamState(epoch=1, entered=7, exited=6, at=local(DAY, 22, 10))
    nxt = DAY + dt.timedelta(days=1)
    slots = hours(DAY, {22: (7, 6), 23: (2, 0)}) + hours(nxt, {0: (1, 0), 7: (3, 2)})
    readings, reason = catch_up_readings("ch1", state, slots, local(nxt, 8, 30), ZONE, {})
    assert reason is None
    tracker = CounterTracker(200, {"ch1": state})
    verdicts = [tracker.observe(r) for r in readings]
    counted = [(d.direction, d.count) for _, deltas in verdicts for d in deltas]
    assert counted == [("in", 2), ("in", 1), ("in", 3), ("out", 2)]
    assert [v for v, _ in verdicts].count(Verdict.RESET) == 1
    # today's live counter goes on from today's caught-up totals
    verdict, deltas = tracker.observe(_reading(local(nxt, 8, 40), 5, 2))
    assert verdict is Verdict.COUNTED and [(d.direction, d.count) for d in deltas] == [("in", 1)]


@pytest.mark.parametrize("counts", [
    {9: (30, 20), 10: (4, 1)},   # cleared by hand at 10:00: earlier hours exceed the counter
    {10: (2, 1)},                # the statistics hold less than the counter reported
    {},                          # statistics switched off
])
def test_statistics_that_disagree_with_the_counter_catch_up_nothing(
        counts: dict[int, tuple[int, int]]) -> None:
    state = StreamState(epoch=1, entered=4, exited=1, at=local(DAY, 10, 40))
    readings, reason = catch_up_readings("ch1", state, hours(DAY, counts),
                                         local(DAY, 14, 0), ZONE, {})
    assert readings == [] and reason is not None and "do not match" in reason


def test_days_searched_run_from_the_last_report_to_today_and_no_further_back() -> None:
    assert search_days(local(DAY, 23, 0), local(DAY + dt.timedelta(days=1), 0, 30), ZONE) == [
        DAY, DAY + dt.timedelta(days=1)]
    # UTC evening is the next morning in the camera's zone
    assert search_days(dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.UTC),
                       local(DAY, 9, 0), ZONE) == [DAY]
    many = search_days(local(DAY, 9, 0), local(DAY + dt.timedelta(days=30), 9, 0), ZONE)
    assert len(many) == MAX_DAYS and many[-1] == DAY + dt.timedelta(days=30)
    assert search_days(local(DAY, 9, 0), local(DAY - dt.timedelta(days=1), 9, 0), ZONE) == []


def _reading(at: dt.datetime, entered: int, exited: int) -> Reading:
    return Reading("ch1", at.astimezone(dt.UTC), entered, exited)


def test_windows_are_caught_up_beyond_what_the_windows_counted_in_their_hour() -> None:
    # windows 09:00–09:15 and 09:15–09:30 counted 3 in, 1 out; then the agent was away
    tracker = CounterTracker(200)
    assert tracker.observe_window("ch1", local(DAY, 9), local(DAY, 9, 15), 2, 1, local(DAY, 9))
    assert tracker.observe_window("ch1", local(DAY, 9, 15), local(DAY, 9, 30), 1, 0,
                                  local(DAY, 9))
    mark = tracker.windows["ch1"]
    assert (mark.until, mark.entered, mark.exited) == (local(DAY, 9, 30), 3, 1)
    slots = hours(DAY, {8: (5, 5), 9: (7, 1), 11: (0, 2), 14: (9, 9)})
    windows, reason = catch_up_windows("ch1", mark, slots, local(DAY, 14, 20), {"channel": 1})
    assert reason is None
    assert [(w.start.astimezone(ZONE).strftime("%H:%M"), w.end.astimezone(ZONE).strftime("%H:%M"),
             w.entered, w.exited) for w in windows] == [("09:30", "10:00", 4, 0),
                                                         ("11:00", "12:00", 0, 2)]
    assert all(w.attrs["caught_up"] for w in windows)
    for window in windows:
        assert tracker.observe_window("ch1", window.start, window.end, window.entered,
                                      window.exited, local(DAY, window.start.astimezone(ZONE).hour))
    # a window the camera re-sends from the outage was caught up already
    assert not tracker.observe_window("ch1", local(DAY, 9, 30), local(DAY, 9, 45), 4, 0,
                                      local(DAY, 9))
    assert not tracker.observe_window("ch1", local(DAY, 11, 45), local(DAY, 12, 0), 0, 2,
                                      local(DAY, 11))
    # the next live window counts; reading the slots again catches nothing up twice
    assert tracker.observe_window("ch1", local(DAY, 14, 0), local(DAY, 14, 15), 1, 0,
                                  local(DAY, 14))
    assert catch_up_windows("ch1", tracker.windows["ch1"], slots, local(DAY, 14, 20), {}) == (
        [], None)
    # and the marks survive the checkpoint
    again = CounterTracker.from_text(tracker.to_text(), 200)
    assert again.windows == tracker.windows


def test_an_hour_holding_fewer_people_than_its_windows_catches_nothing_up() -> None:
    tracker = CounterTracker(200)
    tracker.observe_window("ch1", local(DAY, 9), local(DAY, 9, 30), 5, 1, local(DAY, 9))
    windows, reason = catch_up_windows("ch1", tracker.windows["ch1"],
                                       hours(DAY, {9: (2, 1), 10: (3, 3)}), local(DAY, 12),
                                       {})
    assert windows == [] and reason is not None and "fewer people" in reason
