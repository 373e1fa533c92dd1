"""One realistic, deterministic data set, written through INSERTs into any Linli database.

pglite cannot take ``COPY … FROM STDIN``, so everything goes in by ``executemany``. Times
hang off an ``anchor`` near the real clock, because TimescaleDB's policies measure age
from now(): events reach 20 days back, so the compression policy has old chunks to
compress and the queries then run over compressed and plain chunks alike.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from linli.accounts import token_hash
from rules.care import model

UTC = dt.UTC
EVENT_SPACING = dt.timedelta(minutes=47)
EVENT_COUNT = 620
"""620 events 47 minutes apart: about 20 days, 21 daily chunks."""

Row = dict[str, Any]


def anchor_now() -> dt.datetime:
    """The current hour (UTC): every seeded time is relative to it."""
    return dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class Seed:
    """Rows per table, in insertion order (foreign keys first)."""

    anchor: dt.datetime
    tables: dict[str, list[Row]] = field(default_factory=dict)

    def rows(self, table: str) -> list[Row]:
        return self.tables.setdefault(table, [])

    def add(self, table: str, **values: Any) -> Row:
        self.rows(table).append(values)
        return values

    def at(self, **delta: float) -> dt.datetime:
        """``anchor - timedelta(**delta)``."""
        return self.anchor - dt.timedelta(**delta)


COMMUNITIES = (
    ("juxin", "聚鑫家园", "Asia/Shanghai", dt.time(20, 0), None, "zh-CN"),
    ("heping", "和平里", "Asia/Urumqi", None, 12.0, "en"),
)
DEVICES = (  # community, building, id, kind, name, registered, state
    ("juxin", "b01", "b01-u1-door", "door", "1栋1单元门禁", True, "online"),
    ("juxin", "b01", "b01-u2-door", "door", "1栋2单元门禁", True, "offline"),
    ("juxin", "b02", "b02-u1-door", "door", "2栋1单元门禁", True, None),
    ("juxin", "b02", "b02-cam-1", "camera", None, False, "online"),
    ("juxin", "b01", "agent", "agent", None, False, "online"),
    ("heping", "b01", "b01-u1-door", "door", "1号楼门禁", True, "online"),
)
DOORS = {("juxin", "b02", "b02-cam-1"): "b02-u1-door"}
"""The camera of 2栋 counts the people through 2栋1单元门禁 (tailgating)."""
HOME_DEVICES = (  # building, id, kind, name, household, state, status_at and state_since ago
    ("b01", "h101-door", "door", "101门磁", "h-b01-u1-101", "online",
     {"minutes": 1}, {"days": 3}),
    ("b02", "h203-motion", "sensor", "203人体感应", "h-b02-u1-203", "offline",
     {"minutes": 2}, {"hours": 3}),
    ("b01", "b01-meter", "sensor", "1栋水表", None, "online", {"minutes": 3}, None),
)
"""Devices of juxin that belong to one home (a door contact, a motion sensor), and a
building's water meter whose activity events name the household in ``attrs``."""
KINDS = ("passage", "passage", "passage", "passage", "access_denied", "door_opened",
         "door_forced", "exit_button")


def build(anchor: dt.datetime) -> Seed:
    """The whole data set for ``anchor``."""
    seed = Seed(anchor)
    _directory(seed)
    _events(seed)
    _presence(seed)
    _dead_letters(seed)
    _alerts(seed)
    _alert_loop(seed)
    _audit_log(seed)
    _care(seed)
    _accounts(seed)
    _alert_links_and_photos(seed)
    return seed


USERS = (  # username, role, community, worker, buildings
    ("admin", "admin", None, None, []),
    ("ctl-juxin", "control_room", "juxin", None, []),
    ("juxin.w-01", "grid_worker", "juxin", "w-01", []),
    ("juxin.w-02", "grid_worker", "juxin", "w-02", []),
    ("installer", "installer", "juxin", None, ["b02"]),
    ("auditor", "auditor", None, None, []),
)


