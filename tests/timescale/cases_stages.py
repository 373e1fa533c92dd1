"""Cases for the rules engine (silence, safety and care rules), ingest, the shared alert
changes and the directory import.

Ingest's COPY statements need ``COPY … FROM STDIN``, which pglite cannot take: they run
only against a real server (LINLI_TIMESCALE_TEST_URL). Ingest's fallback for redelivered
batches (temporary staging table, then INSERT … ON CONFLICT DO NOTHING) runs everywhere:
where COPY is missing the test fills the staging table with INSERT instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from psycopg.types.json import Jsonb

from ingest import queries as ingest
from rules.care.watch import CARE_RULES
from tests.timescale.compare import Case, Params, execute, table
from tests.timescale.database import Conn
from tests.timescale.seed import Seed, baseline

R = "rules.queries."
S = "rules.safety.queries."
C = "rules.care.queries."
I = "ingest.queries."  # noqa: E741
D = "linli.directory_queries."
NEW_EVENT_IDS = [uuid.UUID(int=n, version=4) for n in (11, 12, 13)]


def new_event_rows(seed: Seed) -> list[tuple[Any, ...]]:
    """Three events not in the seed (one 10 days old: its chunk is compressed) and two
    already stored (a redelivery), as ingest's ``event_row`` tuples."""
    def row(event_id: uuid.UUID, at: dt.datetime, community: str) -> tuple[Any, ...]:
        return (event_id, at, community, "b01", "b01-u1-door", "passage", "in", "r-0000",
                "face", 1, 1.0, "door", {"seq": -1})

    stored = [seed.rows("events")[i] for i in (3, 500)]
    return [
        row(NEW_EVENT_IDS[0], seed.at(days=10, minutes=7), "juxin"),
        row(NEW_EVENT_IDS[1], seed.at(minutes=1), "juxin"),
        row(NEW_EVENT_IDS[2], seed.at(hours=2), "heping"),
        *(row(e["event_id"], e["occurred_at"], e["community"]) for e in stored),
    ]


def fill_staging(conn: Conn, seed: Seed, copy_ok: bool) -> None:
    """What ingest's writer does before INSERT_FROM_STAGING (COPY, or INSERT on pglite)."""
    conn.execute(ingest.CREATE_STAGING)
    rows = new_event_rows(seed)
    if copy_ok:
        copy_rows(conn, ingest.COPY_STAGING, rows)
        return
    columns = ", ".join(ingest.EVENT_COLUMNS)
    marks = ", ".join(["%s"] * len(ingest.EVENT_COLUMNS))
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO ingest_staging ({columns}) VALUES ({marks})",
                        [(*row[:-1], Jsonb(row[-1])) for row in rows])


