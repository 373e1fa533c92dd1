"""The silent-resident decisions as pure functions: time zones, day boundaries, 24 h rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from rules.silent import (
    Clock,
    Reason,
    check_time_passed,
    last_sign_of_life,
    local_midnight,
    seen_again,
    silent_reason,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
CLOCK = Clock(tz=SHANGHAI, check_at=dt.time(20, 0), max_hours=24.0)
LONG_AGO = dt.datetime(2026, 1, 1, tzinfo=UTC)  # registration far back: the 24 h rule is moot


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_local_midnight_follows_the_community_not_utc() -> None:
    # 23:30 in Shanghai is 15:30 UTC the same date; 07:30 in Shanghai is the previous UTC day.
    assert local_midnight(sh(2026, 11, 22, 23, 30), SHANGHAI) == sh(2026, 11, 22, 0, 0)
    early = sh(2026, 11, 22, 7, 30)
    assert early.astimezone(UTC).date() == dt.date(2026, 11, 21)
    assert local_midnight(early, SHANGHAI) == sh(2026, 11, 22, 0, 0)
    assert local_midnight(early, UTC) == dt.datetime(2026, 11, 21, tzinfo=UTC)


def test_local_midnight_on_a_daylight_saving_day() -> None:
    # 2026-03-08 is the spring-forward day in New York: midnight is still 05:00 UTC.
    noon = dt.datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    assert local_midnight(noon, NEW_YORK) == dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(("local", "passed"), [
    ((2026, 11, 22, 19, 59), False),
    ((2026, 11, 22, 20, 0), True),
    ((2026, 11, 22, 23, 30), True),
    ((2026, 11, 23, 0, 5), False),
])
def test_check_time_is_local(local: tuple[int, int, int, int, int], passed: bool) -> None:
    assert check_time_passed(sh(*local), CLOCK) is passed


def test_not_seen_today_fires_only_after_the_check_time() -> None:
    seen = sh(2026, 11, 21, 22, 0)  # late yesterday evening: the 24 h rule is not reached
    before = silent_reason(now=sh(2026, 11, 22, 19, 0), clock=CLOCK, last_seen_at=seen,
                           registered_at=LONG_AGO)
    after = silent_reason(now=sh(2026, 11, 22, 20, 30), clock=CLOCK, last_seen_at=seen,
                          registered_at=LONG_AGO)
    assert before is None
    assert after is Reason.NOT_SEEN_TODAY


def test_a_passage_after_local_midnight_counts_as_today_even_on_the_previous_utc_date() -> None:
    # 00:10 Shanghai on the 22nd is 16:10 UTC on the 21st: still "today" for the community.
    seen = sh(2026, 11, 22, 0, 10)
    assert seen.astimezone(UTC).date() == dt.date(2026, 11, 21)
    assert silent_reason(now=sh(2026, 11, 22, 23, 30), clock=CLOCK, last_seen_at=seen,
                         registered_at=LONG_AGO) is None
    # A community on UTC sees the same passage on its previous day (the 21st), so at
    # 15:30 UTC on the 22nd, past a 15:00 check time, the rule fires there.
    utc_clock = Clock(tz=UTC, check_at=dt.time(15, 0), max_hours=24.0)
    assert silent_reason(now=sh(2026, 11, 22, 23, 30), clock=utc_clock, last_seen_at=seen,
                         registered_at=LONG_AGO) is Reason.NOT_SEEN_TODAY


def test_a_passage_just_before_midnight_is_yesterday() -> None:
    seen = sh(2026, 11, 21, 23, 59)
    assert silent_reason(now=sh(2026, 11, 22, 20, 0), clock=CLOCK, last_seen_at=seen,
                         registered_at=LONG_AGO) is Reason.NOT_SEEN_TODAY


def test_the_24_hour_rule_fires_at_any_time_of_day() -> None:
    seen = sh(2026, 11, 21, 9, 0)
    assert silent_reason(now=sh(2026, 11, 22, 8, 59), clock=CLOCK, last_seen_at=seen,
                         registered_at=LONG_AGO) is None
    assert silent_reason(now=sh(2026, 11, 22, 9, 0), clock=CLOCK, last_seen_at=seen,
                         registered_at=LONG_AGO) is Reason.NOT_SEEN_HOURS
    # After the check time both apply; the stronger reason wins.
    assert silent_reason(now=sh(2026, 11, 22, 21, 0), clock=CLOCK, last_seen_at=seen,
                         registered_at=LONG_AGO) is Reason.NOT_SEEN_HOURS


def test_a_shorter_limit_from_the_community() -> None:
    clock = Clock(tz=SHANGHAI, check_at=dt.time(20, 0), max_hours=6.0)
    seen = sh(2026, 11, 22, 8, 0)
    assert silent_reason(now=sh(2026, 11, 22, 13, 59), clock=clock, last_seen_at=seen,
                         registered_at=LONG_AGO) is None
    assert silent_reason(now=sh(2026, 11, 22, 14, 0), clock=clock, last_seen_at=seen,
                         registered_at=LONG_AGO) is Reason.NOT_SEEN_HOURS


def test_a_resident_never_seen_counts_from_registration() -> None:
    registered = sh(2026, 11, 22, 10, 0)
    assert silent_reason(now=sh(2026, 11, 22, 19, 0), clock=CLOCK, last_seen_at=None,
                         registered_at=registered) is None
    # No presence at all is "not seen today" once the check time has passed...
    assert silent_reason(now=sh(2026, 11, 22, 20, 0), clock=CLOCK, last_seen_at=None,
                         registered_at=registered) is Reason.NOT_SEEN_TODAY
    # ...and 24 h after registration it is the 24-hour kind, morning or not.
    assert silent_reason(now=sh(2026, 11, 23, 10, 0), clock=CLOCK, last_seen_at=None,
                         registered_at=registered) is Reason.NOT_SEEN_HOURS


def test_a_confirmed_visit_counts_as_a_sighting() -> None:
    seen = sh(2026, 11, 20, 18, 0)
    visited = sh(2026, 11, 22, 20, 40)
    assert last_sign_of_life(seen, visited) == visited
    assert last_sign_of_life(None, None) is None
    assert silent_reason(now=sh(2026, 11, 22, 21, 0), clock=CLOCK, last_seen_at=seen,
                         registered_at=LONG_AGO, visited_at=visited) is None
    # The next evening, with no passage since, the rule fires again.
    assert silent_reason(now=sh(2026, 11, 23, 20, 0), clock=CLOCK, last_seen_at=seen,
                         registered_at=LONG_AGO, visited_at=visited) is Reason.NOT_SEEN_TODAY


def test_seen_again_means_after_what_the_alert_recorded() -> None:
    recorded = sh(2026, 11, 21, 18, 2)
    assert seen_again(recorded, sh(2026, 11, 22, 7, 0)) is True
    assert seen_again(recorded, recorded) is False
    assert seen_again(recorded, None) is False
    assert seen_again(None, sh(2026, 11, 22, 7, 0)) is True
    assert seen_again(None, None) is False