def _accounts(seed: Seed) -> None:
    """Accounts of every role, sessions and tokens (live, expired, revoked), and audit rows
    with failed logins to count."""
    for n, (username, role, community, worker, buildings) in enumerate(USERS):
        seed.add("users", id=n + 1, username=username, display_name=f"用户{n + 1}", role=role,
                 community=community, worker=worker, buildings=buildings,
                 password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
                 must_change_password=username == "juxin.w-02",
                 disabled_at=seed.at(days=1) if username == "juxin.w-02" else None,
                 last_login_at=seed.at(hours=3), created_at=seed.at(days=30),
                 updated_at=seed.at(days=30))
    sessions = (  # token, user id, created (hours ago), expires (hours from anchor), revoked
        ("session-ctl", 2, 2, 300, None),
        ("session-w01", 3, 1, 300, None),
        ("session-old", 3, 400, -10, None),
        ("session-revoked", 1, 5, 300, 4),
    )
    for token, user_id, created, expires, revoked in sessions:
        seed.add("sessions", token_hash=token_hash(token), user_id=user_id,
                 csrf_hash=token_hash(f"csrf-{token}"), created_at=seed.at(hours=created),
                 last_seen_at=seed.at(hours=created), expires_at=seed.at(hours=-expires),
                 revoked_at=None if revoked is None else seed.at(hours=revoked),
                 ip="10.0.0.8", user_agent="test")
    tokens = (("linli_read", 2, "read", None), ("linli_write", 1, "write", None),
              ("linli_gone", 2, "read", 1))
    for n, (token, user_id, scope, revoked) in enumerate(tokens):
        seed.add("api_tokens", id=n + 1, user_id=user_id, name=f"集成{n + 1}",
                 token_hash=token_hash(token), prefix=token[:12], scope=scope,
                 created_at=seed.at(days=5), expires_at=seed.at(days=-30),
                 revoked_at=None if revoked is None else seed.at(hours=revoked),
                 last_used_at=None)
    audits = (  # hours ago, username, action, ip
        (30, "juxin.w-01", "login_failed", "10.0.0.9"),
        (2.5, "juxin.w-01", "login_failed", "10.0.0.9"),
        (0.2, "juxin.w-01", "login_failed", "10.0.0.9"),
        (0.1, "nobody", "login_failed", "10.0.0.9"),
        (2, "ctl-juxin", "read.resident", "10.0.0.8"),
    )
    for n, (hours, username, action, ip) in enumerate(audits):
        seed.add("audit_log", id=100 + n, at=seed.at(hours=hours), user_id=None,
                 username=username, role=None, community="juxin", action=action,
                 target=None, via="session", ip=ip, detail=Jsonb({}))


def _directory(seed: Seed) -> None:
    for cid, name, tz, check_at, max_hours, locale in COMMUNITIES:
        seed.add("communities", id=cid, name=name, timezone=tz, silent_check_at=check_at,
                 silent_max_hours=max_hours, locale=locale, created_at=seed.at(days=400))
    for community, grid, name in (("juxin", "g1", "第一网格"), ("juxin", "g2", "第二网格"),
                                  ("heping", "g1", "Grid 1")):
        seed.add("grids", community=community, id=grid, name=name)
    for community, building, name, grid, plan in (("juxin", "b01", "1栋", "g1", (0.2, 0.3)),
                                                  ("juxin", "b02", "2栋", "g2", (None, None)),
                                                  ("heping", "b01", "1号楼", "g1", (None, None))):
        seed.add("buildings", community=community, id=building, name=name, grid=grid,
                 plan_x=plan[0], plan_y=plan[1])
    units = (("juxin", "b01", "u1"), ("juxin", "b01", "u2"), ("juxin", "b02", "u1"),
             ("heping", "b01", "u1"))
    for community, building, unit in units:
        seed.add("units", community=community, building=building, id=unit,
                 name=f"{unit[1:]}单元")
    for n in range(12):
        community, building, unit = units[n % len(units)]
        room = f"{1 + n // 4}0{1 + n % 4}"
        household = f"h-{building}-{unit}-{room}"
        seed.add("households", community=community, id=household, building=building,
                 unit=unit, room=room)
        seed.add("residents", community=community, id=f"r-{n:04d}", name=f"居民{n}",
                 household=household, phone=f"1380000{n:04d}", is_elderly=n % 3 != 2,
                 lives_alone=n % 2 == 0, care_level=n % 4,
                 emergency_contacts=Jsonb([{"name": f"联系人{n}", "phone": "139",
                                            "relation": "儿子"}] if n % 2 else []),
                 active=n != 8, created_at=seed.at(days=300 - n))
    workers: tuple[tuple[str, str, str, list[str], bool], ...] = (
        ("juxin", "w-01", "grid_worker", ["g1"], True),
        ("juxin", "w-02", "grid_worker", ["g1", "g2"], True),
        ("juxin", "w-03", "grid_worker", ["g2"], False),
        ("juxin", "w-cr", "control_room", [], True),
        ("heping", "w-01", "grid_worker", ["g1"], True))
    for community, wid, role, grids, active in workers:
        seed.add("grid_workers", community=community, id=wid, name=f"网格员{wid}",
                 phone="13900000000", role=role, locale="en" if wid == "w-02" else None,
                 notify_urls=[f"json://127.0.0.1:9/{wid}", f"tgram://secret-token-{wid}/1"],
                 active=active)
        for grid in grids:
            seed.add("grid_worker_grids", community=community, worker=wid, grid=grid)
    for n, (community, building, did, kind, label, registered, state) in enumerate(DEVICES):
        seed.add("devices", community=community, building=building, id=did, kind=kind,
                 name=label, registered=registered, first_seen_at=seed.at(days=30 - n),
                 last_event_at=seed.at(hours=n), state=state,
                 status=Jsonb({"state": state, "uptime_s": 100.5 * n}) if state else None,
                 status_at=seed.at(minutes=10 * n) if state else None,
                 created_at=seed.at(days=60 - n), household=None,
                 door=DOORS.get((community, building, did)),
                 state_since=seed.at(hours=n + 1) if state and community == "juxin" else None)
    _home_devices(seed)