def copy_rows(conn: Conn, sql: str, rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(list(ingest.EVENT_TYPES))
        for row in rows:
            copy.write_row(row)


def run_copy(conn: Conn, sql: str, params: Params, copy_ok: bool) -> tuple[list[Any], int]:
    """COPY the new events (the fast path: none of them is stored yet)."""
    rows = [r for r in params["rows"] if r[0] in NEW_EVENT_IDS]
    if sql == ingest.COPY_STAGING:
        conn.execute(ingest.CREATE_STAGING)
    copy_rows(conn, sql, rows)
    return [], len(rows)


def community(seed: Seed, cid: str, **values: Any) -> Params:
    row = next(c for c in seed.rows("communities") if c["id"] == cid)
    return {k: row[k] for k in ("id", "name", "timezone", "silent_check_at",
                                "silent_max_hours", "locale")} | values


def resident(seed: Seed, rid: str, **values: Any) -> Params:
    r = next(x for x in seed.rows("residents") if x["id"] == rid and x["community"] == "juxin")
    return {"community": "juxin", "id": rid, "name": r["name"], "household": r["household"],
            "phone": r["phone"], "elderly": r["is_elderly"], "lives_alone": r["lives_alone"],
            "care_level": r["care_level"], "emergency_contacts": r["emergency_contacts"],
            **values}


def alert(seed: Seed, subject: str) -> Params:
    return {"community": "juxin", "rule": "silent_resident", "subject": subject,
            "severity": "warning", "grid": "g1", "building": "b01",
            "title": f"独居老人今日未出现：{subject}", "details": Jsonb({"reason": "not_seen_today"}),
            "now": seed.anchor, "escalate_at": seed.at(minutes=-30)}


def silent(seed: Seed, **values: Any) -> Params:
    return {"community": "juxin", "rule": "silent_resident", "visits_since": seed.at(days=5),
            **values}


def pending_id(seed: Seed) -> int:
    return int(next(n["id"] for n in seed.rows("notifications") if n["status"] == "pending"))


def pending_attempts(seed: Seed) -> int:
    return int(next(n["attempts"] for n in seed.rows("notifications")
                    if n["status"] == "pending"))


def left_sending(conn: Conn, seed: Seed, copy_ok: bool) -> None:
    """The notifier stopped during a send: its attempt is still marked as sending."""
    conn.execute("INSERT INTO notification_attempts (notification_id, at, ok, duration_ms,"
                 " error) VALUES (%(id)s, %(at)s, false, 0, 'sending')",
                 {"id": pending_id(seed), "at": seed.at(minutes=-3)})


def jsonb_rows(*rows: dict[str, Any]) -> Params:
    return {"rows": Jsonb([{k: v.isoformat() if isinstance(v, dt.datetime) else v
                            for k, v in r.items()} for r in rows])}


def presence_rows(seed: Seed) -> Params:
    seen = seed.rows("presence")[0]
    return jsonb_rows(
        {**seen, "event_id": str(NEW_EVENT_IDS[1]), "last_seen_at": seed.at(minutes=1),
         "device": "b01-u2-door"},  # newer: moves
        {**seed.rows("presence")[1], "event_id": str(NEW_EVENT_IDS[0]),
         "last_seen_at": seed.at(days=30)},  # older: ignored
        {"community": "heping", "resident": "r-0099", "last_seen_at": seed.at(hours=1),
         "building": "b01", "device": "b01-u1-door", "direction": "out",
         "event_id": str(NEW_EVENT_IDS[2])},  # first sighting
    )


def sightings(seed: Seed) -> Params:
    """A known device with a newer event (its seeded one is 2 h old: it moves), a known
    device with an older one (unchanged) and a device seen for the first time."""
    return jsonb_rows(
        {"community": "juxin", "building": "b02", "device": "b02-u1-door", "kind": "door",
         "last_event_at": seed.at(minutes=1)},
        {"community": "juxin", "building": "b01", "device": "b01-u2-door", "kind": "door",
         "last_event_at": seed.at(days=40)},
        {"community": "heping", "building": "b02", "device": "b02-new", "kind": "door",
         "last_event_at": seed.at(minutes=2)},
    )


def record_last_events(conn: Conn, seed: Seed, copy_ok: bool) -> None:
    """Safety alerts record the last event they covered; a closed one and the open one."""
    for alert_id, hours in ((3, 25), (4, 19)):
        conn.execute("UPDATE alerts SET details = details || jsonb_build_object("
                     "'last_event_at', %(at)s::text) WHERE id = %(id)s",
                     {"at": seed.at(hours=hours).isoformat(), "id": alert_id})


def safety(seed: Seed, **values: Any) -> Params:
    return {"community": "juxin", "since": seed.at(days=20), "until": seed.anchor, **values}


def signal_rows(seed: Seed) -> Params:
    """Rows as ``PreparedBatch.signal_updates()`` makes them (one per device, person and
    household, sorted by that key)."""
    def row(building: str, device: str, person: str | None = None,
            household: str | None = None, door_at: dt.datetime | None = None,
            door_direction: str | None = None, activity_at: dt.datetime | None = None,
            community: str = "juxin") -> dict[str, Any]:
        return {"community": community, "building": building, "device": device,
                "person": person, "household": household, "door_at": door_at,
                "door_direction": door_direction, "activity_at": activity_at}

    rows = [
        # the heping resident, older than what is stored: nothing moves
        row("b01", "b01-u1-door", "r-0003", door_at=seed.at(hours=6), door_direction="out",
            community="heping"),
        # r-0000 named at two doors: the newer passage wins and moves the stored one
        row("b01", "b01-u1-door", "r-0000", door_at=seed.at(minutes=1), door_direction="out"),
        row("b01", "b01-u2-door", "r-0000", door_at=seed.at(minutes=40),
            door_direction="in"),
        # a person the directory does not know: dropped
        row("b01", "b01-u1-door", "r-9999", door_at=seed.at(minutes=2)),
        # r-0000's own door contact (devices.household), older than the passage above
        row("b01", "h101-door", door_at=seed.at(minutes=4), door_direction="out"),
        # the water meter names r-0004's home in attrs; and a home nobody lives in
        row("b01", "b01-meter", household="h-b01-u1-201", activity_at=seed.at(minutes=3)),
        row("b01", "b01-meter", household="h-nobody", activity_at=seed.at(minutes=3)),
        # r-0002's first sign of life: a new row
        row("b01", "b01-u1-door", "r-0002", door_at=seed.at(minutes=7), door_direction="in"),
        # r-0006's motion sensor (devices.household): activity where there was none, and
        # older than the stored first signal
        row("b02", "h203-motion", activity_at=seed.at(days=30)),
        # r-0010 at 2栋's door, older than the stored passage: ignored
        row("b02", "b02-u1-door", "r-0010", door_at=seed.at(days=4), door_direction="in"),
    ]
    return jsonb_rows(*sorted(rows, key=lambda r: (r["community"], r["building"], r["device"],
                                                   r["person"] or "", r["household"] or "")))


def queue_tier_two(conn: Conn, seed: Seed, copy_ok: bool) -> None:
    """Alert 1 escalated: w-01 was told a second time on the same channel."""
    conn.execute(
        "INSERT INTO notifications (alert_id, community, worker, url_index, channel, title,"
        " body, status, attempts, next_attempt_at, created_at, sent_at)"
        " VALUES (1, 'juxin', 'w-01', 0, 'json://127.0.0.1', 'alert 1 tier 2', 'again',"
        " 'sent', 1, %(at)s, %(at)s, %(at)s)", {"at": seed.at(minutes=10)})


def care(seed: Seed, **values: Any) -> Params:
    """What ``rules.care.watch.Watch`` passes: the community, its clock, the care rules."""
    return {"community": "juxin", "now": seed.anchor, "rules": list(CARE_RULES),
            "residents": ["r-0000", "r-0004", "r-0006", "r-0010"],
            "since": seed.at(days=28), **values}


def learned(seed: Seed, resident: str, days: float) -> Params:
    return {"community": "juxin", "resident": resident, "now": seed.anchor,
            "history_days": days, "model": Jsonb(baseline(days, True).to_json())}


def overdue(seed: Seed, community: str) -> Params:
    """AbsenceOverdueRule at the anchor: 2 h of grace, 47 h of backstop."""
    return {"community": community, "now": seed.anchor, "due_before": seed.at(hours=2),
            "oldest": seed.at(hours=49)}


def statuses(seed: Seed) -> Params:
    return jsonb_rows(
        {"community": "juxin", "building": "b01", "device": "b01-u2-door", "kind": "door",
         "state": "online", "status": {"state": "online", "version": "0.1.0"}},
        {"community": "juxin", "building": "b03", "device": "agent", "kind": "agent",
         "state": "offline", "status": {"state": "offline"}},
    )


def same_statuses(seed: Seed) -> Params:
    """Heartbeats that do not change the state: one device with state_since, one without."""
    return jsonb_rows(
        {"community": "juxin", "building": "b01", "device": "b01-u1-door", "kind": "door",
         "state": "online", "status": {"state": "online", "uptime_s": 9.5}},
        {"community": "heping", "building": "b01", "device": "b01-u1-door", "kind": "door",
         "state": "online", "status": {"state": "online"}},
    )


ACKNOWLEDGED = ("SELECT id, status, acknowledged_at, acknowledged_by, escalate_at, assignee,"
                " assigned_at, feedback_due_at - acknowledged_at AS due_in,"
                " feedback_reminded_at FROM alerts ORDER BY id")
"""The alerts after ACKNOWLEDGE; the deadline as an interval (now() differs per database)."""

LINKS = ("SELECT token, alert_id, community, worker, created_at, expires_at, opened_at"
         " FROM alert_links ORDER BY alert_id, worker")


def acknowledge(alert_id: int, worker: str | None) -> Params:
    return {"alert_id": alert_id, "actor": worker or "ctl-juxin", "worker": worker,
            "feedback_due": dt.timedelta(minutes=240)}


def link(seed: Seed, alert_id: int, worker: str, *, hours: float) -> Params:
    return {"token": f"new-{alert_id}-{worker}", "alert_id": alert_id, "community": "juxin",
            "worker": worker, "now": seed.anchor, "expires_at": seed.at(hours=-hours)}


def staff_accounts(conn: Conn, seed: Seed, copy_ok: bool) -> None:
    """Accounts of juxin's control room w-cr (two tokens, one revoked) and of w-03 (disabled),
    and an admin (workers and names no seeded account uses)."""
    conn.execute(
        "INSERT INTO users (id, username, display_name, role, community, worker, buildings,"
        " password_hash, disabled_at) VALUES"
        " (901, 'juxin.w-cr', '网格员w-cr', 'control_room', 'juxin', 'w-cr', '{}', 'x', NULL),"
        " (902, 'juxin.w-03', '网格员w-03', 'grid_worker', 'juxin', 'w-03', '{}', 'x', %s),"
        " (903, 'root-9', 'root', 'admin', NULL, NULL, '{}', 'x', NULL)", (seed.at(days=2),))
    conn.execute(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, scope, revoked_at)"
        " VALUES (801, 901, 'bridge', '\\x01', 'linli_abc', 'read', NULL),"
        " (802, 901, 'old', '\\x02', 'linli_def', 'write', %s)", (seed.at(days=1),))


