"""Cases for the rules engine, ingest, the shared alert changes and the directory import.

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
from tests.timescale.compare import Case, Params, execute, table
from tests.timescale.database import Conn
from tests.timescale.seed import Seed

R = "rules.queries."
S = "rules.safety.queries."
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
    return jsonb_rows(
        {"community": "juxin", "building": "b01", "device": "b01-u1-door", "kind": "door",
         "last_event_at": seed.at(minutes=1)},
        {"community": "juxin", "building": "b01", "device": "b01-u2-door", "kind": "door",
         "last_event_at": seed.at(days=40)},
        {"community": "heping", "building": "b02", "device": "b02-new", "kind": "door",
         "last_event_at": seed.at(minutes=2)},
    )


def watch_door(conn: Conn, seed: Seed, copy_ok: bool) -> None:
    """The camera of 2栋 counts the doorway of 2栋1单元门禁 (devices.door)."""
    conn.execute("UPDATE devices SET door = 'b02-u1-door'"
                 " WHERE community = 'juxin' AND id = 'b02-cam-1'")


def record_last_events(conn: Conn, seed: Seed, copy_ok: bool) -> None:
    """Safety alerts record the last event they covered; a closed one and the open one."""
    for alert_id, hours in ((3, 25), (4, 19)):
        conn.execute("UPDATE alerts SET details = details || jsonb_build_object("
                     "'last_event_at', %(at)s::text) WHERE id = %(id)s",
                     {"at": seed.at(hours=hours).isoformat(), "id": alert_id})


def safety(seed: Seed, **values: Any) -> Params:
    return {"community": "juxin", "since": seed.at(days=20), "until": seed.anchor, **values}


def statuses(seed: Seed) -> Params:
    return jsonb_rows(
        {"community": "juxin", "building": "b01", "device": "b01-u2-door", "kind": "door",
         "state": "online", "status": {"state": "online", "version": "0.1.0"}},
        {"community": "juxin", "building": "b03", "device": "agent", "kind": "agent",
         "state": "offline", "status": {"state": "offline"}},
    )


CASES = [
    # rules engine
    Case(R + "COMMUNITIES", "all"),
    Case(R + "COMMUNITY", "heping", lambda s: {"community": "heping"}),
    Case(R + "TRY_COMMUNITY_LOCK", "juxin", lambda s: {"community": "juxin"}),
    Case(R + "WATCHED_RESIDENTS", "juxin, visits in 5 days", silent),
    Case(R + "RESIDENT_STATE", "a visited resident", lambda s: silent(s, resident="r-0004")),
    Case(R + "ACTIVE_ALERTS", "silent residents", silent),
    Case(R + "UPSERT_ALERT", "new alert", lambda s: alert(s, "r-0002"), table("alerts")),
    Case(R + "UPSERT_ALERT", "fires again", lambda s: alert(s, "r-0000"), table("alerts")),
    Case(R + "SET_ESCALATE_AT", "alert 1",
         lambda s: {"alert_id": 1, "escalate_at": s.at(hours=-1)}, table("alerts", "id = 1")),
    Case(R + "DUE_ESCALATIONS", "due now", lambda s: {"now": s.anchor, "limit": 10}),
    Case(R + "ESCALATE", "alert 1",
         lambda s: {"alert_id": 1, "next_escalate_at": s.at(hours=-2), "now": s.anchor,
                    "max_tier": 3},
         table("alerts", "id = 1")),
    Case(R + "GRID_WORKERS", "juxin g1", lambda s: {"community": "juxin", "grid": "g1"}),
    Case(R + "CONTROL_ROOM", "juxin", lambda s: {"community": "juxin"}),
    Case(R + "INSERT_NOTIFICATION", "new",
         lambda s: {"alert_id": 6, "community": "heping", "worker": "w-01", "url_index": 0,
                    "channel": "json://127.0.0.1", "title": "new", "body": "b", "now": s.anchor},
         table("notifications", "alert_id = 6")),
    Case(R + "INSERT_NOTIFICATION", "already queued",
         lambda s: {"alert_id": 1, "community": "juxin", "worker": "w-01", "url_index": 0,
                    "channel": "json://127.0.0.1", "title": "alert 1 tier 1", "body": "b",
                    "now": s.anchor},
         table("notifications", "alert_id = 1"), expect_empty=True),
    Case(R + "DUE_NOTIFICATION", "due now", lambda s: {"now": s.anchor}),
    Case(R + "RECORD_ATTEMPT", "failed attempt",
         lambda s: {"notification_id": pending_id(s), "now": s.anchor, "ok": False,
                    "duration_ms": 12, "error": "timeout"}, table("notification_attempts")),
    Case(R + "MARK_SENT", "pending one",
         lambda s: {"notification_id": pending_id(s), "now": s.anchor}, table("notifications")),
    Case(R + "MARK_RETRY", "pending one",
         lambda s: {"notification_id": pending_id(s), "error": "503",
                    "next_attempt_at": s.at(minutes=-5)}, table("notifications")),
    Case(R + "MARK_FAILED", "pending one",
         lambda s: {"notification_id": pending_id(s), "error": "gave up"},
         table("notifications")),
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
    Case(S + "WATCHED_DOORS", "a camera on b02-u1-door", lambda s: {"community": "juxin"},
         prepare=watch_door),
    Case(S + "DOORWAY_PASSAGES", "b02-u1-door and its camera",
         lambda s: safety(s, buildings=["b02", "b02"], devices=["b02-u1-door", "b02-cam-1"])),
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
    Case(I + "UPSERT_DEVICE_STATUS", "known device and new agent", statuses, table("devices")),
    Case(I + "INSERT_DEAD_LETTER", "binary payload",
         lambda s: {"topic": "linli/v1/juxin/b01/x/event", "payload": b"\x00\xffnot json",
                    "reason": "not JSON"}, table("dead_letters")),
    Case(I + "NOTIFY_EVENTS", "juxin", lambda s: {"community": "juxin"}),
    # alert changes shared by the rules engine and the API
    Case("linli.alerts.ACKNOWLEDGE", "open alert", lambda s: {"alert_id": 1, "actor": "w-01"},
         table("alerts", "id = 1")),
    Case("linli.alerts.ACKNOWLEDGE", "already acknowledged",
         lambda s: {"alert_id": 2, "actor": "w-01"}, table("alerts", "id = 2"),
         expect_empty=True),
    Case("linli.alerts.RESOLVE", "acknowledged alert",
         lambda s: {"alert_id": 2, "actor": "w-02", "note": "visited", "at": None},
         table("alerts", "id = 2")),
    Case("linli.alerts.ADD_TIMELINE", "note",
         lambda s: {"alert_id": 1, "actor": "w-01", "action": "note", "note": "called",
                    "data": Jsonb({"via": "api"}), "at": None},
         table("alert_timeline", "alert_id = 1")),
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
         lambda s: {"community": "juxin", "id": "b03", "name": "3栋", "grid": "g2"},
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
    Case(D + "DEACTIVATE_MISSING_RESIDENTS", "two left the file",
         lambda s: {"community": "juxin",
                    "keep": [r["id"] for r in s.rows("residents")][2:]}, table("residents")),
    Case(D + "DEACTIVATE_MISSING_WORKERS", "one kept",
         lambda s: {"community": "juxin", "keep": ["w-01"]}, table("grid_workers")),
]

__all__ = ["CASES", "execute"]