def _home_devices(seed: Seed) -> None:
    for n, (building, did, kind, label, household, state, status_ago,
            since_ago) in enumerate(HOME_DEVICES):
        status = {"state": state} | ({"spooled": 250} if did == "b01-meter" else {})
        seed.add("devices", community="juxin", building=building, id=did, kind=kind,
                 name=label, registered=True, first_seen_at=seed.at(days=25 - n),
                 last_event_at=seed.at(hours=n + 1), state=state, status=Jsonb(status),
                 status_at=seed.at(**status_ago), created_at=seed.at(days=50 - n),
                 household=household, door=None,
                 state_since=seed.at(**since_ago) if since_ago else None)


def _events(seed: Seed) -> None:
    rnd = random.Random(20261122)
    residents = seed.rows("residents")
    for i in range(EVENT_COUNT):
        community, building, device, *_ = DEVICES[i % len(DEVICES)]
        if device == "agent":
            community, building, device = "juxin", "b01", "b01-u1-door"
        kind = KINDS[rnd.randrange(len(KINDS))]
        people = [r["id"] for r in residents if r["community"] == community]
        person = rnd.choice(people) if kind == "passage" and rnd.random() < 0.8 else None
        occurred = seed.at(minutes=5) - EVENT_SPACING * i
        seed.add("events", event_id=uuid.UUID(int=rnd.getrandbits(128), version=4),
                 occurred_at=occurred, received_at=occurred + dt.timedelta(seconds=2),
                 community=community, building=building, device=device, kind=kind,
                 direction=rnd.choice(("in", "out", None)) if kind == "passage" else None,
                 person_id=person, credential="face" if person else None,
                 count=2 if i % 17 == 0 else 1, confidence=0.5 + (i % 5) / 10,
                 source="camera" if "cam" in device else "door",
                 attrs=Jsonb({"seq": i, "reader": 1 + i % 2}))


def _presence(seed: Seed) -> None:
    latest: dict[tuple[str, str], Row] = {}
    for event in seed.rows("events"):  # newest first
        key = (event["community"], event["person_id"])
        if event["person_id"] and key not in latest:
            latest[key] = event
    for (community, resident), event in sorted(latest.items()):
        seed.add("presence", community=community, resident=resident,
                 last_seen_at=event["occurred_at"], building=event["building"],
                 device=event["device"], direction=event["direction"],
                 event_id=event["event_id"])


def _dead_letters(seed: Seed) -> None:
    topics = ("linli/v1/juxin/b01/b01-u1-door/event", "linli/v1/heping/b01/b01-u1-door/event",
              "linli/v1/juxin/b02/b02-cam-1/status", "garbage", "linli/v1/juxin/b01/x/event")
    for n, topic in enumerate(topics * 2):
        seed.add("dead_letters", id=n + 1, received_at=seed.at(hours=7 * n + 1), topic=topic,
                 payload=(b'{"broken": ' + bytes([n]) * (n * 40)), reason=f"reason {n}")


