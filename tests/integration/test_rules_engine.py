"""The rules engine on a real PostgreSQL: one alert per subject, races, resolution, escalation.

The seed helpers here are also used by the notifier and service tests of this stage.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from linli.alerts import ACKNOWLEDGE, RESOLVE
from linli.settings import Settings
from rules.alerts import escalate_due
from rules.engine import Evaluation, evaluate_community
from rules.framework import ActiveAlert, Community, Conn, Firing, PushText, Resolution
from rules.silent import SilentResidentRule

Db = psycopg.Connection[dict[str, Any]]
FIXED = [SilentResidentRule(Settings().rules)]
"""The engine's mechanics are tested with the fixed rule (no passage today by the check
time, or unseen for 24 h): its decisions are simple to set up. ``rules.care`` has its own."""
SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


NOW = sh(2026, 11, 22, 21, 0)            # past the 20:00 check time
LAST_SEEN = sh(2026, 11, 21, 22, 30)     # yesterday, 22.5 h before NOW
REGISTERED = sh(2026, 11, 1, 9, 0)


def seed(db: Db, *, worker_urls: list[str] | None = None,
         control_room_urls: list[str] | None = None, last_seen: dt.datetime | None = LAST_SEEN,
         check_at: str = "20:00", max_hours: float | None = None,
         registered: dt.datetime = REGISTERED, grid_workers: bool = True) -> None:
    """A community with one watched resident (r-0001) and two who are not watched."""
    db.execute("INSERT INTO communities (id, name, timezone, silent_check_at, silent_max_hours)"
               " VALUES ('juxin', '聚鑫家园', 'Asia/Shanghai', %s, %s)", (check_at, max_hours))
    db.execute("INSERT INTO grids VALUES ('juxin', 'g1', '第一网格'), ('juxin', 'g2', '第二网格')")
    db.execute("INSERT INTO buildings VALUES ('juxin', 'b01', '1栋', 'g1'),"
               " ('juxin', 'b02', '2栋', 'g2')")
    db.execute("INSERT INTO units VALUES ('juxin', 'b01', 'u1', '1单元')")
    db.execute("INSERT INTO households VALUES ('juxin', 'h-b01-101', 'b01', 'u1', '101')")
    db.execute("INSERT INTO devices (community, building, id, kind, name, registered)"
               " VALUES ('juxin', 'b01', 'b01-u1-door', 'door', '1栋1单元门禁', true)")
    contacts = Jsonb([{"name": "李明", "phone": "13900000002", "relation": "儿子"}])
    resident = ("INSERT INTO residents (community, id, name, household, phone, is_elderly,"
                " lives_alone, care_level, emergency_contacts, created_at)"
                " VALUES ('juxin', %s, %s, 'h-b01-101', %s, %s, %s, %s, %s, %s)")
    db.execute(resident, ("r-0001", "张桂英", "13800000001", True, True, 2, contacts, registered))
    db.execute(resident, ("r-0002", "王小明", None, False, True, 0, Jsonb([]), registered))
    db.execute(resident, ("r-0003", "赵大爷", None, True, False, 1, Jsonb([]), registered))
    if last_seen is not None:
        set_presence(db, "r-0001", last_seen)
    worker = ("INSERT INTO grid_workers (community, id, name, role, locale, notify_urls)"
              " VALUES ('juxin', %s, %s, %s, %s, %s)")
    if grid_workers:
        db.execute(worker, ("w-01", "王芳", "grid_worker", None,
                            worker_urls if worker_urls is not None else ["json://127.0.0.1:9/a"]))
        db.execute("INSERT INTO grid_worker_grids VALUES ('juxin', 'w-01', 'g1')")
    db.execute(worker, ("w-02", "刘洋", "grid_worker", "en", ["json://127.0.0.1:9/b"]))
    db.execute("INSERT INTO grid_worker_grids VALUES ('juxin', 'w-02', 'g2')")
    db.execute(worker, ("w-cr", "指挥中心值班员", "control_room", None,
                        control_room_urls or ["json://127.0.0.1:9/cr"]))


def set_presence(db: Db, resident: str, at: dt.datetime) -> None:
    """What ingest does when a passage arrives."""
    db.execute(
        "INSERT INTO presence (community, resident, last_seen_at, building, device, direction,"
        " event_id) VALUES ('juxin', %s, %s, 'b01', 'b01-u1-door', 'in', gen_random_uuid())"
        " ON CONFLICT (community, resident) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at",
        (resident, at))


def alerts(db: Db) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM alerts ORDER BY id").fetchall()


def timeline(db: Db, alert_id: int) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM alert_timeline WHERE alert_id = %s ORDER BY id",
                      (alert_id,)).fetchall()


def test_repeated_evaluations_keep_one_alert_with_a_growing_count(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db, worker_urls=["json://127.0.0.1:9/a", "form://127.0.0.1:9/b"])
    settings = make_settings()
    results = [evaluate_community(db, "juxin", settings, NOW + dt.timedelta(minutes=m), rules=FIXED)
               for m in range(3)]
    assert [len(r.raised) for r in results] == [1, 0, 0]
    assert [len(r.refreshed) for r in results] == [0, 1, 1]
    [alert] = alerts(db)
    assert (alert["rule"], alert["subject"], alert["status"]) == ("silent_resident", "r-0001",
                                                                 "open")
    assert alert["fired_count"] == 3
    assert alert["updated_at"] == NOW + dt.timedelta(minutes=2)
    assert (alert["grid"], alert["building"], alert["tier"]) == ("g1", "b01", 1)
    assert alert["escalate_at"] == NOW + dt.timedelta(minutes=settings.rules.escalate_after_min)
    assert alert["title"] == "独居老人今日未出现：张桂英"
    details = alert["details"]
    assert details["reason"] == "not_seen_today"
    assert dt.datetime.fromisoformat(details["last_seen_at"]) == LAST_SEEN
    assert details["where"] == {"building": "b01", "building_name": "1栋",
                                "device": "b01-u1-door", "device_name": "1栋1单元门禁",
                                "direction": "in"}
    assert details["home"]["room"] == "101" and details["care_level"] == 2
    # No phone numbers in the alert: the contacts are read when needed, through the API.
    assert "phone" not in details and "emergency_contacts" not in details
    assert "1390000000" not in str(details) and "13800000001" not in str(details)
    assert [row["action"] for row in timeline(db, alert["id"])] == ["raised", "dispatched"]
    assert timeline(db, alert["id"])[1]["data"]["workers"] == ["w-01"]
    notes = db.execute("SELECT worker, url_index, channel, title, body FROM notifications"
                       " ORDER BY url_index").fetchall()
    assert [(n["worker"], n["url_index"], n["channel"]) for n in notes] == [
        ("w-01", 0, "json://127.0.0.1:9"), ("w-01", 1, "form://127.0.0.1:9")]
    assert notes[0]["title"] == "【邻里】独居老人今日未出现"
    assert "张桂英" in notes[0]["body"] and "11月21日 22:30" in notes[0]["body"]
    # No phone in the push; it ends with the worker's link to this alert.
    assert "13900000002" not in notes[0]["body"] and "13800000001" not in notes[0]["body"]
    [link] = db.execute("SELECT * FROM alert_links").fetchall()
    assert (link["alert_id"], link["worker"]) == (alert["id"], "w-01")
    assert link["expires_at"] == NOW + dt.timedelta(hours=settings.api.link_hours)
    last_line = f"查看详情并反馈：http://127.0.0.1:8000/go/{link['token']}"
    assert [n["body"].splitlines()[-1] for n in notes] == [last_line, last_line]


def test_nothing_fires_before_the_check_time(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    result = evaluate_community(db, "juxin", make_settings(), sh(2026, 11, 22, 19, 59), rules=FIXED)
    assert result.locked and result.raised == [] and alerts(db) == []


def test_two_evaluators_racing_raise_one_alert(
    db_url: str, db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    start = threading.Barrier(4)
    results: list[Evaluation] = []

    def evaluator() -> None:
        with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
            start.wait()
            for _ in range(5):
                results.append(evaluate_community(conn, "juxin", settings, NOW, rules=FIXED))

    threads = [threading.Thread(target=evaluator) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 20
    [alert] = alerts(db)
    assert sum(len(r.raised) for r in results) == 1
    # Every evaluation that held the lock fired once; the others did nothing.
    assert alert["fired_count"] == sum(1 for r in results if r.locked)
    assert db.execute("SELECT count(*) AS n FROM notifications").fetchone() == {"n": 1}


def test_seen_again_resolves_with_a_timeline_entry(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
    set_presence(db, "r-0001", NOW + dt.timedelta(minutes=5))
    result = evaluate_community(db, "juxin", settings, NOW + dt.timedelta(minutes=6), rules=FIXED)
    [alert] = alerts(db)
    assert result.resolved == [alert["id"]]
    assert (alert["status"], alert["resolved_by"], alert["escalate_at"]) == (
        "resolved", "system", None)
    *_, last, notice = timeline(db, alert["id"])
    assert (last["actor"], last["action"]) == ("system", "resolved")
    assert "11月22日 21:05" in last["note"] and "1栋1单元门禁" in last["note"]
    # The push queued at the raise was never sent: it is withdrawn, and nobody who was not
    # told is told of the resolution.
    assert notice["action"] == "resolved_notice"
    assert len(notice["data"]["withdrawn"]) == 1 and notice["data"]["notifications"] == []
    statuses = db.execute("SELECT status FROM notifications WHERE alert_id = %s",
                          (alert["id"],)).fetchall()
    assert [r["status"] for r in statuses] == ["withdrawn"]
    # Seen today: nothing fires again, later the same evening.
    evaluate_community(db, "juxin", settings, NOW + dt.timedelta(hours=2), rules=FIXED)
    assert len(alerts(db)) == 1


def test_a_new_day_before_the_check_time_does_not_resolve(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db, max_hours=48)
    settings = make_settings()
    evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
    result = evaluate_community(db, "juxin", settings, sh(2026, 11, 23, 7, 0), rules=FIXED)
    assert result.resolved == [] and result.refreshed == []
    [alert] = alerts(db)
    assert alert["status"] == "open" and alert["fired_count"] == 1


def test_a_late_record_from_yesterday_keeps_the_alert_and_refreshes_it(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db, max_hours=48)
    settings = make_settings()
    evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
    late = sh(2026, 11, 21, 23, 50)  # spooled at the edge, arrives tonight
    set_presence(db, "r-0001", late)
    result = evaluate_community(db, "juxin", settings, NOW + dt.timedelta(minutes=1), rules=FIXED)
    assert result.resolved == []
    [alert] = alerts(db)
    assert alert["status"] == "open" and alert["fired_count"] == 2
    assert dt.datetime.fromisoformat(alert["details"]["last_seen_at"]) == late


def test_a_resident_never_seen_alerts_and_resolves_on_first_passage(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db, last_seen=None)
    settings = make_settings()
    evaluate_community(db, "juxin", settings, sh(2026, 11, 22, 10, 0), rules=FIXED)  # morning: 24 h rule
    [alert] = alerts(db)
    assert alert["details"]["last_seen_at"] is None
    assert alert["details"]["reason"] == "not_seen_hours"
    assert alert["title"] == "独居老人超过24小时未出现：张桂英"
    set_presence(db, "r-0001", sh(2026, 11, 22, 10, 30))
    result = evaluate_community(db, "juxin", settings, sh(2026, 11, 22, 10, 31), rules=FIXED)
    assert result.resolved == [alert["id"]]


def test_only_a_confirmed_visit_counts_as_a_sign_of_life(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
    [alert] = alerts(db)
    # Closed by a person without a visit (a phone call, a false alarm): no sign of life,
    # the rule fires again at once.
    db.execute(RESOLVE, {"alert_id": alert["id"], "actor": "w-01", "note": "电话联系",
                         "at": NOW + dt.timedelta(minutes=20)})
    again = evaluate_community(db, "juxin", settings, NOW + dt.timedelta(minutes=30),
                               rules=FIXED)
    assert len(again.raised) == 1
    [_, second] = alerts(db)
    # The on-site feedback "safe" of an authenticated worker records the visit.
    db.execute(RESOLVE, {"alert_id": second["id"], "actor": "w-01", "note": "上门查看，老人安好",
                         "at": NOW + dt.timedelta(minutes=40)})
    db.execute("UPDATE alerts SET visited_at = %s WHERE id = %s",
               (NOW + dt.timedelta(minutes=40), second["id"]))
    assert evaluate_community(db, "juxin", settings, NOW + dt.timedelta(minutes=50),
                              rules=FIXED).raised == []
    # The next evening, still no passage: a new alert, which remembers the visit.
    nxt = evaluate_community(db, "juxin", settings, sh(2026, 11, 23, 20, 30), rules=FIXED)
    assert len(nxt.raised) == 1
    assert dt.datetime.fromisoformat(alerts(db)[-1]["details"]["visited_at"]) == (
        NOW + dt.timedelta(minutes=40))


def test_escalation_after_the_timer_goes_to_the_control_room(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings(rules={"escalate_after_min": 30})
    rules = {rule.name: rule for rule in FIXED}
    evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
    assert escalate_due(db, rules=rules, settings=settings,
                        now=NOW + dt.timedelta(minutes=29)) == []
    later = NOW + dt.timedelta(minutes=31)
    [alert_id] = escalate_due(db, rules=rules, settings=settings, now=later)
    [alert] = alerts(db)
    assert alert["tier"] == 2 and alert["escalate_at"] == later + dt.timedelta(minutes=30)
    assert [row["action"] for row in timeline(db, alert_id)][-2:] == ["escalated", "dispatched"]
    control = db.execute("SELECT title, body FROM notifications WHERE worker = 'w-cr'").fetchall()
    assert [n["title"] for n in control] == ["【邻里·第2级】独居老人今日未出现"]
    assert "升级至第2级" in control[0]["body"]
    # Once acknowledged, the timer stops.
    db.execute(ACKNOWLEDGE, {"alert_id": alert_id, "actor": "w-cr", "worker": None,
                             "feedback_due": dt.timedelta(hours=4)})
    assert escalate_due(db, rules=rules, settings=settings,
                        now=later + dt.timedelta(days=1)) == []


def test_nobody_at_tier_one_escalates_at_once(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db, grid_workers=False)
    settings = make_settings()
    evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
    [alert] = alerts(db)
    assert alert["escalate_at"] == NOW
    escalated = escalate_due(db, rules={}, settings=settings, now=NOW)
    assert escalated == [alert["id"]]
    # Without the rule object, the control room still gets a push with the stored title.
    [note] = db.execute("SELECT worker, title FROM notifications").fetchall()
    assert note["worker"] == "w-cr" and "张桂英" in note["title"]


class BrokenRule:
    """A rule that plugs in and then fails: the others must still run."""

    name = "broken"

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        conn.execute("SELECT * FROM no_such_table")
        return []

    def should_resolve(self, conn: Conn, community: Community, alert: ActiveAlert,
                       now: dt.datetime) -> Resolution | None:
        return None

    def title(self, firing: Firing, locale: str) -> str:
        return "broken"

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        return PushText("broken", "broken")


def test_a_failing_rule_does_not_stop_the_others(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    result = evaluate_community(db, "juxin", settings, NOW,
                                rules=[BrokenRule(), SilentResidentRule(settings.rules)])
    assert result.failed_rules == ["broken"]
    assert len(result.raised) == 1 and len(alerts(db)) == 1


def test_an_unknown_community_evaluates_to_nothing(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    result = evaluate_community(db, "nowhere", make_settings(), NOW, rules=FIXED)
    assert result.locked and result.raised == [] and alerts(db) == []


def test_a_community_locked_elsewhere_is_skipped(
    db_url: str, db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    with psycopg.connect(db_url, row_factory=dict_row) as other:  # another rules process
        held = other.execute("SELECT pg_try_advisory_xact_lock(hashtext('linli:rules:juxin'))"
                             " AS locked").fetchone()
        assert held == {"locked": True}
        skipped = evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
        assert not skipped.locked and alerts(db) == []
        other.rollback()  # the other process's evaluation ends: its lock goes with it
    assert evaluate_community(db, "juxin", settings, NOW, rules=FIXED).locked
    assert len(alerts(db)) == 1
