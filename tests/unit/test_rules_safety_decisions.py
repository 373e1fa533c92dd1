"""The safety rules' shared decisions as pure functions: watermarks, tallies, alarms,
held-open doors; and their settings."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from linli.errors import ConfigError
from linli.settings import SafetySettings, load_settings
from rules.safety.alarms import alarm_tally, still_held_open
from rules.safety.events import MAX_LISTED, DoorEvent, History, Place, Tally, new_events

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 22, 14, 0, tzinfo=SHANGHAI)
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DOOR = Place(building="b01", device="b01-u1-door", building_name="1栋",
             device_name="1栋1单元门禁", grid="g1")


def at(minutes: float, kind: str = "duress", **fields: object) -> DoorEvent:
    moment = NOW + dt.timedelta(minutes=minutes)
    return DoorEvent(event_id=f"e{minutes:+.1f}", occurred_at=moment, kind=kind, place=DOOR,
                     **fields)  # type: ignore[arg-type]


def tally_of(*events: DoorEvent) -> dict[str, object]:
    return Tally().add(list(events)).as_details()


# --- what counts as new ------------------------------------------------------------


def test_only_events_within_the_lookback_and_not_after_now_are_new() -> None:
    events = [at(-61), at(-60), at(-59), at(0), at(1)]
    new = new_events(events, history=History(), now=NOW, lookback=HOUR)
    assert [e.event_id for e in new] == ["e-59.0", "e+0.0"]


def test_events_a_closed_alert_covered_are_not_new_even_within_the_lookback() -> None:
    history = History(handled_until=NOW - 10 * MIN)
    new = new_events([at(-20), at(-10), at(-5)], history=history, now=NOW, lookback=HOUR)
    assert [e.event_id for e in new] == ["e-5.0"]


def test_an_open_alert_counts_only_events_after_its_last() -> None:
    history = History(open=tally_of(at(-20), at(-10)))
    assert history.open_last_event_at == NOW - 10 * MIN
    new = new_events([at(-20), at(-15), at(-10), at(-1)], history=history, now=NOW,
                     lookback=HOUR)
    # The late one from -15 is older than what the alert recorded: part of that incident.
    assert [e.event_id for e in new] == ["e-1.0"]


def test_the_watermark_is_the_latest_of_lookback_and_alerts() -> None:
    assert History().watermark(NOW, HOUR) == NOW - HOUR
    assert History(handled_until=NOW - 2 * HOUR).watermark(NOW, HOUR) == NOW - HOUR
    closed_then_open = History(handled_until=NOW - 30 * MIN, open=tally_of(at(-5)))
    assert closed_then_open.watermark(NOW, HOUR) == NOW - 5 * MIN


def test_a_tally_adds_up_and_lists_only_the_latest() -> None:
    first = Tally().add([at(-3, person_id="r-1", credential="fingerprint")])
    both = Tally.from_details(first.as_details()).add([at(-1, person_id="r-2"), at(-2)])
    d = both.as_details()
    assert d["event_count"] == 3
    assert d["first_event_at"] == (NOW - 3 * MIN).isoformat()
    assert d["last_event_at"] == (NOW - MIN).isoformat()
    assert d["credentials"] == {"fingerprint": 1, "unknown": 2}
    assert d["person_ids"] == ["r-1", "r-2"]
    many = Tally().add([at(-m / 10) for m in range(MAX_LISTED + 5)])
    assert many.event_count == MAX_LISTED + 5 and len(many.events) == MAX_LISTED


# --- alarms ------------------------------------------------------------------------


def test_an_alarm_fires_once_per_new_event() -> None:
    first = alarm_tally([at(-2)], History(), now=NOW, lookback=HOUR)
    assert first is not None and first.event_count == 1
    opened = History(open=first.as_details())
    assert alarm_tally([at(-2)], opened, now=NOW, lookback=HOUR) is None
    second = alarm_tally([at(-2), at(-1)], opened, now=NOW, lookback=HOUR)
    assert second is not None and second.event_count == 2
    closed = History(handled_until=second.last_event_at)
    assert alarm_tally([at(-2), at(-1)], closed, now=NOW, lookback=HOUR) is None


@pytest.mark.parametrize(("shut", "still"), [(None, True), (-6, True), (-5, False), (-1, False)])
def test_a_door_is_still_held_open_until_it_shuts(shut: float | None, still: bool) -> None:
    shut_at = NOW + dt.timedelta(minutes=shut) if shut is not None else None
    assert still_held_open(NOW - 5 * MIN, shut_at) is still


# --- settings ----------------------------------------------------------------------


def test_safety_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = SafetySettings()
    assert (defaults.lookback_min, defaults.denied_count, defaults.denied_window_min,
            defaults.denied_quiet_min) == (60, 5, 10, 30)
    assert (defaults.tailgating_window_s, defaults.tailgating_min_confidence,
            defaults.tailgating_min_excess, defaults.tailgating_settle_s,
            defaults.tailgating_quiet_min) == (5, 0.8, 1, 30, 30)
    monkeypatch.setenv("LINLI_RULES__SAFETY__DENIED_COUNT", "8")
    assert load_settings(None).rules.safety.denied_count == 8


def test_safety_settings_refuse_windows_that_do_not_fit() -> None:
    with pytest.raises(ConfigError, match="denied_window_min"):
        load_settings(None, rules={"safety": {"denied_window_min": 90}})
    with pytest.raises(ConfigError, match="tailgating_settle_s"):
        load_settings(None, rules={"safety": {"tailgating_settle_s": 2}})
    with pytest.raises(ConfigError, match=r"rules\.safety\.denied_count"):
        load_settings(None, rules={"safety": {"denied_count": 1}})
