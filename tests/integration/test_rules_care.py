"""The care rules on a real PostgreSQL, events stored through ingest's own writer: a restart
in the middle of an open silence alert, registered absences, a device outage and its
recovery, and the "resolved" notice to whoever was told."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ingest.batch import prepare_batch
from ingest.consumer import ReceivedMessage
from ingest.writer import BatchWriter
from linli.contract import Event
from linli.directory import import_directory, parse_directory
from linli.settings import Settings
from rules.engine import Evaluation, default_rules, evaluate_community
from tests import care_home as home

Db = Any
INCIDENT = home.START + dt.timedelta(days=14, hours=13)


@pytest.fixture
def store(db_url: str, db: Db) -> Iterator[Callable[[list[dict[str, object]]], None]]:
    """The community imported (registered at START) and a writer for its events."""
    import_directory(db, parse_directory(home.directory()))
    db.execute("UPDATE residents SET created_at = %s", (home.START,))
    writer = BatchWriter(db_url)

    def write(events: list[dict[str, object]]) -> None:
        messages = [ReceivedMessage(topic=Event.model_validate(e).topic,
                                    payload=json.dumps(e).encode(), mid=0, qos=1,
                                    generation=0) for e in events]
        writer.write(prepare_batch(messages))

    yield write
    writer.close()


def run(db: Db, settings: Settings, at: dt.datetime, rules: list[Any] | None = None) -> Evaluation:
    return evaluate_community(db, home.COMMUNITY, settings, at,
                              rules=rules if rules is not None else default_rules(settings))


def active(db: Db) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM alerts WHERE status IN ('open', 'acknowledged')"
                      " ORDER BY id").fetchall()


def hourly(db: Db, settings: Settings, start: dt.datetime, hours: int) -> None:
    """Evaluate every hour, as the service does (more often, in fact)."""
    rules = default_rules(settings)
    for hour in range(hours + 1):
        run(db, settings, start + dt.timedelta(hours=hour), rules)


def test_a_restart_with_an_open_silence_alert_keeps_one_alert_and_resolves_it(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    store(home.days(15, incident_at=INCIDENT))
    hourly(db, settings, home.START + dt.timedelta(days=13), 24 + 13 + 8)
    [alert] = active(db)
    assert (alert["rule"], alert["subject"], alert["severity"]) == (
        "silent_resident", home.RESIDENT, "high")
    details = alert["details"]
    assert details["place"] == "home" and details["usual_source"] == "own"
    assert details["last"]["kind"] == "activity" and details["last"]["device_name"] == "101水表"
    sent = db.execute("UPDATE notifications SET status = 'sent' WHERE alert_id = %s"
                      " RETURNING id", (alert["id"],)).fetchall()
    assert sent, "the grid worker was told"
    # A new process: new rule objects, nothing in memory. The same alert goes on.
    later = INCIDENT + dt.timedelta(hours=10)
    result = run(db, settings, later)
    assert result.raised == [] and result.refreshed == [alert["id"]]
    # The resident turns the tap on: resolved, and the worker hears so.
    store([home.event(later + dt.timedelta(minutes=5), "activity", "h101-water", person=None,
                      household="h101")])
    result = run(db, settings, later + dt.timedelta(minutes=6))
    assert result.resolved == [alert["id"]] and active(db) == []
    resolved = db.execute("SELECT resolution FROM alerts WHERE id = %s",
                          (alert["id"],)).fetchone()
    assert "101水表有活动" in resolved["resolution"]
    notices = db.execute("SELECT worker, title, body FROM notifications WHERE alert_id = %s"
                         " AND status = 'pending'", (alert["id"],)).fetchall()
    assert [n["worker"] for n in notices] == ["w-01"]
    assert notices[0]["title"].startswith("【邻里·已解除】") and "无需再上门" in notices[0]["body"]
    # Alert numbers have no gaps: every evaluation above refreshed, none burned an id.
    assert db.execute("SELECT max(id) AS n FROM alerts").fetchone()["n"] == 1


def test_a_registered_absence_silences_the_watch_and_its_end_is_reminded(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    leaving = home.START + dt.timedelta(days=14, hours=9)
    events = home.days(15, incident_at=leaving)   # the 09:00 "out" is the last event
    store(events)
    hourly(db, settings, home.START + dt.timedelta(days=13), 24 + 9)
    back_by = leaving + dt.timedelta(days=3)
    db.execute("INSERT INTO absences (community, resident, starts_at, ends_at, reason,"
               " created_by) VALUES (%s, %s, %s, %s, '去女儿家', 'w-01')",
               (home.COMMUNITY, home.RESIDENT, leaving, back_by))
    hourly(db, settings, leaving, 3 * 24)
    assert active(db) == [], "no alert while away on a registered absence"
    # The absence ended two hours ago and nobody came back: a reminder, nothing else.
    result = run(db, settings, back_by + dt.timedelta(hours=2, minutes=1))
    [reminder] = active(db)
    assert result.raised == [reminder["id"]]
    assert (reminder["rule"], reminder["details"]["reason"]) == ("absence_overdue", "去女儿家")
    assert "报备外出已到期" in reminder["title"]
    [push] = db.execute("SELECT body FROM notifications WHERE alert_id = %s AND worker = 'w-01'",
                        (reminder["id"],)).fetchall()
    assert "张桂英（1栋101室）" in push["body"] and "去女儿家" in push["body"]
    store([home.event(back_by + dt.timedelta(hours=3), "passage", "b01-door", direction="in")])
    run(db, settings, back_by + dt.timedelta(hours=3, minutes=1))
    assert active(db) == []


def test_an_absence_registered_during_an_alert_resolves_it(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    store(home.days(15, incident_at=INCIDENT))
    hourly(db, settings, home.START + dt.timedelta(days=13), 24 + 13 + 8)
    [alert] = active(db)
    now = INCIDENT + dt.timedelta(hours=9)
    db.execute("INSERT INTO absences (community, resident, starts_at, ends_at, reason,"
               " created_by) VALUES (%s, %s, %s, %s, '住院', 'w-01')",
               (home.COMMUNITY, home.RESIDENT, now, now + dt.timedelta(days=5)))
    result = run(db, settings, now + dt.timedelta(minutes=1))
    assert result.resolved == [alert["id"]]
    row = db.execute("SELECT resolution FROM alerts WHERE id = %s", (alert["id"],)).fetchone()
    assert "已登记外出（住院" in row["resolution"]


def set_status(db: Db, device: str, state: str, at: dt.datetime,
               status: dict[str, Any] | None = None) -> None:
    db.execute("INSERT INTO devices (community, building, id, kind, state, state_since, status,"
               " status_at) VALUES (%s, 'b01', %s, %s, %s, %s, %s, %s)"
               " ON CONFLICT (community, building, id) DO UPDATE"
               " SET state = EXCLUDED.state, status_at = EXCLUDED.status_at,"
               " status = EXCLUDED.status,"
               " state_since = CASE WHEN devices.state = EXCLUDED.state"
               " THEN devices.state_since ELSE EXCLUDED.state_since END",
               (home.COMMUNITY, device, "agent" if device == "agent" else "door", state, at,
                json.dumps(status or {}), at))


def test_a_building_outage_mutes_silence_and_raises_one_device_alert(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    store(home.days(15, incident_at=INCIDENT))
    hourly(db, settings, home.START + dt.timedelta(days=13), 24 + 12)
    outage = INCIDENT - dt.timedelta(minutes=30)
    set_status(db, "agent", "offline", outage)
    set_status(db, "b01-door", "online", outage - dt.timedelta(minutes=1))
    hourly(db, settings, INCIDENT, 10)
    [alert] = active(db)
    # The agent is the cause; the terminal behind it (gone quiet too) is not alerted.
    assert (alert["rule"], alert["subject"]) == ("device_offline", "b01/agent")
    assert "楼栋采集终端" in alert["title"]
    # Back, and its terminal reports again: the device alert resolves, and the silence,
    # real all along, is judged again at once.
    back = INCIDENT + dt.timedelta(hours=10, minutes=5)
    set_status(db, "agent", "online", back)
    set_status(db, "b01-door", "online", back)
    result = run(db, settings, back)
    assert result.resolved == [alert["id"]]
    [silence] = active(db)
    assert silence["rule"] == "silent_resident" and result.raised == [silence["id"]]
    assert silence["details"]["devices"]["reporting"] is True


@pytest.mark.parametrize("state", ["spool_full", "online"])
def test_a_full_spool_mutes_silence_and_raises_a_device_alert_until_online(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings], state: str,
) -> None:
    """The agent is up and heartbeating but reads nothing new: its residents are not
    judged, the control room sees why (state ``spool_full``, or an older agent's
    ``online`` with the problem listed)."""
    settings = make_settings()
    store(home.days(15, incident_at=INCIDENT))
    hourly(db, settings, home.START + dt.timedelta(days=13), 24 + 12)
    full = INCIDENT - dt.timedelta(minutes=30)
    status = {"state": state, "problems": ["spool_full"], "spooled": 12}
    rules = default_rules(settings)
    set_status(db, "b01-door", "online", full)
    for minutes in range(0, 10 * 60 + 1, 30):  # heartbeats refresh it all along
        at = full + dt.timedelta(minutes=minutes)
        set_status(db, "agent", state, at, status)
        set_status(db, "b01-door", "online", at)
        run(db, settings, at + dt.timedelta(seconds=1), rules)
    [alert] = active(db)
    assert (alert["rule"], alert["subject"], alert["severity"]) == (
        "device_offline", "b01/agent", "warning")
    assert alert["title"] == "边缘网关缓存已满：1栋 楼栋采集终端"
    assert alert["details"]["spool_full"] is True
    [push] = db.execute("SELECT body FROM notifications WHERE alert_id = %s LIMIT 1",
                        (alert["id"],)).fetchall()
    assert "边缘网关缓存已满：暂停读取门禁记录，网络恢复或腾出空间后自动继续" in push["body"]
    assert "磁盘空间" in push["body"]
    # room again: online, no problem; the alert resolves and the silence is judged at once
    back = full + dt.timedelta(hours=10, minutes=10)
    set_status(db, "agent", "online", back, {"state": "online", "problems": []})
    set_status(db, "b01-door", "online", back)
    result = run(db, settings, back + dt.timedelta(seconds=1))
    assert result.resolved == [alert["id"]]
    resolution = db.execute("SELECT resolution FROM alerts WHERE id = %s",
                            (alert["id"],)).fetchone()["resolution"]
    assert "恢复正常读取" in resolution
    [silence] = active(db)
    assert silence["rule"] == "silent_resident" and result.raised == [silence["id"]]


def test_a_stale_heartbeat_counts_as_offline(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    store(home.days(2))
    now = home.START + dt.timedelta(days=1, hours=12)
    set_status(db, "b01-door", "online", now - dt.timedelta(minutes=4))
    assert run(db, settings, now).raised == []
    result = run(db, settings, now + dt.timedelta(minutes=2))
    [alert] = active(db)
    assert result.raised == [alert["id"]] and alert["subject"] == "b01/b01-door"


def test_an_offline_report_is_an_alert_only_once_it_lasts(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings],
) -> None:
    """A terminal says offline while its agent starts: no installer is sent for that."""
    settings = make_settings()
    store(home.days(2))
    now = home.START + dt.timedelta(days=1, hours=12)
    set_status(db, "b01-door", "offline", now - dt.timedelta(minutes=1))
    assert run(db, settings, now).raised == []
    # Still offline, heartbeats refreshing the report: from five minutes on, it counts.
    set_status(db, "b01-door", "offline", now + dt.timedelta(minutes=4, seconds=30))
    result = run(db, settings, now + dt.timedelta(minutes=4, seconds=31))
    assert [a["subject"] for a in active(db)] == ["b01/b01-door"] and result.raised


def test_only_a_visit_confirmed_in_the_feedback_is_a_sign_of_life(
    db: Db, store: Callable[..., None], make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    store(home.days(15, incident_at=INCIDENT))
    hourly(db, settings, home.START + dt.timedelta(days=13), 24 + 13 + 8)
    [alert] = active(db)
    # No phone numbers in what the alert keeps (the API reads them when needed).
    assert "phone" not in alert["details"] and "emergency_contacts" not in alert["details"]
    later = INCIDENT + dt.timedelta(hours=10)
    # Closed by a person who did not go (outcome "other", no visit): still silent, so the
    # care rule raises again at once.
    db.execute("UPDATE alerts SET status = 'resolved', resolved_at = %s, resolved_by = 'w-01',"
               " outcome = 'other' WHERE id = %s", (later, alert["id"]))
    again = run(db, settings, later + dt.timedelta(minutes=1))
    [second] = active(db)
    assert again.raised == [second["id"]] and second["rule"] == "silent_resident"
    # Feedback "safe" from the worker who went: the visit is the last sign of life.
    visit = later + dt.timedelta(minutes=30)
    db.execute("UPDATE alerts SET status = 'resolved', resolved_at = %s, resolved_by = 'w-01',"
               " outcome = 'safe', visited_at = %s WHERE id = %s", (visit, visit, second["id"]))
    after = run(db, settings, visit + dt.timedelta(minutes=1))
    assert after.raised == [] and active(db) == []
