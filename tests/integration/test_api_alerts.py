"""Alerts through the API: lists and filters, detail, 404/409/422 on every step, secrets.
The steps of the loop themselves: ``test_api_alert_loop.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.integration.test_api_seed import (
    BASE_TIME,
    COMMUNITY,
    NOTIFY_URLS,
    OTHER,
    SECRET_MARKERS,
    Db,
    assert_error,
    insert_alert,
    insert_dead_letter,
    insert_events,
    insert_notification,
    make_events,
    walk_pages,
)


def _timeline(db: Db, alert_id: int) -> list[tuple[str, str, str | None, dict[str, str]]]:
    rows = db.execute("SELECT actor, action, note, data FROM alert_timeline"
                      " WHERE alert_id = %s ORDER BY id", (alert_id,)).fetchall()
    return [(r["actor"], r["action"], r["note"], r["data"]) for r in rows]


def test_transitions_the_state_does_not_allow_are_409_and_change_nothing(
    seeded: Db, control: httpx.Client
) -> None:
    acknowledged = insert_alert(seeded, status="acknowledged")
    resolved = insert_alert(seeded, subject="r-0002", status="resolved")

    again = control.post(f"/api/v1/alerts/{acknowledged}/acknowledge", json={})
    twice = control.post(f"/api/v1/alerts/{resolved}/feedback",
                         json={"outcome": "safe", "note": "x"})
    late_ack = control.post(f"/api/v1/alerts/{resolved}/acknowledge", json={})
    late_dispatch = control.post(f"/api/v1/alerts/{resolved}/dispatch", json={"worker": "w-01"})

    assert "it is acknowledged" in assert_error(again, 409, "conflict")["message"]
    assert "it is resolved" in assert_error(twice, 409, "conflict")["message"]
    assert_error(late_ack, 409, "conflict")
    assert_error(late_dispatch, 409, "conflict")
    assert [a for _, a, _, _ in _timeline(seeded, acknowledged)] == ["raised"]
    assert [a for _, a, _, _ in _timeline(seeded, resolved)] == ["raised"]


def test_unknown_alert_is_404_everywhere(seeded: Db, control: httpx.Client) -> None:
    assert_error(control.get("/api/v1/alerts/424242"), 404, "not_found")
    for step, body in [("acknowledge", {}), ("feedback", {"outcome": "safe", "note": "n"}),
                       ("dispatch", {"worker": "w-01"}), ("review", {"decision": "accepted"}),
                       ("archive", {})]:
        assert_error(control.post(f"/api/v1/alerts/424242/{step}", json=body),
                     404, "not_found")
    assert_error(control.get("/api/v1/alerts/424242/contacts"), 404, "not_found")
    assert_error(control.get("/api/v1/alerts/424242/photos/1"), 404, "not_found")


def test_resolve_is_gone(seeded: Db, control: httpx.Client) -> None:
    alert_id = insert_alert(seeded)
    response = control.post(f"/api/v1/alerts/{alert_id}/resolve", json={"note": "n"})
    assert response.status_code in (404, 405)


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("feedback", {"outcome": "safe"}, "note"),
        ("feedback", {"outcome": "safe", "note": "   "}, "note"),
        ("feedback", {"outcome": "fine", "note": "done"}, "outcome"),
        ("feedback", {"note": "done"}, "outcome"),
        ("feedback", {"outcome": "safe", "note": "done", "actor": "someone else"}, "actor"),
        ("feedback", {"outcome": "safe", "note": "done", "photos": [0]}, "photos.0"),
        ("feedback", {"outcome": "safe", "note": "done", "photos": [424242]}, "photos"),
        ("acknowledge", {"actor": "someone else"}, "actor"),
        ("acknowledge", {"by": "someone"}, "by"),
        ("dispatch", {}, "worker"),
        ("dispatch", {"worker": "w-99"}, "worker"),
        ("dispatch", {"worker": "w-01", "by": "x"}, "by"),
        ("review", {"decision": "maybe"}, "decision"),
        ("review", {"decision": "returned"}, "note"),
        ("review", {"decision": "returned", "note": "  "}, "note"),
    ],
)
def test_bad_step_bodies_are_422_naming_the_field(
    seeded: Db, control: httpx.Client, path: str, payload: dict[str, Any], field: str
) -> None:
    alert_id = insert_alert(seeded)

    error = assert_error(control.post(f"/api/v1/alerts/{alert_id}/{path}", json=payload),
                         422, "validation_error")

    assert field in [f["field"] for f in error["fields"]]
    assert seeded.execute("SELECT status, assignee FROM alerts WHERE id = %s",
                          (alert_id,)).fetchone() == {"status": "open", "assignee": None}


def test_non_numeric_alert_id_is_422(control: httpx.Client) -> None:
    error = assert_error(control.get("/api/v1/alerts/abc"), 422, "validation_error")
    assert error["fields"][0]["location"] == "path"


def test_alert_filters_and_pagination(seeded: Db, api: httpx.Client) -> None:
    made = {}
    for i in range(30):
        status = ["open", "acknowledged", "resolved"][i % 3]
        made[insert_alert(
            seeded, community=COMMUNITY if i % 5 else OTHER,
            rule="silent_resident" if i % 2 else "door_forced", subject=f"s-{i}",
            status=status, raised_at=BASE_TIME - dt.timedelta(minutes=i // 2),
        )] = (i, status)

    pages = walk_pages(api, "/api/v1/alerts", {"community": COMMUNITY, "status": ["open",
                       "acknowledged"], "rule": "silent_resident", "limit": 4})
    got = [a["id"] for page in pages for a in page]

    expected = sorted(
        (aid for aid, (i, status) in made.items()
         if i % 5 and status in ("open", "acknowledged") and i % 2),
        key=lambda aid: (BASE_TIME - dt.timedelta(minutes=made[aid][0] // 2), aid),
        reverse=True,
    )
    assert got == expected
    since = api.get("/api/v1/alerts", params={"since": (BASE_TIME - dt.timedelta(minutes=2))
                                              .isoformat()}).json()["items"]
    assert sorted(a["id"] for a in since) == sorted(
        aid for aid, (i, _) in made.items() if i // 2 <= 2)
    assert_error(api.get("/api/v1/alerts", params={"status": "lost"}), 422, "validation_error")


def test_history_filters_by_window_place_and_text(seeded: Db, api: httpx.Client) -> None:
    hour = dt.timedelta(hours=1)
    old = insert_alert(seeded, status="archived", title="张桂英 今日未出现", grid="g1",
                       building="b01", raised_at=BASE_TIME - 48 * hour)
    recent = insert_alert(seeded, status="resolved", rule="door_forced", subject="b02-door",
                          title="2栋 门被强行打开", grid="g1", building="b02",
                          raised_at=BASE_TIME - hour)
    named = insert_alert(seeded, status="archived", subject="r-0002", title="今日未出现",
                         grid="g1", building="b02", raised_at=BASE_TIME - 2 * hour)
    insert_alert(seeded, community=OTHER, status="archived", title="张桂英 今日未出现",
                 building="b01", raised_at=BASE_TIME - hour)

    def ids(**params: object) -> list[int]:
        response = api.get("/api/v1/alerts", params={"community": COMMUNITY, **params})
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    closed = {"status": ["resolved", "archived"]}
    assert ids(**closed) == [recent, named, old]
    assert ids(**closed, building="b02") == [recent, named]
    assert ids(**closed, grid="g1", until=(BASE_TIME - 3 * hour).isoformat()) == [old]
    assert ids(**closed, since=(BASE_TIME - 3 * hour).isoformat(),
               until=(BASE_TIME - hour).isoformat()) == [named]
    assert ids(**closed, q="强行") == [recent]
    assert ids(**closed, q=" 李建国 ") == [named]  # the subject resident's name
    assert ids(**closed, q="%") == []  # typed text, never a pattern
    assert ids(status="archived", q="张桂英") == [old]  # the other community's is not asked for
    for bad in ({"q": ""}, {"q": "x" * 101}, {"building": "b" * 65},
                {"since": BASE_TIME.isoformat(), "until": (BASE_TIME - hour).isoformat()},
                {"until": "yesterday"}):
        assert_error(api.get("/api/v1/alerts", params=bad), 422, "validation_error")


def test_detail_shows_notifications_without_secrets(seeded: Db, control: httpx.Client) -> None:
    alert_id = insert_alert(seeded)
    insert_notification(seeded, alert_id,
                        last_error=f"HTTP 500 from {NOTIFY_URLS[0]} (token=s3cret-token)")

    detail = control.get(f"/api/v1/alerts/{alert_id}").json()

    [notification] = detail["notifications"]
    assert notification["worker_name"] == "王芳"
    assert (notification["status"], notification["attempts"]) == ("pending", 2)
    assert "HTTP 500" in notification["last_error"]
    assert detail["subject_name"] == "张桂英"


def test_notify_urls_never_appear_in_any_response(seeded: Db, control: httpx.Client) -> None:
    alert_id = insert_alert(seeded)
    # A careless channel may echo its URL, or just its key, into the error it reports.
    insert_notification(seeded, alert_id, last_error=f"refused by {NOTIFY_URLS[0]}")
    insert_notification(seeded, alert_id, url_index=1, channel=NOTIFY_URLS[1],
                        last_error=f"bad key {NOTIFY_URLS[1].split('//')[1]}")
    insert_events(seeded, make_events(12))
    insert_dead_letter(seeded, "linli/v1/juxin/b01/b01-u1-door/events",
                       b'{"note": "not a secret"}', "schema: Field required")
    control.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={})

    paths = [
        "/health", "/api/v1/communities", f"/api/v1/communities/{COMMUNITY}/summary",
        "/api/v1/events", "/api/v1/alerts", f"/api/v1/alerts/{alert_id}", "/api/v1/devices",
        "/api/v1/dead-letters", f"/api/v1/communities/{COMMUNITY}/residents/r-0001/timeline",
        "/openapi.json", "/",
    ]
    for path in paths:
        response = control.get(path)
        assert response.status_code == 200, (path, response.text)
        for marker in SECRET_MARKERS:
            assert marker not in response.text, (path, marker)
    notifications = control.get(f"/api/v1/alerts/{alert_id}").json()["notifications"]
    assert [(n["channel"], n["last_error"]) for n in notifications] == [
        ("json://127.0.0.1", "refused by json://***"),
        ("wecombot://***", "bad key ***"),
    ]
