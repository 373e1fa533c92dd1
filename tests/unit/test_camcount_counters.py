"""Cumulative counters of counting cameras turned into deltas: resets, duplicates, stale
re-sends, caps, and ids that stay the same when the same reports are read again."""

from __future__ import annotations

import datetime as dt

from edge.camcount.counters import CounterTracker, Reading, Verdict
from edge.camcount.dahua import read_summary, summary_complete
from edge.camcount.hikvision import read_counting
from edge.vendors.multipart import Part

T0 = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def feed(tracker: CounterTracker, *reports: tuple[int, int, int]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for seconds, entered, exited in reports:
        _, deltas = tracker.observe(Reading("ch1", at(seconds), entered, exited))
        out += [(d.direction, d.count) for d in deltas]
    return out


def test_first_report_is_the_base_and_later_ones_count_their_difference() -> None:
    tracker = CounterTracker(max_delta=50)
    assert tracker.observe(Reading("ch1", at(0), 70, 75)) == (Verdict.BASELINE, [])
    assert feed(tracker, (1, 71, 75), (2, 71, 77), (3, 74, 78)) == [
        ("in", 1), ("out", 2), ("in", 3), ("out", 1)]


def test_duplicates_and_stale_resends_count_nothing() -> None:
    tracker = CounterTracker(max_delta=50)
    feed(tracker, (0, 10, 10), (5, 12, 11))
    assert tracker.observe(Reading("ch1", at(5), 12, 11))[0] is Verdict.UNCHANGED
    assert tracker.observe(Reading("ch1", at(3), 11, 10)) == (Verdict.STALE, [])
    assert tracker.streams["ch1"].entered == 12


def test_a_reset_counts_from_zero_in_a_new_epoch_never_negative() -> None:
    tracker = CounterTracker(max_delta=50)
    feed(tracker, (0, 120, 118))
    verdict, deltas = tracker.observe(Reading("ch1", at(60), 2, 0))
    assert verdict is Verdict.RESET
    assert [(d.direction, d.count, d.before, d.after) for d in deltas] == [("in", 2, 0, 2)]
    assert deltas[0].epoch == int(at(60).timestamp())
    assert feed(tracker, (61, 3, 1)) == [("in", 1), ("out", 1)]


def test_a_jump_past_the_cap_is_no_event_and_becomes_the_base() -> None:
    tracker = CounterTracker(max_delta=50)
    feed(tracker, (0, 10, 10))
    assert tracker.observe(Reading("ch1", at(1), 5000, 10)) == (Verdict.JUMP, [])
    assert feed(tracker, (2, 5001, 10)) == [("in", 1)]


def test_ids_are_the_same_when_the_same_reports_are_read_again_from_the_checkpoint() -> None:
    first = CounterTracker(max_delta=50)
    feed(first, (0, 10, 10))
    saved = first.to_text()
    _, deltas_a = first.observe(Reading("ch1", at(5), 13, 11))
    replay = CounterTracker.from_text(saved, max_delta=50)
    _, deltas_b = replay.observe(Reading("ch1", at(5), 13, 11))
    assert [d.record for d in deltas_a] == [d.record for d in deltas_b]
    assert len({d.record for d in deltas_a}) == 2
    # once stored after the events, reading the same report again adds nothing
    after = CounterTracker.from_text(first.to_text(), max_delta=50)
    assert after.observe(Reading("ch1", at(5), 13, 11)) == (Verdict.UNCHANGED, [])


def test_a_new_epoch_never_reuses_an_old_ones_ids() -> None:
    tracker = CounterTracker(max_delta=50)
    feed(tracker, (0, 0, 0))
    _, day1 = tracker.observe(Reading("ch1", at(10), 1, 0))
    tracker.observe(Reading("ch1", at(20), 0, 0))  # midnight
    _, day2 = tracker.observe(Reading("ch1", at(30), 1, 0))
    assert day1[0].record != day2[0].record


def test_an_unreadable_checkpoint_starts_over_from_the_next_report() -> None:
    tracker = CounterTracker.from_text("{not json", max_delta=50)
    assert tracker.observe(Reading("ch1", at(0), 5, 5))[0] is Verdict.BASELINE


HIK = b"""<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="1.0" xmlns="urn:psialliance-org">
<channelID>1</channelID><dateTime>2026-08-12T11:50:47-5:00</dateTime>
<eventType>PeopleCounting</eventType><eventState>active</eventState>
<peopleCounting><statisticalMethods>realTime</statisticalMethods>
<RealTime><time>2026-08-12T11:50:47-5:00</time></RealTime>
<enter>17</enter><exit>15</exit><regionsID>1</regionsID></peopleCounting>
</EventNotificationAlert>"""


def test_hikvision_real_time_and_window_reports_are_read() -> None:
    zone = dt.UTC
    reading = read_counting(Part({"content-type": "application/xml"}, HIK), zone)
    assert isinstance(reading, Reading)
    assert (reading.stream, reading.entered, reading.exited) == ("ch1/region1", 17, 15)
    assert reading.at == dt.datetime(2026, 8, 12, 16, 50, 47, tzinfo=dt.UTC)
    window = HIK.replace(b"realTime</statisticalMethods>", b"timeRange</statisticalMethods>"
                         ).replace(b"<RealTime><time>2026-08-12T11:50:47-5:00</time></RealTime>",
                                   b"<TimeRange><startTime>2026-08-12T11:35:00-05:00</startTime>"
                                   b"<endTime>2026-08-12T11:50:00-05:00</endTime></TimeRange>")
    found = read_counting(Part({"content-type": "application/xml"}, window), zone)
    assert not isinstance(found, (Reading, str))
    assert (found.entered, found.exited) == (17, 15)
    beat = b"<EventNotificationAlert><eventType>videoloss</eventType></EventNotificationAlert>"
    assert read_counting(Part({"content-type": "application/xml"}, beat), zone) == "videoloss"


def test_dahua_summary_is_read_and_its_completeness_follows_its_length() -> None:
    body = (b"summary.Channel=0\r\nsummary.RuleName=NumberStat\r\n"
            b"summary.EnteredSubtotal.Total=1208\r\nsummary.ExitedSubtotal.Total=1190\r\n"
            b"summary.UTC=1615580510")
    values = read_summary(body)
    assert values is not None and values["EnteredSubtotal.Total"] == "1208"
    assert read_summary(b"Heartbeat") is None
    assert summary_complete({"content-length": str(len(body) + 2)}, body)
    assert not summary_complete({"content-length": str(len(body) + 2)}, body[:-2])
    assert not summary_complete({}, body)


def test_a_report_from_before_the_epoch_is_stale_even_with_higher_totals() -> None:
    tracker = CounterTracker(max_delta=50)
    feed(tracker, (0, 10, 10), (60, 14, 12))
    assert tracker.observe(Reading("ch1", at(120), 1, 0))[0] is Verdict.RESET  # midnight
    # the camera re-sends the evening's last report after a reconnect: the old epoch's totals
    assert tracker.observe(Reading("ch1", at(60), 14, 12)) == (Verdict.STALE, [])
    assert feed(tracker, (130, 2, 0)) == [("in", 1)]