def _alerts(seed: Seed) -> None:
    specs = (  # community, rule, subject, status, tier, grid, hours ago, escalate in h
        ("juxin", "silent_resident", "r-0000", "open", 1, "g1", 30, -1.0),
        ("juxin", "silent_resident", "r-0004", "acknowledged", 1, "g1", 28, None),
        ("juxin", "silent_resident", "r-0001", "resolved", 2, "g1", 26, None),
        ("juxin", "door_forced", "b01-u1-door", "open", 2, "g1", 20, -0.5),
        ("juxin", "silent_resident", "r-0009", "archived", 1, "g2", 90, None),
        ("heping", "silent_resident", "r-0003", "open", 1, "g1", 5, 2.0),
        ("juxin", "silent_resident", "r-0008", "open", 1, None, 3, -2.0),
        ("juxin", "silent_resident", "r-0004", "resolved", 1, "g1", 70, None),
    )
    for n, (community, rule, subject, status, tier, grid, ago, escalate) in enumerate(specs):
        alert_id = n + 1
        raised = seed.at(hours=ago)
        closed = status in ("resolved", "archived")
        seed.add("alerts", id=alert_id, community=community, rule=rule, subject=subject,
                 status=status, severity="critical" if rule == "door_forced" else "warning",
                 tier=tier, grid=grid, building="b01", title=f"alert {alert_id}",
                 details=Jsonb({"reason": "not_seen_today", "last_seen_at": raised.isoformat()}),
                 raised_at=raised, updated_at=raised + dt.timedelta(minutes=5), fired_count=1 + n % 3,
                 escalate_at=None if escalate is None else seed.at(hours=-escalate),
                 acknowledged_at=raised + dt.timedelta(hours=1) if status != "open" else None,
                 acknowledged_by="w-01" if status != "open" else None,
                 resolved_at=raised + dt.timedelta(hours=2) if closed else None,
                 resolved_by=("system" if n == 2 else "w-02") if closed else None,
                 resolution="seen again" if closed else None)
        for k, action in enumerate(("raised", "dispatched", "acknowledged")[: 1 + n % 3]):
            seed.add("alert_timeline", id=len(seed.rows("alert_timeline")) + 1,
                     alert_id=alert_id, at=raised + dt.timedelta(minutes=k),
                     actor="system" if k < 2 else "w-01", action=action,
                     note=f"{action} {alert_id}", data=Jsonb({"tier": tier}))
        _notifications(seed, alert_id, community, raised, n)


def _alert_links_and_photos(seed: Seed) -> None:
    """A live link of w-02 to alert 1, an expired one of w-01 to alert 2; a photo of 2."""
    seed.add("alert_links", token="tok-live-0000000000000000", alert_id=1, community="juxin",
             worker="w-02", created_at=seed.at(hours=29), expires_at=seed.at(hours=-5),
             opened_at=None)
    seed.add("alert_links", token="tok-expired-0000000000000", alert_id=2, community="juxin",
             worker="w-01", created_at=seed.at(hours=28), expires_at=seed.at(hours=4),
             opened_at=seed.at(hours=27))
    seed.add("alert_photos", id=1, alert_id=2, uploaded_by="juxin.w-01",
             uploaded_at=seed.at(hours=26), content_type="image/jpeg",
             sha256=bytes(range(32)), data=b"\xff\xd8\xff" + bytes(61))


def _notifications(seed: Seed, alert_id: int, community: str, raised: dt.datetime,
                   n: int) -> None:
    workers = [w for w in seed.rows("grid_workers") if w["community"] == community][:2]
    for w_index, worker in enumerate(workers):
        for url_index in range(2):
            nid = len(seed.rows("notifications")) + 1
            status = ("pending", "sent", "failed")[(nid + n) % 3]
            created = raised + dt.timedelta(minutes=nid)
            seed.add("notifications", id=nid, alert_id=alert_id, community=community,
                     worker=worker["id"], url_index=url_index,
                     channel=("json://127.0.0.1", "tgram://")[url_index],
                     title=f"alert {alert_id} tier 1", body=f"body {alert_id}/{w_index}",
                     status=status, attempts=nid % 4,
                     next_attempt_at=created + dt.timedelta(minutes=10 * (nid % 5)),
                     created_at=created, sent_at=created if status == "sent" else None,
                     last_error=f"refused by tgram://secret-token-{worker['id']}/1"
                     if status == "failed" else None)
            if status != "pending":
                seed.add("notification_attempts", id=len(seed.rows("notification_attempts")) + 1,
                         notification_id=nid, at=created, ok=status == "sent",
                         duration_ms=10 + nid, error=None if status == "sent" else "timeout")


