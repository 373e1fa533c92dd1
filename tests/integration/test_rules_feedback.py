"""Reminders of overdue on-site feedback on a real PostgreSQL: once per deadline, to the
assignee and the control room, with each one's link; the deadline lives in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from linli.alerts import ACKNOWLEDGE
from linli.settings import Settings
from rules.engine import evaluate_community
from rules.feedback import remind_overdue
from tests.integration.test_rules_engine import FIXED, NOW, Db, alerts, seed, timeline


def overdue_pushes(db: Db) -> list[dict[str, Any]]:
    return db.execute("SELECT worker, title, body FROM notifications"
                      " WHERE title LIKE '%%反馈超时%%' ORDER BY worker, id").fetchall()


def acknowledged_by_w01(db: Db, settings: Settings, due: dt.datetime) -> int:
    """Raise the alert, w-01 acknowledges it; its feedback is due at ``due``."""
    evaluate_community(db, "juxin", settings, NOW, rules=FIXED)
    [alert] = alerts(db)
    db.execute(ACKNOWLEDGE, {"alert_id": alert["id"], "actor": "w-01", "worker": "w-01",
                             "feedback_due": dt.timedelta(minutes=240)})
    # ACKNOWLEDGE stamps the server's clock; put the deadline on this test's clock.
    db.execute("UPDATE alerts SET acknowledged_at = %s, feedback_due_at = %s WHERE id = %s",
               (NOW + dt.timedelta(minutes=5), due, alert["id"]))
    return int(alert["id"])


def test_overdue_feedback_is_reminded_once_to_the_assignee_and_the_control_room(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings(api={"public_url": "https://linli.example.org/"})
    due = NOW + dt.timedelta(hours=4)
    alert_id = acknowledged_by_w01(db, settings, due)

    assert remind_overdue(db, settings=settings, now=due - dt.timedelta(seconds=1)) == []
    assert remind_overdue(db, settings=settings, now=due + dt.timedelta(minutes=1)) == [alert_id]
    # A second run, or a restarted rules process, does not remind again.
    assert remind_overdue(db, settings=settings, now=due + dt.timedelta(hours=1)) == []

    pushes = overdue_pushes(db)
    assert [p["worker"] for p in pushes] == ["w-01", "w-cr"]
    assert pushes[0]["title"] == "【邻里·反馈超时】独居老人今日未出现：张桂英"
    assert "已于11月22日 21:05确认" in pushes[0]["body"]
    assert "11月23日 01:00前提交" in pushes[0]["body"] and "负责人：王芳" in pushes[0]["body"]
    links = {r["worker"]: r["token"] for r in db.execute("SELECT worker, token FROM alert_links"
                                                         " WHERE alert_id = %s", (alert_id,))}
    for push in pushes:
        assert push["body"].splitlines()[-1] == (
            f"查看详情并反馈：https://linli.example.org/go/{links[push['worker']]}")
    step = timeline(db, alert_id)[-1]
    assert (step["actor"], step["action"]) == ("system", "feedback_overdue")
    assert step["data"]["workers"] == ["w-01", "w-cr"] and step["data"]["assignee"] == "w-01"
    row = db.execute("SELECT feedback_reminded_at FROM alerts WHERE id = %s",
                     (alert_id,)).fetchone()
    assert row["feedback_reminded_at"] == due + dt.timedelta(minutes=1)


def test_a_new_deadline_after_a_returned_review_is_reminded_again(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    due = NOW + dt.timedelta(hours=4)
    alert_id = acknowledged_by_w01(db, settings, due)
    remind_overdue(db, settings=settings, now=due)
    # What a returned review does: a new deadline, not reminded of yet.
    db.execute("UPDATE alerts SET feedback_due_at = %s, feedback_reminded_at = NULL"
               " WHERE id = %s", (due + dt.timedelta(hours=4), alert_id))
    assert remind_overdue(db, settings=settings, now=due + dt.timedelta(hours=5)) == [alert_id]
    titles = [p["title"] for p in overdue_pushes(db) if p["worker"] == "w-01"]
    assert titles == ["【邻里·反馈超时】独居老人今日未出现：张桂英",
                      "【邻里·反馈超时】独居老人今日未出现：张桂英（第2次）"]


def test_feedback_filed_in_time_or_an_unassigned_alert(
    db: Db, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    due = NOW + dt.timedelta(hours=4)
    alert_id = acknowledged_by_w01(db, settings, due)
    db.execute("UPDATE alerts SET status = 'resolved', resolved_by = 'w-01' WHERE id = %s",
               (alert_id,))
    assert remind_overdue(db, settings=settings, now=due + dt.timedelta(hours=1)) == []
    # Acknowledged by the control room without an assignee: the control room is reminded.
    db.execute("UPDATE alerts SET status = 'acknowledged', assignee = NULL WHERE id = %s",
               (alert_id,))
    assert remind_overdue(db, settings=settings, now=due + dt.timedelta(hours=1)) == [alert_id]
    pushes = overdue_pushes(db)
    assert [p["worker"] for p in pushes] == ["w-cr"] and "负责人：未指派" in pushes[0]["body"]
