"""The closed loop of an alert through the API, served for real on a real PostgreSQL:
dispatch (派单 / 转办) → acknowledge → photo and on-site feedback (核查反馈) → review
(考核评价) → archive (归档). Each step's state, its timeline row (the actor from the
session), its audit row and the pushes it queues; who may do what, and the links in pushes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from api.server import ApiServer
from tests.accounts import add_user, logged_in
from tests.integration.test_api_seed import COMMUNITY, OTHER, Db, assert_error, insert_alert

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


@pytest.fixture(name="other_grid")
def other_grid_fixture(seeded: Db, server: ApiServer) -> Iterator[httpx.Client]:
    """Grid worker w-02 of a second grid (g2, building b03) of the same community."""
    seeded.execute("INSERT INTO grids VALUES (%s, 'g2', '第二网格')", (COMMUNITY,))
    seeded.execute("INSERT INTO buildings VALUES (%s, 'b03', '3栋', 'g2')", (COMMUNITY,))
    seeded.execute("INSERT INTO grid_workers (community, id, name, locale, notify_urls)"
                   " VALUES (%s, 'w-02', '刘洋', 'en', %s)", (COMMUNITY, ["json://127.0.0.1:9/w2"]))
    seeded.execute("INSERT INTO grid_worker_grids VALUES (%s, 'w-02', 'g2')", (COMMUNITY,))
    add_user(seeded, "w-02", "grid_worker", community=COMMUNITY, worker="w-02",
             display_name="刘洋")
    client = logged_in(server.url, "w-02")
    yield client
    client.close()


def g1_alert(db: Db, **values: Any) -> int:
    """An open alert about r-0001 in grid g1, building b01 (w-01's)."""
    alert_id = insert_alert(db, **values)
    db.execute("UPDATE alerts SET grid = 'g1', building = 'b01' WHERE id = %s", (alert_id,))
    return alert_id


def row(db: Db, alert_id: int) -> dict[str, Any]:
    found = db.execute("SELECT * FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert found is not None
    return dict(found)


def steps(db: Db, alert_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    rows = db.execute("SELECT actor, action, data FROM alert_timeline WHERE alert_id = %s"
                      " ORDER BY id", (alert_id,)).fetchall()
    return [(r["actor"], r["action"], r["data"]) for r in rows]


def audited(db: Db, action: str) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute(
        "SELECT username, role, community, target, via, detail FROM audit_log"
        " WHERE action = %s ORDER BY id", (action,)).fetchall()]


def pushes_to(db: Db, worker: str) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute(
        "SELECT alert_id, url_index, channel, title, body, status FROM notifications"
        " WHERE worker = %s ORDER BY id", (worker,)).fetchall()]


def post(client: httpx.Client, alert_id: int, step: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/alerts/{alert_id}/{step}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def upload(client: httpx.Client, alert_id: int, data: bytes,
           content_type: str = "image/jpeg") -> httpx.Response:
    return client.post(f"/api/v1/alerts/{alert_id}/photos", content=data,
                       headers={"Content-Type": content_type})


CONTROL = {"via": "session", "role": "control_room"}
WORKER = {"via": "session", "role": "grid_worker"}


def test_the_whole_loop_with_each_step_on_the_timeline_and_in_the_audit_log(
    seeded: Db, server: ApiServer, control: httpx.Client, worker: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)

    # 派单: to w-01, who gets a push on each channel, ending with their link.
    sent = post(control, alert_id, "dispatch", worker="w-01", note="请今天上门")
    assert (sent["status"], sent["assignee"], sent["assignee_name"]) == ("open", "w-01", "王芳")
    assert sent["assigned_at"] is not None
    pushes = pushes_to(seeded, "w-01")
    assert [(p["url_index"], p["title"]) for p in pushes] == [
        (0, "【邻里·派单】张桂英 今日未出现"), (1, "【邻里·派单】张桂英 今日未出现")]
    [link] = seeded.execute("SELECT * FROM alert_links WHERE alert_id = %s",
                            (alert_id,)).fetchall()
    assert pushes[0]["body"] == (
        f"值班员将告警#{alert_id}派给您，请尽快上门查看并反馈。\n备注：请今天上门\n"
        f"查看详情并反馈：http://127.0.0.1:8000/go/{link['token']}")
    assert link["worker"] == "w-01" and link["expires_at"] > dt.datetime.now(dt.UTC)

    # Acknowledge: the feedback deadline starts (rules.feedback_due_min, 240 by default).
    taken = post(worker, alert_id, "acknowledge", note="马上到")
    state = row(seeded, alert_id)
    assert (taken["status"], taken["acknowledged_by"]) == ("acknowledged", "w-01")
    assert state["feedback_due_at"] == state["acknowledged_at"] + dt.timedelta(minutes=240)
    assert state["escalate_at"] is None
    assert taken["feedback_due_at"] is not None

    # A photo, then the on-site feedback with it: resolved, and the visit is recorded.
    photo = upload(worker, alert_id, JPEG)
    assert photo.status_code == 201, photo.text
    assert photo.json() == {"id": photo.json()["id"], "sha256": hashlib.sha256(JPEG).hexdigest(),
                            "content_type": "image/jpeg", "bytes": len(JPEG)}
    photo_id = photo.json()["id"]
    done = post(worker, alert_id, "feedback", outcome="safe", note="老人在家，身体无恙",
                photos=[photo_id])
    state = row(seeded, alert_id)
    assert (done["status"], done["outcome"], done["resolved_by"]) == ("resolved", "safe", "w-01")
    assert state["visited_at"] == state["resolved_at"] and done["visited_at"] is not None
    assert [p["id"] for p in done["photos"]] == [photo_id]

    # Archiving before the review is refused; the control room accepts, then archives.
    early = control.post(f"/api/v1/alerts/{alert_id}/archive", json={})
    assert "not been accepted" in assert_error(early, 409, "conflict")["message"]
    accepted = post(control, alert_id, "review", decision="accepted")
    assert (accepted["review"], accepted["reviewed_by"]) == ("accepted", "ctl-1")
    assert_error(control.post(f"/api/v1/alerts/{alert_id}/review",
                              json={"decision": "accepted"}), 409, "conflict")
    archived = post(control, alert_id, "archive", note="归档")
    assert (archived["status"], archived["archived_by"]) == ("archived", "ctl-1")
    assert archived["archived_at"] is not None

    # Every step on the timeline, by the person of the session, with their name.
    assert [(actor, action) for actor, action, _ in steps(seeded, alert_id)] == [
        ("rules", "raised"), ("ctl-1", "dispatched_to"), ("w-01", "acknowledged"),
        ("w-01", "feedback"), ("ctl-1", "accepted"), ("ctl-1", "archived")]
    data = {action: d for _, action, d in steps(seeded, alert_id)}
    assert data["dispatched_to"]["worker"] == "w-01"
    assert len(data["dispatched_to"]["notifications"]) == 2
    assert data["acknowledged"] == {**WORKER, "assignee": "w-01"}
    assert data["feedback"] == {**WORKER, "outcome": "safe", "photos": [photo_id]}
    assert data["accepted"] == {**CONTROL, "decision": "accepted"}
    assert data["archived"] == CONTROL
    timeline = archived["timeline"]
    assert [(t["actor"], t["actor_name"]) for t in timeline][1:3] == [
        ("ctl-1", "值班员"), ("w-01", "王芳")]
    assert timeline[0]["actor_name"] is None  # the rules, not a person
    # … and in the audit log.
    for action, who in [("dispatched_to", "ctl-1"), ("acknowledged", "w-01"),
                        ("feedback", "w-01"), ("accepted", "ctl-1"), ("archived", "ctl-1"),
                        ("photo_added", "w-01")]:
        [entry] = audited(seeded, f"alert.{action}")
        assert (entry["username"], entry["target"], entry["community"], entry["via"]) == (
            who, f"alert:{alert_id}", COMMUNITY, "session"), action


def test_feedback_returned_for_rework_goes_back_to_the_worker(
    seeded: Db, control: httpx.Client, worker: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)
    post(control, alert_id, "dispatch", worker="w-01")
    post(worker, alert_id, "acknowledge")
    post(worker, alert_id, "feedback", outcome="other", note="没人开门")

    returned = post(control, alert_id, "review", decision="returned", note="请联系家属核实")

    state = row(seeded, alert_id)
    assert (returned["status"], returned["review"], returned["resolved_at"]) == (
        "acknowledged", "returned", None)
    assert state["feedback_due_at"] == state["reviewed_at"] + dt.timedelta(minutes=240)
    assert state["visited_at"] is None  # "other": nobody saw the resident
    [push] = [p for p in pushes_to(seeded, "w-01") if "退回" in p["title"]][:1]
    assert push["title"] == "【邻里·退回】张桂英 今日未出现"
    assert "值班员退回了告警" in push["body"] and "请联系家属核实" in push["body"]
    assert "/go/" in push["body"].splitlines()[-1]
    # The worker reports again; the second round is reviewed on its own.
    again = post(worker, alert_id, "feedback", outcome="away_unreported", note="去女儿家了")
    assert (again["status"], again["review"]) == ("resolved", None)
    post(control, alert_id, "review", decision="returned", note="再核实一次")
    titles = [p["title"] for p in pushes_to(seeded, "w-01") if "退回" in p["title"]]
    assert titles[-1] == "【邻里·退回】张桂英 今日未出现（第2次）"
    assert [a for _, a, _ in steps(seeded, alert_id)][-4:] == [
        "feedback", "returned", "feedback", "returned"]
    assert audited(seeded, "alert.returned")[0]["detail"]["decision"] == "returned"


def test_redispatch_to_another_worker_needs_a_reason(
    seeded: Db, control: httpx.Client, worker: httpx.Client, other_grid: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)
    post(control, alert_id, "dispatch", worker="w-01")
    post(worker, alert_id, "acknowledge")

    missing = control.post(f"/api/v1/alerts/{alert_id}/dispatch", json={"worker": "w-02"})
    assert_error(missing, 422, "validation_error")
    same = control.post(f"/api/v1/alerts/{alert_id}/dispatch", json={"worker": "w-01"})
    assert_error(same, 409, "conflict")
    moved = post(control, alert_id, "dispatch", worker="w-02", reason="王芳休假")

    # Open again for w-02, who now sees it (outside their grid) and takes it on.
    assert (moved["status"], moved["assignee"], moved["acknowledged_by"]) == ("open", "w-02",
                                                                               None)
    _, action, data = steps(seeded, alert_id)[-1]
    assert action == "redispatched"
    assert (data["from"], data["worker"], data["reason"]) == ("w-01", "w-02", "王芳休假")
    [push] = pushes_to(seeded, "w-02")
    assert push["title"] == "[Linli · reassigned] 张桂英 今日未出现"  # w-02 reads English
    assert "(reason: 王芳休假)" in push["body"] and "Details and feedback: http" in push["body"]
    assert post(other_grid, alert_id, "acknowledge")["assignee"] == "w-02"
    # w-01 still sees the alert of their grid, but may no longer act on it.
    assert worker.get(f"/api/v1/alerts/{alert_id}").status_code == 200
    assert_error(worker.post(f"/api/v1/alerts/{alert_id}/feedback",
                             json={"outcome": "safe", "note": "x"}), 403, "forbidden")
    assert_error(worker.get(f"/api/v1/alerts/{alert_id}/contacts"), 403, "forbidden")


def test_a_grid_worker_cannot_act_on_another_grids_alert_nor_dispatch(
    seeded: Db, control: httpx.Client, other_grid: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)

    assert_error(other_grid.get(f"/api/v1/alerts/{alert_id}"), 404, "not_found")
    for step, body in [("acknowledge", {}), ("feedback", {"outcome": "safe", "note": "n"})]:
        assert_error(other_grid.post(f"/api/v1/alerts/{alert_id}/{step}", json=body),
                     404, "not_found")
    assert_error(upload(other_grid, alert_id, JPEG), 404, "not_found")
    assert_error(other_grid.get(f"/api/v1/alerts/{alert_id}/contacts"), 404, "not_found")
    for step, body in [("dispatch", {"worker": "w-02"}), ("review", {"decision": "accepted"}),
                       ("archive", {})]:
        assert_error(other_grid.post(f"/api/v1/alerts/{alert_id}/{step}", json=body),
                     403, "forbidden")
    assert_error(other_grid.get(f"/api/v1/communities/{COMMUNITY}/workers"), 403, "forbidden")
    assert row(seeded, alert_id)["status"] == "open"
    assert [a for _, a, _ in steps(seeded, alert_id)] == ["raised"]


def test_an_unassigned_alert_becomes_the_acknowledging_workers(
    seeded: Db, worker: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)

    taken = post(worker, alert_id, "acknowledge")

    assert (taken["assignee"], taken["assignee_name"]) == ("w-01", "王芳")
    listed = worker.get("/api/v1/alerts", params={"assignee": "me"}).json()["items"]
    assert [a["id"] for a in listed] == [alert_id]


def test_control_room_in_another_community_sees_nothing(
    seeded: Db, server: ApiServer
) -> None:
    alert_id = g1_alert(seeded)
    add_user(seeded, "ctl-hp", "control_room", community=OTHER)
    with closing(logged_in(server.url, "ctl-hp")) as other:
        assert_error(other.post(f"/api/v1/alerts/{alert_id}/dispatch", json={"worker": "w-01"}),
                     404, "not_found")
        assert_error(other.get(f"/api/v1/alerts/{alert_id}/contacts"), 404, "not_found")
        assert_error(other.get(f"/api/v1/communities/{COMMUNITY}/workers"), 404, "not_found")


def test_a_system_resolved_alert_is_archived_without_review(
    seeded: Db, control: httpx.Client
) -> None:
    alert_id = g1_alert(seeded, status="resolved")
    seeded.execute("UPDATE alerts SET resolved_by = 'system' WHERE id = %s", (alert_id,))

    review = control.post(f"/api/v1/alerts/{alert_id}/review", json={"decision": "accepted"})
    assert "closed by the system" in assert_error(review, 409, "conflict")["message"]
    assert post(control, alert_id, "archive")["status"] == "archived"
    assert_error(control.post(f"/api/v1/alerts/{alert_id}/archive", json={}), 409, "conflict")


def test_returning_is_refused_when_a_newer_alert_is_active(
    seeded: Db, control: httpx.Client, worker: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)
    post(worker, alert_id, "feedback", outcome="false_alarm", note="误报")
    g1_alert(seeded)  # the rules raised the same subject again since

    refused = control.post(f"/api/v1/alerts/{alert_id}/review",
                           json={"decision": "returned", "note": "请复核"})

    assert "newer alert" in assert_error(refused, 409, "conflict")["message"]
    assert row(seeded, alert_id)["status"] == "resolved"


def test_photos_are_checked_by_their_bytes_and_served_privately(
    seeded: Db, worker: httpx.Client, control: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)

    assert_error(upload(worker, alert_id, b"GIF89a" + bytes(20), "image/gif"),
                 415, "unsupported_media_type")
    assert_error(upload(worker, alert_id, JPEG, "image/png"), 415, "unsupported_media_type")
    assert_error(upload(worker, alert_id, b"<svg/>", "image/jpeg"), 415,
                 "unsupported_media_type")
    big = JPEG + bytes(5 * 1024 * 1024)
    assert_error(upload(worker, alert_id, big), 413, "payload_too_large")
    assert_error(upload(worker, alert_id, b""), 422, "validation_error")
    png = upload(worker, alert_id, PNG, "image/png; charset=binary")
    assert png.status_code == 201, png.text
    again = upload(worker, alert_id, PNG, "image/png")
    assert again.json()["id"] == png.json()["id"]  # the same image is one photo

    got = control.get(f"/api/v1/alerts/{alert_id}/photos/{png.json()['id']}")
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["cache-control"] == "private, no-store"
    assert audited(seeded, "read.photo")[0]["username"] == "ctl-1"
    other = g1_alert(seeded, subject="r-0002")
    assert_error(control.get(f"/api/v1/alerts/{other}/photos/{png.json()['id']}"),
                 404, "not_found")
    stored = seeded.execute("SELECT count(*) AS n FROM alert_photos").fetchone()
    assert stored["n"] == 1
    # After the feedback, no more photos.
    post(worker, alert_id, "feedback", outcome="safe", note="ok")
    assert_error(upload(worker, alert_id, JPEG), 409, "conflict")


def test_contacts_only_for_those_who_may_and_every_read_is_audited(
    seeded: Db, server: ApiServer, control: httpx.Client, worker: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)

    contacts = control.get(f"/api/v1/alerts/{alert_id}/contacts")

    assert contacts.status_code == 200, contacts.text
    assert contacts.json() == {
        "alert_id": alert_id, "resident": "r-0001", "name": "张桂英", "phone": "13800000001",
        "home": {"household": "h-b01-101", "building": "b01", "building_name": "1栋",
                 "unit": "u1", "unit_name": "1单元", "room": "101"},
        "emergency_contacts": [{"name": "李明", "relation": None, "phone": "13900000009"}]}
    assert worker.get(f"/api/v1/alerts/{alert_id}/contacts").status_code == 200
    assert [(a["username"], a["target"], a["detail"]) for a in audited(seeded, "read.contacts")
            ] == [("ctl-1", "resident:juxin/r-0001", {"alert": alert_id}),
                  ("w-01", "resident:juxin/r-0001", {"alert": alert_id})]
    for username, role in [("aud", "auditor"), ("inst", "installer"), ("adm", "admin")]:
        add_user(seeded, username, role, community=COMMUNITY if role != "admin" else None)
        with closing(logged_in(server.url, username)) as client:
            assert_error(client.get(f"/api/v1/alerts/{alert_id}/contacts"), 403, "forbidden")
    device_alert = g1_alert(seeded, rule="door_forced", subject="b01-u1-door")
    assert_error(control.get(f"/api/v1/alerts/{device_alert}/contacts"), 404, "not_found")


def test_workers_to_dispatch_to_and_the_assignee_filter(
    seeded: Db, control: httpx.Client, other_grid: httpx.Client
) -> None:
    seeded.execute("INSERT INTO grid_workers (community, id, name, active) VALUES"
                   " ('juxin', 'w-09', '离职', false)")
    workers = control.get(f"/api/v1/communities/{COMMUNITY}/workers")
    assert workers.json() == [{"id": "w-01", "name": "王芳", "grids": ["g1"]},
                              {"id": "w-02", "name": "刘洋", "grids": ["g2"]}]
    assert_error(control.get(f"/api/v1/communities/{OTHER}/workers"), 404, "not_found")
    assert_error(control.post(f"/api/v1/alerts/{g1_alert(seeded)}/dispatch",
                              json={"worker": "w-09"}), 422, "validation_error")

    mine = g1_alert(seeded, subject="r-0002")
    post(control, mine, "dispatch", worker="w-02")
    listed = control.get("/api/v1/alerts", params={"assignee": "w-02"}).json()["items"]
    assert [a["id"] for a in listed] == [mine]
    own = other_grid.get("/api/v1/alerts", params={"assignee": "me"}).json()["items"]
    assert [(a["id"], a["assignee_name"]) for a in own] == [(mine, "刘洋")]
    assert control.get("/api/v1/alerts", params={"assignee": "me"}).json()["items"] == []


def test_the_link_in_a_push_opens_its_alert_until_it_expires(
    seeded: Db, server: ApiServer, control: httpx.Client
) -> None:
    alert_id = g1_alert(seeded)
    post(control, alert_id, "dispatch", worker="w-01")
    [link] = seeded.execute("SELECT token FROM alert_links").fetchall()
    anonymous = httpx.Client(base_url=server.url, follow_redirects=False)

    opened = anonymous.get(f"/go/{link['token']}")

    assert opened.status_code == 303 and opened.headers["location"] == f"/?alert={alert_id}"
    assert seeded.execute("SELECT opened_at FROM alert_links").fetchone()["opened_at"]
    [entry] = audited(seeded, "link.opened")
    assert (entry["target"], entry["via"], entry["detail"]) == (
        f"alert:{alert_id}", "link", {"worker": "w-01"})
    seeded.execute("UPDATE alert_links SET expires_at = now() - interval '1 minute'")
    for path in (f"/go/{link['token']}", "/go/not-a-token-at-all-0000", "/go/%00", "/go/x",
                 "/go/" + "a" * 300):
        gone = anonymous.get(path)
        assert gone.status_code == 404, path
        assert gone.headers["content-type"].startswith("text/html")
        assert "链接已失效" in gone.text and "This link has expired" in gone.text
    assert len(audited(seeded, "link.opened")) == 1
    anonymous.close()