USERS = ("SELECT id, username, display_name, role, community, worker, disabled_at FROM users"
         " WHERE id > 900 ORDER BY id")
TOKENS = "SELECT id, user_id, name, revoked_at FROM api_tokens WHERE id > 800 ORDER BY id"


CASES = [
    # rules engine
    Case(R + "COMMUNITIES", "all"),
    Case(R + "COMMUNITY", "heping", lambda s: {"community": "heping"}),
    Case(R + "TRY_COMMUNITY_LOCK", "juxin", lambda s: {"community": "juxin"}),
    Case(R + "WATCHED_RESIDENTS", "juxin, visits in 5 days", silent),
    Case(R + "RESIDENT_STATE", "a visited resident", lambda s: silent(s, resident="r-0004")),
    Case(R + "ACTIVE_ALERTS", "silent residents", silent),
    Case(R + "REFRESH_ALERT", "fires again", lambda s: alert(s, "r-0000"), table("alerts")),
    Case(R + "REFRESH_ALERT", "acknowledged alert turns critical",
         lambda s: {**alert(s, "r-0004"), "severity": "critical"}, table("alerts")),
    Case(R + "REFRESH_ALERT", "no active alert", lambda s: alert(s, "r-0002"),
         table("alerts"), expect_empty=True),
    Case(R + "INSERT_ALERT", "new alert", lambda s: alert(s, "r-0002"), table("alerts")),
    Case(R + "INSERT_ALERT", "already active", lambda s: alert(s, "r-0000"),
         table("alerts"), expect_empty=True),
    Case(R + "NEXT_ESCALATION", "juxin", lambda s: {"community": "juxin"}),
    Case(R + "SET_ESCALATE_AT", "alert 1",
         lambda s: {"alert_id": 1, "escalate_at": s.at(hours=-1)}, table("alerts", "id = 1")),
    Case(R + "DUE_ESCALATIONS", "due now", lambda s: {"now": s.anchor, "limit": 10}),
    Case(R + "ESCALATE", "alert 1",
         lambda s: {"alert_id": 1, "next_escalate_at": s.at(hours=-2), "now": s.anchor,
                    "max_tier": 3},
         table("alerts", "id = 1")),
    Case(R + "ESCALATE", "alert 4 reaches the top tier",
         lambda s: {"alert_id": 4, "next_escalate_at": s.at(hours=-2), "now": s.anchor,
                    "max_tier": 3},
         table("alerts", "id = 4")),
    Case(R + "GRID_WORKERS", "juxin g1", lambda s: {"community": "juxin", "grid": "g1"}),
    Case(R + "CONTROL_ROOM", "juxin", lambda s: {"community": "juxin"}),
    Case(R + "WITHDRAW_PENDING", "alert 1", lambda s: {"alert_id": 1},
         table("notifications", "alert_id = 1")),
    Case(R + "TOLD_ABOUT", "alert 1, one worker told twice", lambda s: {"alert_id": 1},
         prepare=queue_tier_two),
    Case(R + "DUE_NOTIFICATION", "due now", lambda s: {"now": s.anchor}),
    Case(R + "CLOSE_INTERRUPTED_ATTEMPTS", "one attempt left sending",
         lambda s: {"notification_id": pending_id(s), "sending": "sending",
                    "error": "outcome unknown"}, table("notification_attempts"),
         prepare=left_sending),
    Case(R + "START_ATTEMPT", "pending one",
         lambda s: {"notification_id": pending_id(s), "now": s.anchor, "sending": "sending"},
         table("notification_attempts")),
    Case(R + "CLAIM_NOTIFICATION", "pending one",
         lambda s: {"notification_id": pending_id(s), "note": "sending",
                    "lease_until": s.at(minutes=1)}, table("notifications")),
    Case(R + "FINISH_ATTEMPT", "first attempt",
         lambda s: {"attempt_id": 1, "ok": False, "duration_ms": 12, "error": "timeout"},
         table("notification_attempts")),
    Case(R + "MARK_SENT", "pending one",
         lambda s: {"notification_id": pending_id(s), "now": s.anchor, "note": None},
         table("notifications")),
    Case(R + "MARK_RETRY", "pending one, its current attempt",
         lambda s: {"notification_id": pending_id(s), "error": "503",
                    "next_attempt_at": s.at(minutes=-5), "attempt": pending_attempts(s)},
         table("notifications")),
    Case(R + "MARK_FAILED", "pending one, its current attempt",
         lambda s: {"notification_id": pending_id(s), "error": "gave up",
                    "attempt": pending_attempts(s)}, table("notifications")),
    # safety rules
    Case(S + "EVENTS_OF_KINDS", "denied and forced in 20 days",
         lambda s: safety(s, kinds=["access_denied", "door_forced"])),
    Case(S + "SUBJECT_HISTORY", "closed and open alerts",
         lambda s: {"community": "juxin", "rule": "silent_resident",
                    "subjects": ["r-0000", "r-0001", "r-0004"]},
         prepare=record_last_events),
    Case(S + "SUBJECT_HISTORY", "open door alarm",
         lambda s: {"community": "juxin", "rule": "door_forced", "subjects": ["b01-u1-door"]},
         prepare=record_last_events),
    Case(S + "FIRST_CLOSE_AFTER", "a passage at b01-u1-door",
         lambda s: safety(s, building="b01", device="b01-u1-door", since=s.at(days=3))),
    Case(S + "LAST_EVENT_AT", "last denial at b01-u1-door",
         lambda s: safety(s, building="b01", device="b01-u1-door", kinds=["access_denied"])),
    Case(S + "WATCHED_DOORS", "a camera on b02-u1-door", lambda s: {"community": "juxin"}),
    Case(S + "DOORWAY_PASSAGES", "b02-u1-door and its camera",
         lambda s: safety(s, buildings=["b02", "b02"], devices=["b02-u1-door", "b02-cam-1"])),
    Case(S + "LAST_CAMERA_PASSAGE", "cameras on a door, last hour",
         lambda s: safety(s, since=s.at(hours=1))),
    # care rules
    Case(C + "WATCHED", "juxin at the anchor",
         lambda s: care(s, stale_before=s.at(minutes=5), backlog=100)),
    Case(C + "SIGNALS", "28 days of four residents", care),
    Case(C + "ABSENCES", "28 days of four residents", care),
    Case(C + "VISITS", "28 days of four residents", care),
    Case(C + "UPSERT_BASELINE", "first baseline", lambda s: learned(s, "r-0006", 18.0),
         table("resident_baselines")),
    Case(C + "UPSERT_BASELINE", "learned again", lambda s: learned(s, "r-0000", 20.0),
         table("resident_baselines")),
    Case(C + "OVERDUE_ABSENCES", "juxin: one of four ended absences",
         lambda s: overdue(s, "juxin")),
    Case(C + "OVERDUE_ABSENCES", "heping: back since", lambda s: overdue(s, "heping"),
         expect_empty=True),
    Case(C + "LAST_SIGNAL", "door and activity",
         lambda s: {"community": "juxin", "resident": "r-0004"}),
    Case(C + "LAST_SIGNAL", "no signal yet",
         lambda s: {"community": "juxin", "resident": "r-0002"}, expect_empty=True),
    Case(C + "DEVICE_HEALTH", "juxin", lambda s: {"community": "juxin"}),
    Case(C + "NEXT_ABSENCE_END", "juxin", lambda s: {"community": "juxin", "now": s.anchor}),
    # ingest
    Case(I + "COPY_EVENTS", "new events", lambda s: {"rows": new_event_rows(s)},
         table("events", "attrs @> '{\"seq\": -1}'"), run=run_copy, needs_copy=True),
    Case(I + "COPY_STAGING", "new events", lambda s: {"rows": new_event_rows(s)},
         "SELECT * FROM ingest_staging ORDER BY event_id", run=run_copy, needs_copy=True),
    Case(I + "INSERT_FROM_STAGING", "redelivered batch, one event into a compressed chunk",
         snapshot=table("events", "attrs @> '{\"seq\": -1}'"), prepare=fill_staging,
         also_covers=(I + "CREATE_STAGING",)),
    Case(I + "UPSERT_PRESENCE", "newer, older and first sighting", presence_rows,
         table("presence")),
    Case(I + "UPSERT_DEVICE_SIGHTINGS", "known, stale and new device", sightings,
         table("devices")),
    Case(I + "UPSERT_DEVICE_SIGHTINGS", "a device of b01 under b02's topic: flagged once",
         lambda s: jsonb_rows(
             {"community": "juxin", "building": "b02", "device": "b01-u2-door",
              "kind": "door", "last_event_at": s.at(minutes=1)}),
         table("dead_letters")),
    Case(I + "UPSERT_RESIDENT_SIGNALS", "named, home devices, newer and older", signal_rows,
         table("resident_signals")),
    Case(I + "UPSERT_DEVICE_STATUS", "known device and new agent", statuses, table("devices")),
    Case(I + "UPSERT_DEVICE_STATUS", "same state: state_since kept or dated",
         same_statuses, table("devices")),
    Case(I + "INSERT_DEAD_LETTER", "binary payload",
         lambda s: {"topic": "linli/v1/juxin/b01/x/event", "payload": b"\x00\xffnot json",
                    "reason": "not JSON"}, table("dead_letters")),
    Case(I + "NOTIFY_EVENTS", "juxin", lambda s: {"community": "juxin"}),
    Case(I + "NOTIFY_URGENT", "juxin", lambda s: {"community": "juxin"}),
    # alert changes shared by the rules engine and the API
    Case("linli.alerts.ACKNOWLEDGE", "a grid worker takes an alert nobody has",
         lambda s: acknowledge(4, "w-01"), ACKNOWLEDGED),
    Case("linli.alerts.ACKNOWLEDGE", "the control room, the assignee kept",
         lambda s: acknowledge(1, None), ACKNOWLEDGED),
    Case("linli.alerts.ACKNOWLEDGE", "dispatched to another grid worker",
         lambda s: acknowledge(1, "w-02"), ACKNOWLEDGED, expect_empty=True),
    Case("linli.alerts.ACKNOWLEDGE", "already acknowledged",
         lambda s: acknowledge(2, "w-01"), ACKNOWLEDGED, expect_empty=True),
    Case("linli.alerts.RESOLVE", "acknowledged alert",
         lambda s: {"alert_id": 2, "actor": "w-02", "note": "visited", "at": None},
         table("alerts", "id = 2")),
    Case("linli.alerts.RESOLVE", "open alert on the evaluation's clock",
         lambda s: {"alert_id": 1, "actor": "system", "note": "seen", "at": s.at(minutes=3)},
         table("alerts", "id = 1")),
    Case("linli.alerts.ADD_TIMELINE", "note",
         lambda s: {"alert_id": 1, "actor": "w-01", "action": "note", "note": "called",
                    "data": Jsonb({"via": "api"}), "at": None},
         table("alert_timeline", "alert_id = 1")),
    Case("linli.alerts.ADD_TIMELINE", "on the evaluation's clock",
         lambda s: {"alert_id": 1, "actor": "system", "action": "resolved", "note": "seen",
                    "data": Jsonb({}), "at": s.at(minutes=3)},
         table("alert_timeline", "alert_id = 1")),
    Case("linli.alerts.INSERT_NOTIFICATION", "new",
         lambda s: {"alert_id": 6, "community": "heping", "worker": "w-01", "url_index": 0,
                    "channel": "json://127.0.0.1", "title": "new", "body": "b", "now": s.anchor},
         table("notifications", "alert_id = 6")),
    Case("linli.alerts.INSERT_NOTIFICATION", "already queued",
         lambda s: {"alert_id": 1, "community": "juxin", "worker": "w-01", "url_index": 0,
                    "channel": "json://127.0.0.1", "title": "alert 1 tier 1", "body": "b",
                    "now": s.anchor},
         table("notifications", "alert_id = 1"), expect_empty=True),
    Case("linli.alerts.UPSERT_ALERT_LINK", "a new link",
         lambda s: link(s, 4, "w-01", hours=24), LINKS),
    Case("linli.alerts.UPSERT_ALERT_LINK", "the worker's link: token kept, expiry moved on",
         lambda s: link(s, 1, "w-02", hours=24), LINKS),
    Case("linli.alerts.UPSERT_ALERT_LINK", "the worker's link: a sooner expiry is ignored",
         lambda s: link(s, 1, "w-02", hours=1), LINKS),
    Case("linli.alerts.PUSH_RECIPIENT", "juxin's w-02",
         lambda s: {"community": "juxin", "worker": "w-02"}),
    Case("linli.alerts.PUSH_RECIPIENT", "an inactive worker",
         lambda s: {"community": "juxin", "worker": "w-03"}, expect_empty=True),
    # on-site feedback overdue (rules.feedback)
    Case(R + "DUE_FEEDBACK", "alert 2's feedback is overdue",
         lambda s: {"now": s.anchor, "limit": 100}),
    Case(R + "DUE_FEEDBACK", "nothing due yet",
         lambda s: {"now": s.at(hours=26), "limit": 100}, expect_empty=True),
    Case(R + "MARK_FEEDBACK_REMINDED", "alert 2",
         lambda s: {"alert_id": 2, "now": s.anchor}, table("alerts", "id = 2")),
    Case(R + "MARK_FEEDBACK_REMINDED", "an open alert",
         lambda s: {"alert_id": 1, "now": s.anchor}, table("alerts", "id = 1"),
         expect_empty=True),
    # directory import
    Case(D + "UPSERT_COMMUNITY", "new",
         lambda s: community(s, "juxin", id="xinyuan", name="新苑"), table("communities")),
    Case(D + "UPSERT_COMMUNITY", "unchanged", lambda s: community(s, "juxin"),
         table("communities"), expect_empty=True),
    Case(D + "UPSERT_COMMUNITY", "renamed", lambda s: community(s, "heping", name="和平新村"),
         table("communities")),
    Case(D + "UPSERT_GRID", "renamed",
         lambda s: {"community": "juxin", "id": "g1", "name": "一网格"}, table("grids")),
    Case(D + "UPSERT_BUILDING", "new",
         lambda s: {"community": "juxin", "id": "b03", "name": "3栋", "grid": "g2",
                    "plan_x": None, "plan_y": None},
         table("buildings")),
    Case(D + "UPSERT_BUILDING", "placed on the plan",
         lambda s: {"community": "juxin", "id": "b01", "name": "1栋", "grid": "g1",
                    "plan_x": 0.25, "plan_y": 0.75},
         table("buildings")),
    Case(D + "UPSERT_UNIT", "renamed",
         lambda s: {"community": "juxin", "building": "b01", "id": "u1", "name": "东单元"},
         table("units")),
    Case(D + "UPSERT_HOUSEHOLD", "new",
         lambda s: {"community": "juxin", "id": "h-new", "building": "b02", "unit": "u1",
                    "room": "909"}, table("households")),
    Case(D + "UPSERT_RESIDENT", "new phone", lambda s: resident(s, "r-0000", phone="1"),
         table("residents")),
    Case(D + "UPSERT_RESIDENT", "back in the file (reactivated)",
         lambda s: resident(s, "r-0008"), table("residents")),
    Case(D + "UPSERT_GRID_WORKER", "new",
         lambda s: {"community": "juxin", "id": "w-09", "name": "新人", "phone": None,
                    "role": "grid_worker", "locale": None, "notify": ["json://x/1"]},
         table("grid_workers")),
    Case(D + "INSERT_WORKER_GRID", "new link",
         lambda s: {"community": "juxin", "worker": "w-cr", "grid": "g1"},
         table("grid_worker_grids")),
    Case(D + "INSERT_WORKER_GRID", "existing link",
         lambda s: {"community": "juxin", "worker": "w-01", "grid": "g1"},
         table("grid_worker_grids"), expect_empty=True),
    Case(D + "DELETE_STALE_WORKER_GRIDS", "file keeps g1 links only",
         lambda s: {"community": "juxin", "workers": ["w-01", "w-02"], "grids": ["g1", "g1"]},
         table("grid_worker_grids")),
    Case(D + "UNREGISTERED_DEVICES", "juxin", lambda s: {"community": "juxin"}),
    Case(D + "UPSERT_DEVICE", "register a device seen on the wire",
         lambda s: {"community": "juxin", "building": "b02", "id": "b02-cam-1",
                    "kind": "camera", "name": "2栋摄像头", "household": None,
                    "door": "b02-u1-door", "keep_links": False}, table("devices")),
    Case(D + "UPSERT_DEVICE", "renamed, links kept",
         lambda s: {"community": "juxin", "building": "b02", "id": "b02-cam-1",
                    "kind": "camera", "name": "2栋摄像头", "household": None, "door": None,
                    "keep_links": True}, table("devices")),
    Case(D + "UPSERT_DEVICE", "moved to another home",
         lambda s: {"community": "juxin", "building": "b02", "id": "h203-motion",
                    "kind": "sensor", "name": "203人体感应", "household": "h-b02-u1-303",
                    "door": None, "keep_links": False}, table("devices")),
    Case(D + "UPSERT_DEVICE", "unchanged, links kept",
         lambda s: {"community": "juxin", "building": "b01", "id": "h101-door",
                    "kind": "door", "name": "101门磁", "household": None, "door": None,
                    "keep_links": True}, table("devices"), expect_empty=True),
    Case(D + "DEACTIVATE_MISSING_RESIDENTS", "two left the file",
         lambda s: {"community": "juxin",
                    "keep": [r["id"] for r in s.rows("residents")][2:]}, table("residents")),
    Case(D + "DEACTIVATE_MISSING_WORKERS", "one kept",
         lambda s: {"community": "juxin", "keep": ["w-01"]}, table("grid_workers")),
    # staff accounts (directory import) and ``linli users``
    Case(D + "WORKER_ACCOUNTS", "juxin, with and without accounts",
         lambda s: {"community": "juxin"}, prepare=staff_accounts),
    Case(D + "UPDATE_WORKER_ACCOUNT", "renamed, now a grid worker",
         lambda s: {"user_id": 901, "role": "grid_worker", "display_name": "王芳"}, USERS,
         prepare=staff_accounts),
    Case(D + "UPDATE_WORKER_ACCOUNT", "unchanged",
         lambda s: {"user_id": 901, "role": "control_room", "display_name": "网格员w-cr"},
         USERS, prepare=staff_accounts, expect_empty=True),
    Case(D + "UPDATE_WORKER_ACCOUNT", "an admin is left alone",
         lambda s: {"user_id": 903, "role": "grid_worker", "display_name": "x"}, USERS,
         prepare=staff_accounts, expect_empty=True),
    Case("linli.accounts.USER_PLACE", "worker with an account, one unknown building",
         lambda s: {"community": "juxin", "worker": "w-cr", "buildings": ["b02", "b09"]},
         prepare=staff_accounts),
    Case("linli.accounts.USER_PLACE", "unknown community, no worker",
         lambda s: {"community": "nowhere", "worker": None, "buildings": []}),
    Case("linli.accounts.REVOKE_ANY_TOKEN", "an active token",
         lambda s: {"token_id": 801}, TOKENS, prepare=staff_accounts),
    Case("linli.accounts.REVOKE_ANY_TOKEN", "revoked before: kept as it was",
         lambda s: {"token_id": 802}, TOKENS, prepare=staff_accounts),
]

__all__ = ["CASES", "execute"]
