"""Duress, tamper, door forced and door held open on a real PostgreSQL, through the engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from linli.settings import Settings
from rules.engine import default_rules, evaluate_community
from rules.framework import Rule
from rules.safety import DoorForcedRule, DoorHeldOpenRule, DuressRule, TamperRule
from tests.integration.safety_seed import (
    DOOR,
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
    sh,
    store,
    timeline,
)

MIN = dt.timedelta(minutes=1)


def duress(settings: Settings) -> list[Rule]:
    return [DuressRule(settings.rules.safety)]


def held_open(settings: Settings) -> list[Rule]:
    return [DoorHeldOpenRule(settings.rules.safety)]


def test_duress_raises_a_critical_alert_at_once_with_a_push_saying_what_where_when(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    alarm = event("duress", NOW + 5 * MIN, person_id="r-0007", credential="fingerprint")
    store(db_url, alarm)
    result = evaluate_community(db, "juxin", settings, NOW + 5 * MIN, rules=duress(settings))
    [alert] = alerts(db)
    assert result.raised == [alert["id"]]
    assert (alert["rule"], alert["subject"], alert["severity"]) == ("duress", SUBJECT, "critical")
    assert (alert["grid"], alert["building"], alert["status"]) == ("g1", "b01", "open")
    assert alert["title"] == "门禁胁迫报警：1栋1单元门禁"
    details = alert["details"]
    assert details["event_ids"] == ids([alarm])
    assert details["event_count"] == 1
    assert dt.datetime.fromisoformat(details["last_event_at"]) == NOW + 5 * MIN
    assert (details["building"], details["building_name"], details["device"],
            details["device_name"]) == ("b01", "1栋", DOOR, "1栋1单元门禁")
    assert details["person_ids"] == ["r-0007"] and details["credentials"] == {"fingerprint": 1}
    assert [row["action"] for row in timeline(db, alert["id"])] == ["raised", "dispatched"]
    # Critical: the grid worker and the control room are told at once, not one after the other.
    pushes = notifications(db, alert["id"])
    assert {p["worker"] for p in pushes} == {"w-01", "w-cr"}
    for push in pushes:
        assert push["title"] == "【邻里·紧急】门禁胁迫报警：1栋1单元门禁"
        for expected in ("1栋1单元门禁于11月22日 14:05触发胁迫报警", "立即联系社区民警", "r-0007",
                         f"#{alert['id']}"):
            assert expected in push["body"], expected


def test_a_second_duress_at_the_door_refreshes_the_alert_with_a_count(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    first, second = event("duress", NOW), event("duress", NOW + 2 * MIN)
    store(db_url, first)
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=duress(settings))
    store(db_url, second)
    result = evaluate_community(db, "juxin", settings, NOW + 3 * MIN, rules=duress(settings))
    [alert] = alerts(db)
    assert result.refreshed == [alert["id"]] and result.raised == []
    assert alert["fired_count"] == 2 and alert["details"]["event_count"] == 2
    assert alert["details"]["event_ids"] == ids([first, second])
    assert dt.datetime.fromisoformat(alert["details"]["first_event_at"]) == NOW
    # Nothing new: neither raised nor refreshed, however often the rule runs.
    quiet = evaluate_community(db, "juxin", settings, NOW + 4 * MIN, rules=duress(settings))
    assert quiet.raised == quiet.refreshed == []
    assert alerts(db)[0]["fired_count"] == 2
    # One push each (grid worker, control room) only: refreshing does not page again.
    assert len(notifications(db, alert["id"])) == 2


def test_a_duress_at_another_door_is_another_alert(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, event("duress", NOW), event("duress", NOW, building="b02", device="b02-u1-door"))
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=duress(settings))
    found = alerts(db)
    assert sorted(a["subject"] for a in found) == [SUBJECT, "b02/b02-u1-door"]
    # A door without a display name falls back to its id.
    assert "门禁胁迫报警：2栋 b02-u1-door" in [a["title"] for a in found]


@pytest.mark.parametrize(("make_rule", "kind", "severity", "title"), [
    (DuressRule, "duress", "critical", "门禁胁迫报警：1栋1单元门禁"),
    (TamperRule, "tamper", "high", "设备防拆报警：1栋1单元门禁"),
    (DoorForcedRule, "door_forced", "high", "门被强行打开：1栋1单元门禁"),
])
def test_alarms_never_resolve_by_themselves_nor_raise_again_once_a_person_closed_them(
    db: Db, db_url: str, make_settings: Callable[..., Settings],
    make_rule: Callable[..., Rule], kind: str, severity: str, title: str
) -> None:
    seed(db)
    settings = make_settings()
    rules = [make_rule(settings.rules.safety)]
    store(db_url, event(kind, NOW), event(kind, NOW + MIN))
    evaluate_community(db, "juxin", settings, NOW + 2 * MIN, rules=rules)
    [alert] = alerts(db)
    assert (alert["rule"], alert["severity"], alert["title"]) == (kind, severity, title)
    later = evaluate_community(db, "juxin", settings, NOW + 50 * MIN, rules=rules)
    assert later.resolved == [] and alerts(db)[0]["status"] == "open"
    close_by_person(db, alert["id"])
    # Both events are still within the lookback: they must not raise a second alert.
    for minutes in (3, 30, 59):
        again = evaluate_community(db, "juxin", settings, NOW + minutes * MIN, rules=rules)
        assert again.raised == [], minutes
    assert len(alerts(db)) == 1
    # A new alarm after the closed one raises a new alert, counting only itself.
    fresh = event(kind, NOW + 40 * MIN)
    store(db_url, fresh)
    raised = evaluate_community(db, "juxin", settings, NOW + 41 * MIN, rules=rules)
    assert len(raised.raised) == 1
    newest = alerts(db)[-1]
    assert newest["details"]["event_ids"] == ids([fresh])
    assert newest["details"]["event_count"] == 1


def test_old_alarms_never_raise_but_a_late_one_within_the_lookback_does(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    last_month = event("duress", sh(2026, 10, 22, 14, 0))
    two_hours_ago = event("duress", NOW - 120 * MIN, building="b02", device="b02-u1-door")
    store(db_url, last_month, two_hours_ago)
    assert evaluate_community(db, "juxin", settings, NOW, rules=duress(settings)).raised == []
    assert alerts(db) == []
    # Spooled at the edge for 40 minutes, it arrives now: still within the lookback.
    late = event("duress", NOW - 40 * MIN)
    store(db_url, late)
    result = evaluate_community(db, "juxin", settings, NOW, rules=duress(settings))
    [alert] = alerts(db)
    assert result.raised == [alert["id"]]
    assert alert["details"]["event_ids"] == ids([late])
    pushes = notifications(db, alert["id"])
    assert len(pushes) == 2 and all("13:20" in push["body"] for push in pushes)


def test_an_event_after_the_evaluation_clock_is_not_seen_yet(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    """A replay on a simulated clock sees only what had happened by then."""
    seed(db)
    settings = make_settings()
    store(db_url, event("duress", NOW + 10 * MIN))
    assert evaluate_community(db, "juxin", settings, NOW, rules=duress(settings)).raised == []
    assert len(evaluate_community(db, "juxin", settings, NOW + 10 * MIN,
                                  rules=duress(settings)).raised) == 1


def test_communities_are_kept_apart(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    seed(db, "heping", "和平里")
    settings = make_settings()
    store(db_url, event("duress", NOW, community="heping"))
    assert evaluate_community(db, "juxin", settings, NOW + MIN, rules=duress(settings)).raised == []
    assert alerts(db, "juxin") == []
    evaluate_community(db, "heping", settings, NOW + MIN, rules=duress(settings))
    [alert] = alerts(db, "heping")
    assert alert["subject"] == SUBJECT
    # Closing heping's alert says nothing about juxin: the same door there still raises.
    close_by_person(db, alert["id"])
    store(db_url, event("duress", NOW + 2 * MIN))
    assert len(evaluate_community(db, "juxin", settings, NOW + 3 * MIN,
                                  rules=duress(settings)).raised) == 1


# --- door held open ------------------------------------------------------------------


def test_a_door_held_open_warns_and_resolves_itself_when_it_closes(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    held = event("door_held_open", NOW)
    store(db_url, held)
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=held_open(settings))
    [alert] = alerts(db)
    assert (alert["rule"], alert["severity"], alert["title"]) == (
        "door_held_open", "warning", "门长时间未关：1栋1单元门禁")
    [push] = notifications(db, alert["id"])
    assert push["title"] == "【邻里】门长时间未关：1栋1单元门禁"
    assert "自11月22日 14:00起长时间未关闭" in push["body"]
    # Still open a while later: a repeat of the alarm refreshes it.
    store(db_url, event("door_held_open", NOW + 3 * MIN))
    again = evaluate_community(db, "juxin", settings, NOW + 4 * MIN, rules=held_open(settings))
    assert again.refreshed == [alert["id"]] and again.resolved == []
    assert alerts(db)[0]["details"]["event_count"] == 2
    # A door closed at another door does not count; this door's does.
    store(db_url, event("door_closed", NOW + 5 * MIN, building="b02", device="b02-u1-door"))
    assert evaluate_community(db, "juxin", settings, NOW + 6 * MIN,
                              rules=held_open(settings)).resolved == []
    store(db_url, event("door_closed", NOW + 7 * MIN))
    done = evaluate_community(db, "juxin", settings, NOW + 8 * MIN, rules=held_open(settings))
    [alert] = alerts(db)
    assert done.resolved == [alert["id"]]
    assert (alert["status"], alert["resolved_by"]) == ("resolved", "system")
    last = resolution(db, alert["id"])
    assert last["action"] == "resolved" and "14:07" in last["note"] and "关闭" in last["note"]
    assert dt.datetime.fromisoformat(last["data"]["shut_at"]) == NOW + 7 * MIN
    assert last["data"]["shut_by"] == "door_closed"
    # The held-open alarms stay inside the lookback; they never raise again.
    for minutes in (9, 30):
        assert evaluate_community(db, "juxin", settings, NOW + minutes * MIN,
                                  rules=held_open(settings)).raised == []
    assert len(alerts(db)) == 1


def test_a_passage_through_the_door_also_ends_held_open(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, event("door_held_open", NOW))
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=held_open(settings))
    store(db_url, event("passage", NOW + 2 * MIN, direction="in", person_id="r-0001",
                        credential="face"))
    result = evaluate_community(db, "juxin", settings, NOW + 3 * MIN, rules=held_open(settings))
    [alert] = alerts(db)
    assert result.resolved == [alert["id"]]
    assert "有人正常通行" in alert["resolution"] and "14:02" in alert["resolution"]


def test_held_open_and_closed_again_before_anyone_heard_raises_nothing(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    # A backlog arriving at once: held open at 13:30, closed at 13:33.
    store(db_url, event("door_held_open", NOW - 30 * MIN), event("door_closed", NOW - 27 * MIN))
    assert evaluate_community(db, "juxin", settings, NOW, rules=held_open(settings)).raised == []
    # Held open again afterwards and still open: that one raises.
    store(db_url, event("door_held_open", NOW - 10 * MIN))
    assert len(evaluate_community(db, "juxin", settings, NOW,
                                  rules=held_open(settings)).raised) == 1


def test_held_open_closed_by_a_person_does_not_come_back_from_the_same_event(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, event("door_held_open", NOW), event("door_held_open", NOW - 2 * 60 * MIN))
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=held_open(settings))
    [alert] = alerts(db)
    assert alert["details"]["event_count"] == 1  # the one from two hours ago is history
    close_by_person(db, alert["id"])
    assert evaluate_community(db, "juxin", settings, NOW + 20 * MIN,
                              rules=held_open(settings)).raised == []
    assert len(alerts(db)) == 1


def test_the_engine_runs_every_safety_rule_by_default(make_settings: Callable[..., Settings]
                                                      ) -> None:
    names = [rule.name for rule in default_rules(make_settings())]
    assert names == ["silent_resident", "out_not_back", "absence_overdue", "device_offline",
                     "duress", "tamper", "door_forced", "door_held_open", "access_denied",
                     "tailgating"]


def test_all_safety_rules_together_through_the_default_engine(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, event("duress", NOW), event("tamper", NOW, building="b02",
                                               device="b02-u1-door"))
    result = evaluate_community(db, "juxin", settings, NOW + MIN)
    assert result.failed_rules == []
    assert sorted((a["rule"], a["severity"]) for a in alerts(db)) == [
        ("duress", "critical"), ("tamper", "high")]
