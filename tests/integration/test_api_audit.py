"""Reading the audit log through the API: filters, keyset pages, an auditor limited to their
community, 403 for the other roles, and every read recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.pagination import encode_cursor
from api.server import ApiServer
from tests.accounts import add_user, logged_in
from tests.integration.test_api_seed import (
    BASE_TIME,
    COMMUNITY,
    OTHER,
    Db,
    assert_error,
    walk_pages,
)

ENTRIES = (  # minutes after BASE_TIME, username, community, action, target
    (0, "ctl-9", COMMUNITY, "read.resident", "resident:juxin/r-0001"),
    (1, "w-01", COMMUNITY, "alert.acknowledged", "alert:12"),
    (2, "w-01", COMMUNITY, "alert.feedback", "alert:12"),
    (2, "w-01", COMMUNITY, "read.contacts", "alert:12"),
    (3, "hp-ctl", OTHER, "read.resident", "resident:heping/r-0001"),
    (4, "ctl-9", COMMUNITY, "alert.dispatched", "alert:123"),
    (5, "root", None, "user.created", "user:ctl-9"),
)


def seed_audit(db: Db) -> None:
    for minutes, username, community, action, target in ENTRIES:
        db.execute(
            "INSERT INTO audit_log (at, username, role, community, action, target, via, ip,"
            " detail) VALUES (%s, %s, 'control_room', %s, %s, %s, 'session', '10.0.0.7',"
            " '{\"n\": 1}')",
            (BASE_TIME + dt.timedelta(minutes=minutes), username, community, action, target))


@pytest.fixture(name="logged")
def logged_fixture(seeded: Db) -> Db:
    seed_audit(seeded)
    return seeded


@pytest.fixture(name="auditor")
def auditor_fixture(seeded: Db, server: ApiServer) -> Iterator[httpx.Client]:
    """An auditor of juxin only."""
    add_user(seeded, "aud-juxin", "auditor", community=COMMUNITY)
    client = logged_in(server.url, "aud-juxin")
    yield client
    client.close()


def seeded_entries(client: httpx.Client, **params: Any) -> list[tuple[str | None, str]]:
    """(username, action) of the seeded entries a read returns (logins left out)."""
    response = client.get("/api/v1/audit", params={"until": BASE_TIME + dt.timedelta(hours=1),
                                                    **params})
    assert response.status_code == 200, response.text
    return [(e["username"], e["action"]) for e in response.json()["items"]]


def test_an_admin_reads_every_community_newest_first(logged: Db, api: httpx.Client) -> None:
    assert seeded_entries(api) == [
        ("root", "user.created"), ("ctl-9", "alert.dispatched"), ("hp-ctl", "read.resident"),
        ("w-01", "read.contacts"), ("w-01", "alert.feedback"), ("w-01", "alert.acknowledged"),
        ("ctl-9", "read.resident")]
    entry = api.get("/api/v1/audit", params={"target": "alert:123"}).json()["items"][0]
    assert {k: entry[k] for k in ("role", "community", "target", "via", "ip", "detail")} == {
        "role": "control_room", "community": COMMUNITY, "target": "alert:123",
        "via": "session", "ip": "10.0.0.7", "detail": {"n": 1}}


@pytest.mark.parametrize(("params", "expected"), [
    ({"user": "W-01"}, [("w-01", "read.contacts"), ("w-01", "alert.feedback"),
                        ("w-01", "alert.acknowledged")]),
    ({"action": "alert."}, [("ctl-9", "alert.dispatched"), ("w-01", "alert.feedback"),
                            ("w-01", "alert.acknowledged")]),
    ({"action": "read.res"}, [("hp-ctl", "read.resident"), ("ctl-9", "read.resident")]),
    ({"action": "%"}, []),  # a prefix, not a pattern
    ({"target": "alert:12"}, [("w-01", "read.contacts"), ("w-01", "alert.feedback"),
                              ("w-01", "alert.acknowledged")]),
    ({"community": OTHER}, [("hp-ctl", "read.resident")]),
    ({"since": BASE_TIME + dt.timedelta(minutes=2), "until": BASE_TIME + dt.timedelta(minutes=4)},
     [("hp-ctl", "read.resident"), ("w-01", "read.contacts"), ("w-01", "alert.feedback")]),
])
def test_filters(params: dict[str, Any], expected: list[tuple[str, str]], logged: Db,
                 api: httpx.Client) -> None:
    assert seeded_entries(api, **params) == expected


def test_pages_neither_repeat_nor_skip(logged: Db, api: httpx.Client) -> None:
    until = (BASE_TIME + dt.timedelta(hours=1)).isoformat()
    pages = walk_pages(api, "/api/v1/audit", {"limit": 2, "until": until})
    ids = [e["id"] for page in pages for e in page]
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert len(set(ids)) == len(ENTRIES)
    # the two entries of minute 2 come newest id first
    assert ids == sorted(ids, reverse=True)


def test_an_auditor_of_a_community_sees_only_it(logged: Db, auditor: httpx.Client) -> None:
    assert {user for user, _ in seeded_entries(auditor)} == {"ctl-9", "w-01"}
    assert_error(auditor.get("/api/v1/audit", params={"community": OTHER}), 404, "not_found")


def test_reading_the_log_is_recorded(logged: Db, auditor: httpx.Client) -> None:
    response = auditor.get("/api/v1/audit", params={"action": "alert.", "limit": 5})
    assert response.status_code == 200, response.text

    reads = logged.execute("SELECT username, role, community, action, target, detail"
                           " FROM audit_log WHERE action = 'read.audit'").fetchall()
    assert reads == [{"username": "aud-juxin", "role": "auditor", "community": COMMUNITY,
                      "action": "read.audit", "target": None,
                      "detail": {"action": "alert.", "limit": 5}}]
    newest = auditor.get("/api/v1/audit", params={"limit": 1}).json()["items"][0]
    assert (newest["username"], newest["action"]) == ("aud-juxin", "read.audit")


@pytest.mark.parametrize("role", ["control_room", "grid_worker", "installer"])
def test_other_roles_are_refused(role: str, logged: Db, server: ApiServer) -> None:
    worker = "w-01" if role == "grid_worker" else None
    add_user(logged, f"u-{role}", role, community=COMMUNITY, worker=worker)
    client = logged_in(server.url, f"u-{role}")
    try:
        assert_error(client.get("/api/v1/audit"), 403, "forbidden")
    finally:
        client.close()


@pytest.mark.parametrize("params", [
    {"since": "2026-11-20T03:00:00+00:00", "until": "2026-11-20T02:00:00+00:00"},
    {"since": "yesterday"}, {"until": "2026-11-20T02:00:00"}, {"user": "u" * 65},
    {"cursor": "x"}, {"limit": "1001"}, {"target": "alert:\x00"},
    {"cursor": encode_cursor("2026-11-20T02:00:00+00:00", 2**70)},
])
def test_bad_parameters_are_422(params: dict[str, str], logged: Db, api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/audit", params=params), 422, "validation_error")