def _alert_loop(seed: Seed) -> None:
    """The closed loop's columns (migration 0004) on the seeded alerts: dispatched to a
    worker, feedback deadlines, outcomes, a review and an archive."""
    loop = {  # alert id: assignee, feedback due (h after raising), outcome, archived
        1: ("w-01", None, None, False),
        2: ("w-01", 3.0, None, False),  # acknowledged, feedback overdue
        5: ("w-02", 4.0, "false_alarm", True),
        8: ("w-01", 1.0, "safe", False),  # feedback late
    }
    for alert in seed.rows("alerts"):
        assignee, due, outcome, archived = loop.get(alert["id"], (None, None, None, False))
        raised = alert["raised_at"]
        resolved = alert["resolved_at"]
        alert.update(
            assignee=assignee, assigned_at=raised + dt.timedelta(minutes=2) if assignee else None,
            feedback_due_at=raised + dt.timedelta(hours=due) if due else None,
            outcome=outcome, visited_at=resolved if outcome in ("safe", "hospital") else None,
            feedback_reminded_at=None, review="accepted" if archived else None,
            reviewed_at=resolved + dt.timedelta(minutes=30) if archived else None,
            reviewed_by="ctl-1" if archived else None,
            archived_at=resolved + dt.timedelta(hours=1) if archived else None,
            archived_by="ctl-1" if archived else None)


def _audit_log(seed: Seed) -> None:
    entries = (  # hours ago, username, role, community, action, target
        (50, "admin", "admin", None, "user.created", "user:ctl-1"),
        (30, "ctl-1", "control_room", "juxin", "login", None),
        (29, "ctl-1", "control_room", "juxin", "read.resident", "resident:juxin/r-0000"),
        (27, "w-01", "grid_worker", "juxin", "alert.acknowledged", "alert:2"),
        (27, "w-01", "grid_worker", "juxin", "read.contacts", "alert:2"),
        (20, "hp-1", "control_room", "heping", "read.resident", "resident:heping/r-0003"),
        (8, "aud-1", "auditor", None, "read.audit", None),
        (2, "ctl-1", "control_room", "juxin", "alert.dispatched", "alert:1"),
    )
    for n, (ago, username, role, community, action, target) in enumerate(entries):
        seed.add("audit_log", id=n + 1, at=seed.at(hours=ago), user_id=n % 3 + 1,
                 username=username, role=role, community=community, action=action,
                 target=target, via="session", ip=f"10.0.0.{n}",
                 detail=Jsonb({"n": n}))


