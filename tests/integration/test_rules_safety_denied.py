"""Repeated denied access on a real PostgreSQL, through the engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from linli.contract import Event
from linli.settings import Settings
from rules.engine import evaluate_community
from rules.framework import Rule
from rules.safety import RepeatedDeniedAccessRule
from tests.integration.safety_seed import (
    NOW,
    SUBJECT,
    Db,
    alerts,
    close_by_person,
    event,
    ids,
    notifications,
    resolution,
    seed,
    store,
)

MIN = dt.timedelta(minutes=1)


def rules(settings: Settings) -> list[Rule]:
    return [RepeatedDeniedAccessRule(settings.rules.safety)]


def denied(minute: float, **fields: object) -> Event:
    values = {"direction": "in", "credential": "card"} | fields
    return event("access_denied", NOW + dt.timedelta(minutes=minute), **values)


def test_five_denials_within_ten_minutes_raise_a_warning_with_the_facts(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    four = [denied(0), denied(2, credential="face"), denied(4, person_id="r-0009"), denied(6)]
    store(db_url, *four)
    assert evaluate_community(db, "juxin", settings, NOW + 7 * MIN,
                              rules=rules(settings)).raised == []
    fifth = denied(8, credential="fingerprint", person_id="r-0003")
    store(db_url, fifth)
    result = evaluate_community(db, "juxin", settings, NOW + 9 * MIN, rules=rules(settings))
    [alert] = alerts(db)
    assert result.raised == [alert["id"]]
    assert (alert["rule"], alert["subject"], alert["severity"]) == (
        "access_denied", SUBJECT, "warning")
    assert alert["title"] == "多次验证失败：1栋1单元门禁"
    d = alert["details"]
    assert d["event_count"] == 5 and d["most_in_window"] == 5
    assert (d["threshold"], d["window_min"], d["quiet_min"]) == (5, 10.0, 30.0)
    assert d["event_ids"] == ids([*four, fifth])
    assert d["credentials"] == {"card": 3, "face": 1, "fingerprint": 1}
    assert d["person_ids"] == ["r-0003", "r-0009"]
    assert "name" not in d
    [push] = notifications(db, alert["id"])
    for expected in ("10分钟内验证失败5次", "11月22日 14:00至11月22日 14:08共5次", "卡×3",
                     "r-0003", "30分钟无验证失败后告警自动解除"):
        assert expected in push["body"], expected


def test_more_denials_refresh_then_quiet_resolves_and_the_same_denials_never_come_back(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, *(denied(m) for m in range(5)))
    evaluate_community(db, "juxin", settings, NOW + 5 * MIN, rules=rules(settings))
    store(db_url, denied(12))
    refreshed = evaluate_community(db, "juxin", settings, NOW + 13 * MIN, rules=rules(settings))
    [alert] = alerts(db)
    assert refreshed.refreshed == [alert["id"]]
    assert alert["details"]["event_count"] == 6 and alert["fired_count"] == 2
    # 29 minutes after the last denial: not yet quiet enough.
    assert evaluate_community(db, "juxin", settings, NOW + 41 * MIN,
                              rules=rules(settings)).resolved == []
    done = evaluate_community(db, "juxin", settings, NOW + 42 * MIN, rules=rules(settings))
    assert done.resolved == [alert["id"]]
    last = resolution(db, alert["id"])
    assert last["action"] == "resolved" and "30分钟内无新的验证失败" in last["note"]
    assert "14:12" in last["note"]
    # All six denials are still within the hour's lookback: no new alert from them.
    assert evaluate_community(db, "juxin", settings, NOW + 50 * MIN,
                              rules=rules(settings)).raised == []
    assert len(alerts(db)) == 1


def test_a_denial_not_yet_recorded_keeps_the_alert_open(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, *(denied(m) for m in range(5)))
    evaluate_community(db, "juxin", settings, NOW + 5 * MIN, rules=rules(settings))
    # A denial arrives after the alert's last refresh; the next run is 30 minutes after
    # the recorded one, but only 10 after the newest denial.
    store(db_url, denied(24))
    result = evaluate_community(db, "juxin", settings, NOW + 34 * MIN, rules=rules(settings))
    assert result.resolved == [] and len(result.refreshed) == 1


def test_a_person_closing_the_alert_needs_a_fresh_burst_to_raise_again(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, *(denied(m) for m in range(5)))
    evaluate_community(db, "juxin", settings, NOW + 5 * MIN, rules=rules(settings))
    [alert] = alerts(db)
    close_by_person(db, alert["id"])
    # Two more denials: with the five already handled, not a burst of their own.
    store(db_url, denied(6), denied(7))
    assert evaluate_community(db, "juxin", settings, NOW + 8 * MIN,
                              rules=rules(settings)).raised == []
    store(db_url, denied(8), denied(9), denied(10))
    result = evaluate_community(db, "juxin", settings, NOW + 11 * MIN, rules=rules(settings))
    assert len(result.raised) == 1
    assert alerts(db)[-1]["details"]["event_count"] == 5


def test_denials_spread_out_or_long_over_raise_nothing(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    # Five denials, but never five within ten minutes.
    store(db_url, *(denied(m) for m in (0, 4, 8, 12, 16)))
    assert evaluate_community(db, "juxin", settings, NOW + 17 * MIN,
                              rules=rules(settings)).raised == []
    # A burst at another door that ended 40 minutes before anyone looked: over already.
    store(db_url, *(denied(m, building="b02", device="b02-u1-door") for m in range(5)))
    assert evaluate_community(db, "juxin", settings, NOW + 44 * MIN,
                              rules=rules(settings)).raised == []
    # And a burst from yesterday, replayed today: history.
    store(db_url, *(denied(m - 24 * 60, building="b02", device="b02-u1-door")
                    for m in range(10)))
    assert evaluate_community(db, "juxin", settings, NOW + 45 * MIN,
                              rules=rules(settings)).raised == []
    assert alerts(db) == []


def test_the_threshold_comes_from_the_settings(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings(rules={"safety": {"denied_count": 3, "denied_window_min": 2}})
    store(db_url, denied(0), denied(1), denied(2))
    result = evaluate_community(db, "juxin", settings, NOW + 3 * MIN, rules=rules(settings))
    assert len(result.raised) == 1
    assert alerts(db)[0]["details"]["window_min"] == 2.0


def test_denials_in_another_community_stay_there(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    seed(db, "heping", "和平里")
    settings = make_settings()
    store(db_url, *(denied(m, community="heping") for m in range(5)))
    assert evaluate_community(db, "juxin", settings, NOW + 5 * MIN,
                              rules=rules(settings)).raised == []
    assert len(evaluate_community(db, "heping", settings, NOW + 5 * MIN,
                                  rules=rules(settings)).raised) == 1
    assert alerts(db, "juxin") == [] and len(alerts(db, "heping")) == 1
