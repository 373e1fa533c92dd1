"""Repeated denied access as pure functions: the densest window, bursts, refreshes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rules.safety.denied import Limits, denied_burst, densest, quiet_since, trailing_burst
from rules.safety.events import DoorEvent, History, Place, Tally

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 22, 14, 0, tzinfo=SHANGHAI)
MIN = dt.timedelta(minutes=1)
DOOR = Place(building="b01", device="b01-u1-door")
LIMITS = Limits(count=5, window=10 * MIN, quiet=30 * MIN, lookback=dt.timedelta(hours=1))


def at(minutes: float) -> DoorEvent:
    return DoorEvent(event_id=f"e{minutes:+.1f}", occurred_at=NOW + dt.timedelta(minutes=minutes),
                     kind="access_denied", place=DOOR)


def tally_of(*events: DoorEvent) -> dict[str, object]:
    return Tally().add(list(events)).as_details()


def test_densest_counts_inside_an_inclusive_window() -> None:
    times = [NOW + dt.timedelta(minutes=m) for m in (0, 2, 4, 6, 10, 30)]
    assert densest(times, 10 * MIN) == 5
    assert densest(times, 9 * MIN) == 4
    assert densest([], 10 * MIN) == 0


def test_the_trailing_burst_ends_at_a_quiet_gap() -> None:
    events = [at(m) for m in (-100, -60, -29, -5)]
    assert [e.event_id for e in trailing_burst(events, 30 * MIN)] == ["e-29.0", "e-5.0"]
    assert trailing_burst([], 30 * MIN) == []
    assert quiet_since(NOW - 30 * MIN, NOW, 30 * MIN)
    assert not quiet_since(NOW - 29 * MIN, NOW, 30 * MIN)


def test_denials_fire_at_the_threshold_within_the_window() -> None:
    four = [at(m) for m in (-8, -6, -4, -2)]
    assert denied_burst(four, History(), now=NOW, limits=LIMITS) is None
    five = [*four, at(-1)]
    burst = denied_burst(five, History(), now=NOW, limits=LIMITS)
    assert burst is not None and burst.most_in_window == 5 and burst.tally.event_count == 5


def test_a_burst_that_is_over_or_spread_out_does_not_fire() -> None:
    over = [at(m) for m in (-45, -44, -43, -42, -41)]
    assert denied_burst(over, History(), now=NOW, limits=LIMITS) is None
    spread = [at(m) for m in (-40, -30, -20, -10, 0)]
    assert denied_burst(spread, History(), now=NOW, limits=LIMITS) is None


def test_an_open_denied_alert_is_refreshed_by_every_new_denial() -> None:
    opened = History(open=tally_of(*(at(m) for m in range(-9, -4)))
                     | {"most_in_window": 5})
    burst = denied_burst([at(-1)], opened, now=NOW, limits=LIMITS)
    assert burst is not None and burst.tally.event_count == 6 and burst.most_in_window == 6


def test_denials_a_person_handled_do_not_count_towards_a_new_burst() -> None:
    handled = History(handled_until=NOW - 5 * MIN)
    events = [at(m) for m in (-9, -8, -7, -6, -5, -3, -2)]
    assert denied_burst(events, handled, now=NOW, limits=LIMITS) is None
