"""Seed data and fixtures for the API's integration tests (imported by test_api_*.py).

The fixtures (``start_api``, ``server``, ``seeded``, and clients logged in as ``api``
(an admin), ``control`` (the control room) and ``worker`` (a grid worker)) are in
``tests/integration/conftest.py``.

The API runs for real: uvicorn in a thread (``api.server.start_in_thread``) on a free
port, its lifespan opening the pool against the test's own database; requests go
through httpx over loopback. Rows are seeded with plain SQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

Db = psycopg.Connection[dict[str, Any]]

# Notify URLs are secrets: these markers must never appear in any API response.
SECRET_MARKERS = ("s3cret-token", "WECOMKEY4242")
NOTIFY_URLS = [
    "json://worker:s3cret-token@127.0.0.1:9999/w-01",
    "wecombot://3f9a1c2e-5b7d-4e8f-9a0b-WECOMKEY4242",
]

COMMUNITY = "juxin"
OTHER = "heping"
BASE_TIME = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def seed_directory(db: Db) -> None:
    """Two communities with buildings, residents, a grid worker and devices."""
    db.execute(
        "INSERT INTO communities (id, name, timezone) VALUES"
        " ('juxin', '聚鑫家园', 'Asia/Shanghai'), ('heping', '和平里', 'Asia/Shanghai')"
    )
    for community in (COMMUNITY, OTHER):
        db.execute("INSERT INTO grids VALUES (%s, 'g1', '第一网格')", (community,))
        for building, name in (("b01", "1栋"), ("b02", "2栋")):
            db.execute("INSERT INTO buildings VALUES (%s, %s, %s, 'g1')",
                       (community, building, name))
            db.execute("INSERT INTO units VALUES (%s, %s, 'u1', '1单元')", (community, building))
    db.execute(
        "INSERT INTO households (community, id, building, unit, room) VALUES"
        " ('juxin', 'h-b01-101', 'b01', 'u1', '101'), ('juxin', 'h-b02-202', 'b02', 'u1', '202')"
    )
    db.execute(
        "INSERT INTO residents (community, id, name, household, phone, is_elderly, lives_alone,"
        " care_level, emergency_contacts) VALUES"
        " ('juxin', 'r-0001', '张桂英', 'h-b01-101', '13800000001', true, true, 2,"
        "  '[{\"name\": \"李明\", \"phone\": \"13900000009\"}]'),"
        " ('juxin', 'r-0002', '李建国', 'h-b02-202', '13800000002', false, false, 0, '[]')"
    )
    db.execute(
        "INSERT INTO grid_workers (community, id, name, phone, notify_urls)"
        " VALUES ('juxin', 'w-01', '王芳', '13700000001', %s)", (NOTIFY_URLS,)
    )
    db.execute("INSERT INTO grid_worker_grids VALUES ('juxin', 'w-01', 'g1')")
    devices: list[tuple[str, str, str, str, str | None, bool, str | None]] = [
        (COMMUNITY, "b01", "b01-u1-door", "door", "1栋1单元门禁", True, "online"),
        (COMMUNITY, "b02", "b02-u1-door", "door", "2栋1单元门禁", True, "offline"),
        (COMMUNITY, "b02", "b02-cam", "camera", "2栋摄像头", True, None),
        (COMMUNITY, "b01", "b01-x-door", "door", None, False, "online"),
        (OTHER, "b01", "b01-u1-door", "door", "和平里1栋门禁", True, "online"),
    ]
    for community, building, device, kind, device_name, registered, state in devices:
        status = Jsonb({"state": state, "version": "0.1.0"}) if state else None
        db.execute(
            "INSERT INTO devices (community, building, id, kind, name, registered, state,"
            " status, status_at, first_seen_at, last_event_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (community, building, device, kind, device_name, registered, state, status,
             BASE_TIME if state else None, BASE_TIME, BASE_TIME if registered else None),
        )


def make_events(count: int, *, start: dt.datetime = BASE_TIME) -> list[dict[str, Any]]:
    """Varied events, three to a timestamp so that ordering must fall back to event_id."""
    kinds = ["passage", "passage", "access_denied", "door_opened"]
    places = [(COMMUNITY, "b01", "b01-u1-door"), (COMMUNITY, "b02", "b02-u1-door"),
              (OTHER, "b01", "b01-u1-door")]
    events = []
    for i in range(count):
        community, building, device = places[i % 3]
        events.append({
            "event_id": uuid.uuid4(),
            "occurred_at": start - dt.timedelta(seconds=i // 3),
            "community": community, "building": building, "device": device,
            "kind": kinds[i % 4],
            "direction": ["in", "out", None][i % 3 if i % 4 else 0],
            "person_id": ["r-0001", "r-0002", None, None, None][i % 5],
            "count": 1 + (i % 2),
        })
    return events


def insert_events(db: Db, events: list[dict[str, Any]]) -> None:
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (event_id, occurred_at, community, building, device, kind,"
            " direction, person_id, count, source)"
            " VALUES (%(event_id)s, %(occurred_at)s, %(community)s, %(building)s, %(device)s,"
            " %(kind)s, %(direction)s, %(person_id)s, %(count)s, 'door')",
            events,
        )


def insert_alert(db: Db, *, community: str = COMMUNITY, rule: str = "silent_resident",
                 subject: str = "r-0001", status: str = "open",
                 raised_at: dt.datetime = BASE_TIME, title: str = "张桂英 今日未出现",
                 grid: str | None = None, building: str | None = None) -> int:
    row = db.execute(
        "INSERT INTO alerts (community, rule, subject, status, title, raised_at, escalate_at,"
        " details, grid, building) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (community, rule, subject, status, title, raised_at,
         raised_at + dt.timedelta(minutes=30) if status == "open" else None,
         Jsonb({"last_seen_at": None}), grid, building),
    ).fetchone()
    assert row is not None
    db.execute("INSERT INTO alert_timeline (alert_id, actor, action, note) VALUES"
               " (%s, 'rules', 'raised', %s)", (row["id"], title))
    return int(row["id"])


def insert_notification(db: Db, alert_id: int, *, last_error: str | None, url_index: int = 0,
                        channel: str = "json://127.0.0.1") -> int:
    """A failed push to one of w-01's channels, with one logged attempt."""
    row = db.execute(
        "INSERT INTO notifications (alert_id, community, worker, url_index, channel, title,"
        " body, status, attempts, last_error) VALUES (%s, 'juxin', 'w-01', %s, %s, '告警',"
        " '张桂英 今日未出现', 'pending', 2, %s) RETURNING id",
        (alert_id, url_index, channel, last_error),
    ).fetchone()
    assert row is not None
    db.execute("INSERT INTO notification_attempts (notification_id, ok, duration_ms, error)"
               " VALUES (%s, false, 12, %s)", (row["id"], last_error))
    return int(row["id"])


def insert_dead_letter(db: Db, topic: str, payload: bytes, reason: str,
                       received_at: dt.datetime | None = None) -> None:
    db.execute(
        "INSERT INTO dead_letters (topic, payload, reason, received_at)"
        " VALUES (%s, %s, %s, coalesce(%s, now()))",
        (topic, payload, reason, received_at),
    )


def walk_pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[list[Any]]:
    """Every page of a list, following next_cursor; returns the pages' items."""
    pages: list[list[Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("pagination did not end")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the JSON error envelope with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return dict(error)


def test_seeded_communities_are_listed(seeded: Db, api: httpx.Client) -> None:
    response = api.get("/api/v1/communities")
    assert response.status_code == 200
    assert [(c["id"], c["name"]) for c in response.json()] == [
        (OTHER, "和平里"), (COMMUNITY, "聚鑫家园")
    ]