def _care(seed: Seed) -> None:
    """Signs of life from the homes' own devices, the residents' signal state, learned
    baselines and registered absences."""
    def event(n: int, building: str, device: str, kind: str, hours_ago: float,
              **values: Any) -> None:
        occurred = seed.at(hours=hours_ago)
        seed.add("events", **{
            "event_id": uuid.UUID(int=1000 + n, version=4), "occurred_at": occurred,
            "received_at": occurred + dt.timedelta(seconds=2), "community": "juxin",
            "building": building, "device": device, "kind": kind, "direction": None,
            "person_id": None, "credential": None, "count": 1, "confidence": 1.0,
            "source": "door", "attrs": Jsonb({"seq": 1000 + n})} | values)

    event(0, "b01", "h101-door", "door_opened", 5)
    event(1, "b01", "h101-door", "exit_button", 3.5)
    event(2, "b02", "h203-motion", "activity", 24 * 6 + 3, source="sensor")
    event(3, "b02", "h203-motion", "activity", 24 * 7 + 1, source="sensor")
    for n, ago in enumerate((1, 9, 33)):  # the water meter names the home it counts for
        event(4 + n, "b01", "b01-meter", "activity", ago, source="sensor",
              attrs=Jsonb({"seq": 1004 + n, "household": "h-b01-u1-201"}))
    for n, hours_ago in enumerate((0.3, 2.0, 30.0)):  # people counted by the camera of 2栋
        event(7 + n, "b02", "b02-cam-1", "passage", hours_ago, direction="in",
              count=2 - n % 2, confidence=0.9, source="camera")

    signals = (  # community, resident, door (ago, direction, building, device),
        #          activity (ago, building, device), first signal (days ago)
        ("juxin", "r-0000", (3, "in", "b01", "b01-u1-door"), None, 20),
        ("juxin", "r-0004", (30, "out", "b01", "b01-u1-door"), (1, "b01", "b01-meter"), 19),
        ("juxin", "r-0006", (24 * 6 + 1, "out", "b02", "b02-u1-door"), None, 18),
        ("juxin", "r-0010", (24 * 3 + 1, "out", "b02", "b02-u1-door"), None, 17),
        ("juxin", "r-0001", (2, None, "b01", "b01-u2-door"), None, 16),
        ("heping", "r-0003", (4, "in", "b01", "b01-u1-door"), None, 15),
    )
    for community, resident, door, activity, first in signals:
        seed.add("resident_signals", community=community, resident=resident,
                 last_door_at=seed.at(hours=door[0]), last_door_direction=door[1],
                 last_door_building=door[2], last_door_device=door[3],
                 last_activity_at=seed.at(hours=activity[0]) if activity else None,
                 last_activity_building=activity[1] if activity else None,
                 last_activity_device=activity[2] if activity else None,
                 first_signal_at=seed.at(days=first))

    for resident, days, has_activity in (("r-0000", 14.5, False), ("r-0004", 19.0, True)):
        seed.add("resident_baselines", community="juxin", resident=resident,
                 computed_at=seed.at(hours=2), history_days=days,
                 model=Jsonb(baseline(days, has_activity).to_json()))

    absences = (  # community, resident, starts, ends (hours ago), reason, by, cancelled
        ("juxin", "r-0006", 48, -20, "探亲", "w-01", None),  # covers now
        ("juxin", "r-0010", 72, 6, "住院", "w-02", None),  # ended, not back: overdue
        ("juxin", "r-0000", 24, -30, None, "w-01", 10),  # cancelled
        ("juxin", "r-0004", 50, 10, "旅游", "w-01", None),  # ended, back since
        ("juxin", "r-0006", 24 * 6, 48, "探亲", "w-01", None),  # ended, extended by the first
        ("heping", "r-0003", 72, 20, None, "w-01", None),  # ended, another community
    )
    for n, (community, resident, starts, ends, reason, by, cancelled) in enumerate(absences):
        seed.add("absences", id=n + 1, community=community, resident=resident,
                 starts_at=seed.at(hours=starts), ends_at=seed.at(hours=ends),
                 reason=reason, created_by=by, created_at=seed.at(hours=starts + 1),
                 cancelled_at=None if cancelled is None else seed.at(hours=cancelled),
                 cancelled_by=None if cancelled is None else "w-02")


def baseline(history_days: float, has_activity: bool) -> model.Baseline:
    """A small valid model: every gap kind learned in the night slots only."""
    night = range(0, 12)
    longest: dict[str, list[float | None]] = {
        kind.value: [8.5 + k / 3 if slot in night else None for slot in range(model.SLOTS)]
        for k, kind in enumerate(model.GAP_KINDS)}
    samples = {kind: [5 if value is not None else 0 for value in values]
               for kind, values in longest.items()}
    return model.Baseline(history_days=history_days, longest=longest, samples=samples,
                          has_activity=has_activity)


def insert(conn: psycopg.Connection[Any], seed: Seed) -> None:
    """Write every table of ``seed`` in one transaction, then move the id sequences on."""
    with conn.transaction(), conn.cursor() as cur:
        for table, rows in seed.tables.items():
            columns = list(rows[0])
            names = ", ".join(columns)
            values = ", ".join(f"%({c})s" for c in columns)
            cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({values})", rows)
        reset_sequences(conn)


SERIAL_TABLES = ("dead_letters", "alerts", "alert_timeline", "notifications",
                 "notification_attempts", "absences", "users", "api_tokens", "audit_log",
                 "alert_photos")


def reset_sequences(conn: psycopg.Connection[Any]) -> None:
    """Next ids follow the rows present: sequences do not roll back with a transaction."""
    for table in SERIAL_TABLES:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                     f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
