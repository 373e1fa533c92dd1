"""The silence model on hand-made histories: what it learns, and when a silence is unusual."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from rules.care.model import (
    EMPTY,
    SLOTS,
    Baseline,
    Finding,
    Params,
    Place,
    Signal,
    SignalKind,
    assess,
    community_prior,
    learn,
    slot_of,
    threshold,
)

TZ = ZoneInfo("Asia/Shanghai")
PARAMS = Params()


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def routine(days: range, *, activity: bool = True) -> list[Signal]:
    """Up at 07:00, busy in the morning, out 09:00–11:00, quiet after lunch, in bed 21:30."""
    signals = []
    for day in days:
        if activity:
            signals += [Signal(at(day, 7), SignalKind.ACTIVITY),
                        Signal(at(day, 8, 30), SignalKind.ACTIVITY)]
        signals += [Signal(at(day, 9), SignalKind.DOOR_OUT), Signal(at(day, 11), SignalKind.DOOR_IN)]
        if activity:
            signals += [Signal(at(day, 12), SignalKind.ACTIVITY),
                        Signal(at(day, 15), SignalKind.ACTIVITY),
                        Signal(at(day, 18), SignalKind.ACTIVITY),
                        Signal(at(day, 21, 30), SignalKind.ACTIVITY)]
    return signals


def test_learning_keeps_the_longest_silence_in_progress_per_slot_and_kind() -> None:
    baseline = learn(routine(range(1, 15)), now=at(15, 0), tz=TZ, params=PARAMS)
    assert baseline.has_activity
    assert 13.5 < baseline.history_days < 14.5
    activity = baseline.longest["activity"]
    # At 06:30 the night's silence (since 21:30) has lasted 9 h.
    assert activity[slot_of(at(15, 6, 30), TZ)] == pytest.approx(9.0)
    # At 14:30 the silence since lunch has lasted 2.5 h.
    assert activity[slot_of(at(15, 14, 30), TZ)] == pytest.approx(2.5)
    # Out 09:00–11:00: at 10:30 the outing has lasted 1.5 h.
    assert baseline.longest["door_out"][slot_of(at(15, 10, 30), TZ)] == pytest.approx(1.5)
    assert baseline.samples["activity"][slot_of(at(15, 14, 30), TZ)] == 14
    assert baseline.longest["door"] == [None] * SLOTS


def test_trips_and_registered_absences_are_not_learned_as_usual() -> None:
    signals = routine(range(1, 8))
    # A three-day trip, then a normal week: the trip's silence would swamp every slot.
    signals += [Signal(at(8, 9), SignalKind.DOOR_OUT), Signal(at(11, 18), SignalKind.DOOR_IN)]
    signals += routine(range(12, 20))
    baseline = learn(signals, now=at(20, 0), tz=TZ, params=PARAMS)
    assert max(v for v in baseline.longest["door_out"] if v is not None) < 3
    # A registered absence is skipped even when it is short.
    signals = [*routine(range(1, 8)), Signal(at(8, 9), SignalKind.DOOR_OUT),
               Signal(at(8, 20), SignalKind.DOOR_IN)]
    away = learn(signals, now=at(9, 0), tz=TZ, params=PARAMS,
                 excluded=[(at(8, 8), at(8, 21))])
    kept = learn(signals, now=at(9, 0), tz=TZ, params=PARAMS)
    assert max(v for v in away.longest["door_out"] if v is not None) < 3
    assert max(v for v in kept.longest["door_out"] if v is not None) > 10


def test_a_new_resident_gets_the_cautious_prior_and_learns_their_own() -> None:
    afternoon = slot_of(at(20, 15), TZ)
    new = threshold(EMPTY, SignalKind.ACTIVITY, afternoon, PARAMS)
    assert new.source == "default" and new.hours >= 6
    settled = learn(routine(range(1, 19)), now=at(19, 0), tz=TZ, params=PARAMS)
    own = threshold(settled, SignalKind.ACTIVITY, afternoon, PARAMS)
    assert own.source == "own"
    # Usual at 15:00: 3 h since lunch, widened by up to 2 h (the 15:00 reading is from 13:00
    # samples + 2 h): at most (3 + 2) × 1.2 + 1.
    assert 3 <= own.hours <= (3 + 2) * 1.2 + 1 + 1e-9
    assert own.hours < new.hours
    partly = learn(routine(range(14, 19)), now=at(19, 0), tz=TZ, params=PARAMS)
    blended = threshold(partly, SignalKind.ACTIVITY, afternoon, PARAMS)
    assert blended.source == "blend" and own.hours <= blended.hours <= new.hours


def test_thresholds_never_pass_the_floor_or_the_backstop() -> None:
    settled = learn(routine(range(1, 19)), now=at(19, 0), tz=TZ, params=PARAMS)
    morning = slot_of(at(19, 8, 45), TZ)
    assert threshold(settled, SignalKind.ACTIVITY, morning, PARAMS).hours >= PARAMS.floor_h
    assert threshold(settled, SignalKind.DOOR_OUT, morning, PARAMS).hours >= PARAMS.out_floor_h
    assert threshold(EMPTY, SignalKind.DOOR, morning, PARAMS).hours <= PARAMS.backstop_h


def test_silence_at_home_is_unusual_only_past_this_persons_threshold() -> None:
    baseline = learn(routine(range(1, 19)), now=at(19, 0), tz=TZ, params=PARAMS)
    last = Signal(at(19, 12), SignalKind.ACTIVITY)
    calm = assess(last, now=at(19, 14), tz=TZ, baseline=baseline, params=PARAMS)
    assert calm.place is Place.HOME and calm.finding is None
    late = assess(last, now=at(19, 19, 30), tz=TZ, baseline=baseline, params=PARAMS)
    assert late.finding is Finding.SILENT_AT_HOME
    assert late.silent_h == pytest.approx(7.5) and late.usual.hours < 7.5


def test_out_is_judged_as_an_outing_and_the_backstop_always_fires() -> None:
    baseline = learn(routine(range(1, 19)), now=at(19, 0), tz=TZ, params=PARAMS)
    out = Signal(at(19, 9), SignalKind.DOOR_OUT)
    assert assess(out, now=at(19, 15), tz=TZ, baseline=baseline,
                  params=PARAMS).finding is None
    # Never out at night before: the cautious prior speaks for those hours (an evening
    # with family is no alarm), and by early morning it is one.
    evening = assess(out, now=at(19, 23), tz=TZ, baseline=baseline, params=PARAMS)
    assert evening.finding is None and evening.usual.source == "default"
    late = assess(out, now=at(20, 3), tz=TZ, baseline=baseline, params=PARAMS)
    assert late.finding is Finding.NOT_BACK and late.place is Place.AWAY
    gone = assess(out, now=at(21, 9), tz=TZ, baseline=baseline, params=PARAMS)
    assert gone.finding is Finding.BACKSTOP


def test_a_door_with_no_direction_is_an_outing_only_in_a_home_with_sensors() -> None:
    door = Signal(at(19, 9), SignalKind.DOOR)
    with_sensors = assess(door, now=at(19, 10), tz=TZ, baseline=EMPTY, params=PARAMS,
                          has_activity=True)
    assert with_sensors.place is Place.OUT
    door_only = assess(door, now=at(19, 10), tz=TZ, baseline=EMPTY, params=PARAMS)
    assert door_only.place is Place.UNKNOWN
    # Only believed out: an unannounced night away is no alarm; a day and more is.
    settled = learn(routine(range(1, 19)), now=at(19, 0), tz=TZ, params=PARAMS)
    night = assess(door, now=at(20, 7), tz=TZ, baseline=settled, params=PARAMS,
                   has_activity=True)
    assert night.finding is None and night.usual.hours == PARAMS.inferred_out_floor_h
    day = assess(door, now=at(20, 9, 30), tz=TZ, baseline=settled, params=PARAMS,
                 has_activity=True)
    assert day.finding is Finding.NOT_BACK and day.place is Place.AWAY


def test_someone_never_seen_is_judged_by_the_backstop_from_registration_only() -> None:
    registered = at(19, 20)
    early = assess(None, now=at(20, 20), tz=TZ, baseline=EMPTY, params=PARAMS,
                   since=registered)
    assert early.finding is None and early.place is Place.UNKNOWN
    late = assess(None, now=at(21, 20), tz=TZ, baseline=EMPTY, params=PARAMS,
                  since=registered)
    assert late.finding is Finding.BACKSTOP


def test_a_visit_counts_as_a_sign_of_life_at_home() -> None:
    visit = Signal(at(19, 10), SignalKind.VISIT)
    judged = assess(visit, now=at(19, 11), tz=TZ, baseline=EMPTY, params=PARAMS)
    assert judged.place is Place.HOME and judged.finding is None


def test_the_community_prior_needs_three_settled_residents() -> None:
    settled = learn(routine(range(1, 19)), now=at(19, 0), tz=TZ, params=PARAMS)
    assert community_prior([settled, settled], PARAMS) is None
    prior = community_prior([settled, settled, settled], PARAMS)
    assert prior is not None
    judged = threshold(EMPTY, SignalKind.ACTIVITY, slot_of(at(19, 15), TZ), PARAMS, prior)
    assert judged.source == "community"
    assert judged.hours < threshold(EMPTY, SignalKind.ACTIVITY, slot_of(at(19, 15), TZ),
                                    PARAMS).hours


def test_a_baseline_survives_its_json_form() -> None:
    baseline = learn(routine(range(1, 5)), now=at(5, 0), tz=TZ, params=PARAMS)
    again = Baseline.from_json(baseline.to_json())
    assert again.samples == baseline.samples and again.has_activity
    assert again.longest["activity"][slot_of(at(5, 14, 30), TZ)] == pytest.approx(2.5)
