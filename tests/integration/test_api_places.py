"""Devices, dead letters, the community summary and a resident's timeline through the API."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.test_api_seed import (
    COMMUNITY,
    OTHER,
    Db,
    assert_error,
    insert_alert,
    insert_dead_letter,
    insert_events,
    make_events,
    walk_pages,
)

TOPIC = "linli/v1/juxin/b01/b01-u1-door/events"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {("heping", "b01-u1-door"), ("juxin", "b01-u1-door"), ("juxin", "b01-x-door"),
              ("juxin", "b02-cam"), ("juxin", "b02-u1-door")}),
        ({"community": COMMUNITY, "building": "b02"},
         {("juxin", "b02-cam"), ("juxin", "b02-u1-door")}),
        ({"registered": "false"}, {("juxin", "b01-x-door")}),
        ({"community": COMMUNITY, "state": "online"},
         {("juxin", "b01-u1-door"), ("juxin", "b01-x-door")}),
        ({"state": "offline"}, {("juxin", "b02-u1-door")}),
        ({"state": "unknown"}, {("juxin", "b02-cam")}),
    ],
)
def test_device_filters(seeded: Db, api: httpx.Client, params: dict[str, str],
                        expected: set[tuple[str, str]]) -> None:
    pages = walk_pages(api, "/api/v1/devices", {**params, "limit": 2})

    got = [(d["community"], d["id"]) for page in pages for d in page]
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_unknown_devices_are_flagged_with_their_status(seeded: Db, api: httpx.Client) -> None:
    items = api.get("/api/v1/devices", params={"community": COMMUNITY}).json()["items"]
    by_id = {d["id"]: d for d in items}

    assert by_id["b01-x-door"]["registered"] is False
    assert by_id["b01-x-door"]["name"] is None
    assert by_id["b01-u1-door"]["status"] == {"state": "online", "version": "0.1.0"}
    assert by_id["b01-u1-door"]["last_event_at"] is not None
    assert by_id["b02-cam"]["state"] is None
    assert_error(api.get("/api/v1/devices", params={"state": "asleep"}), 422,
                 "validation_error")


def test_dead_letters_show_text_safely_newest_first(seeded: Db, api: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC)
    insert_dead_letter(seeded, TOPIC, b'{"event": "\xff\xfe broken"}', "payload: invalid UTF-8",
                       now - dt.timedelta(minutes=2))
    big = ("门" * 1000).encode()  # 3000 bytes of 3-byte characters
    insert_dead_letter(seeded, TOPIC, big, "payload is 3000 bytes", now - dt.timedelta(minutes=1))
    insert_dead_letter(seeded, "linli/v1/heping/b01/d/events", b"{}", "schema: Field required",
                       now)

    items = api.get("/api/v1/dead-letters").json()["items"]

    assert [i["reason"] for i in items] == [
        "schema: Field required", "payload is 3000 bytes", "payload: invalid UTF-8"]
    assert items[2]["payload"] == '{"event": "\ufffd\ufffd broken"}'
    assert items[2]["payload_truncated"] is False
    # 2048 bytes cut the 683rd character in half: it is dropped, not shown as garbage.
    assert items[1]["payload"] == "门" * 682
    assert (items[1]["payload_bytes"], items[1]["payload_truncated"]) == (3000, True)
    assert items[0]["topic"] == "linli/v1/heping/b01/d/events"
    only_juxin = api.get("/api/v1/dead-letters", params={"community": COMMUNITY}).json()
    assert [i["topic"] for i in only_juxin["items"]] == [TOPIC, TOPIC]


def test_dead_letters_paginate(seeded: Db, api: httpx.Client) -> None:
    same_time = dt.datetime.now(dt.UTC)
    for i in range(11):
        insert_dead_letter(seeded, TOPIC, f"bad {i}".encode(), "schema", same_time)

    pages = walk_pages(api, "/api/v1/dead-letters", {"limit": 3})

    payloads = [d["payload"] for page in pages for d in page]
    assert payloads == [f"bad {i}" for i in reversed(range(11))]


def test_summary_counts_today_in_the_community_time_zone(seeded: Db, api: httpx.Client) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    now = dt.datetime.now(dt.UTC)
    day_start = dt.datetime.combine(now.astimezone(zone).date(), dt.time(), zone)
    events = make_events(9, start=max(day_start, now - dt.timedelta(minutes=1)))
    yesterday = make_events(3, start=day_start - dt.timedelta(seconds=1))
    insert_events(seeded, events + yesterday)
    insert_alert(seeded, subject="r-0001", status="open")
    insert_alert(seeded, subject="r-0002", status="acknowledged")
    insert_alert(seeded, rule="door_forced", subject="b01-u1-door", status="open")
    insert_alert(seeded, rule="door_forced", subject="b02-u1-door", status="resolved")
    insert_alert(seeded, community=OTHER, subject="r-0009", status="open")
    insert_dead_letter(seeded, TOPIC, b"x", "schema")
    insert_dead_letter(seeded, TOPIC, b"x", "schema", day_start - dt.timedelta(seconds=1))
    insert_dead_letter(seeded, "linli/v1/heping/b01/d/events", b"x", "schema")

    body = api.get(f"/api/v1/communities/{COMMUNITY}/summary").json()

    today = [e for e in events if e["community"] == COMMUNITY]
    assert dt.datetime.fromisoformat(body["day_start"]) == day_start
    assert body["events_today"] == len(today)
    assert body["passages_today"] == sum(e["count"] for e in today if e["kind"] == "passage")
    assert body["alerts"] == {"open": 2, "acknowledged": 1, "by_rule": [
        {"rule": "door_forced", "open": 1, "acknowledged": 0},
        {"rule": "silent_resident", "open": 1, "acknowledged": 1},
    ]}
    assert body["devices"] == {"total": 4, "online": 2, "offline": 1, "unknown": 1,
                               "unregistered": 1}
    assert body["dead_letters_today"] == 1
    assert body["community"]["name"] == "聚鑫家园"
    assert_error(api.get("/api/v1/communities/atlantis/summary"), 404, "not_found")


def test_resident_timeline(seeded: Db, api: httpx.Client) -> None:
    events = make_events(40)
    insert_events(seeded, events)
    seeded.execute(
        "INSERT INTO presence VALUES ('juxin', 'r-0001', %s, 'b01', 'b01-u1-door', 'in', %s)",
        (events[0]["occurred_at"], events[0]["event_id"]),
    )
    alert_id = insert_alert(seeded, subject="r-0001")
    insert_alert(seeded, subject="r-0002")

    path = f"/api/v1/communities/{COMMUNITY}/residents/r-0001/timeline"
    body = api.get(path, params={"limit": 3}).json()

    assert body["resident"] == {
        "community": "juxin", "id": "r-0001", "name": "张桂英", "household": "h-b01-101",
        "building": "b01", "building_name": "1栋", "unit": "u1", "unit_name": "1单元",
        "room": "101", "is_elderly": True, "lives_alone": True, "care_level": 2,
        "active": True, "grid": "g1", "phone": "138****0001", "contacts_masked": True,
        "emergency_contacts": [{"name": "李明", "relation": None, "phone": "139****0009"}],
    }
    assert "13800000001" not in json.dumps(body)  # an admin sees phones masked
    audited = seeded.execute("SELECT username, action, target FROM audit_log"
                             " WHERE action = 'read.resident'").fetchall()
    assert audited == [{"username": "admin", "action": "read.resident",
                        "target": "resident:juxin/r-0001"}]
    assert body["presence"]["device_name"] == "1栋1单元门禁"
    assert [a["id"] for a in body["alerts"]] == [alert_id]
    mine = [str(e["event_id"]) for e in sorted(
        (e for e in events if e["person_id"] == "r-0001" and e["community"] == COMMUNITY),
        key=lambda e: (e["occurred_at"], e["event_id"]), reverse=True)]
    seen = [e["event_id"] for e in body["events"]["items"]]
    cursor = body["events"]["next_cursor"]
    while cursor:
        page = api.get(path, params={"limit": 3, "cursor": cursor}).json()["events"]
        seen += [e["event_id"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert seen == mine


def test_unknown_resident_is_404(seeded: Db, api: httpx.Client) -> None:
    error = assert_error(
        api.get(f"/api/v1/communities/{OTHER}/residents/r-0001/timeline"), 404, "not_found")
    assert "r-0001" in error["message"]
