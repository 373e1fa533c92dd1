"""The live stream: alerts and devices from the database's notifications, scoped to the
principal's place; health at once and every 5 s, also while the database is down; a
stream does not hold up the server's shutdown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from api.app import create_app
from api.server import ApiServer, start_in_thread
from linli.settings import Settings
from tests.accounts import add_user, logged_in
from tests.integration.live import StreamReader, wait_until_listening
from tests.integration.test_api_seed import COMMUNITY, OTHER, Db, insert_alert

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture(name="readers")
def readers_fixture() -> Iterator[list[StreamReader]]:
    opened: list[StreamReader] = []
    yield opened
    for reader in opened:
        reader.close()


def _open(readers: list[StreamReader], client: httpx.Client, db: Db) -> StreamReader:
    reader = StreamReader(client)
    readers.append(reader)
    assert reader.status == 200
    wait_until_listening(db)
    return reader


def test_an_alert_raised_and_acknowledged_arrives_on_the_stream(
        seeded: Db, control: httpx.Client, readers: list[StreamReader]) -> None:
    stream = _open(readers, control, seeded)
    assert stream.headers is not None
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-store"
    stream.wait_for(lambda events: any(e.name == "health" for e in events))
    assert stream.lines[0] == "retry: 3000"
    health = stream.named("health")[0]
    assert (health["database"], health["broker"]) == ("ok", "unconfigured")

    alert_id = insert_alert(seeded, grid="g1", building="b01")
    stream.wait_for_alert(alert_id, "raised")
    raised = next(a for a in stream.named("alert") if a["id"] == alert_id)
    assert raised == {"id": alert_id, "community": COMMUNITY, "grid": "g1", "building": "b01",
                      "rule": "silent_resident", "status": "open", "severity": "warning",
                      "tier": 1, "assignee": None, "change": "raised"}

    answer = control.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={})
    assert answer.status_code == 200, answer.text
    stream.wait_for_alert(alert_id, "acknowledged")
    # A change the stream does not announce (the rule firing again) sends nothing.
    seeded.execute("UPDATE alerts SET fired_count = fired_count + 1 WHERE id = %s", (alert_id,))
    seeded.execute("UPDATE alerts SET tier = 2 WHERE id = %s", (alert_id,))
    stream.wait_for_alert(alert_id, "escalated")
    assert [a["change"] for a in stream.named("alert")] == ["raised", "acknowledged",
                                                            "escalated"]


def test_device_state_changes_arrive(seeded: Db, control: httpx.Client,
                                     readers: list[StreamReader]) -> None:
    stream = _open(readers, control, seeded)
    seeded.execute("UPDATE devices SET state = 'offline' WHERE community = %s"
                   " AND id = 'b01-u1-door'", (COMMUNITY,))
    stream.wait_for(lambda events: any(e.name == "device" for e in events))
    assert stream.named("device")[0] == {
        "community": COMMUNITY, "building": "b01", "id": "b01-u1-door", "kind": "door",
        "state": "offline", "last_event_at": "2026-11-20T02:00:00Z"}


def test_a_grid_worker_gets_only_the_alerts_of_their_grids(
        seeded: Db, worker: httpx.Client, readers: list[StreamReader]) -> None:
    seeded.execute("INSERT INTO grids VALUES (%s, 'g2', '第二网格')", (COMMUNITY,))
    seeded.execute("INSERT INTO buildings VALUES (%s, 'b03', '3栋', 'g2')", (COMMUNITY,))
    stream = _open(readers, worker, seeded)
    elsewhere = insert_alert(seeded, subject="r-0002", grid="g2", building="b03")
    theirs = insert_alert(seeded, grid="g1", building="b01")
    stream.wait_for_alert(theirs, "raised")
    # Notifications arrive in commit order: the other grid's came first and was not sent.
    assert [a["id"] for a in stream.named("alert")] == [theirs]
    # Dispatched to them, the other grid's alert becomes theirs to see.
    seeded.execute("UPDATE alerts SET assignee = 'w-01' WHERE id = %s", (elsewhere,))
    stream.wait_for_alert(elsewhere, "dispatched")


def test_another_communitys_control_room_gets_nothing_of_ours(
        seeded: Db, server: ApiServer, readers: list[StreamReader]) -> None:
    add_user(seeded, "ctl-other", "control_room", community=OTHER)
    add_user(seeded, "inst-1", "installer", community=COMMUNITY)
    other, fitter = logged_in(server.url, "ctl-other"), logged_in(server.url, "inst-1")
    try:
        theirs_stream = _open(readers, other, seeded)
        fitter_stream = _open(readers, fitter, seeded)
        ours = insert_alert(seeded)
        seeded.execute("UPDATE devices SET state = 'offline' WHERE community = %s"
                       " AND id = 'b01-u1-door'", (COMMUNITY,))
        theirs = insert_alert(seeded, community=OTHER)
        seeded.execute("UPDATE devices SET state = 'offline' WHERE community = %s"
                       " AND id = 'b01-u1-door'", (OTHER,))
        theirs_stream.wait_for(lambda events: any(e.name == "device" for e in events))
        assert [a["id"] for a in theirs_stream.named("alert")] == [theirs]
        assert [d["community"] for d in theirs_stream.named("device")] == [OTHER]
        # An installer sees the devices of their community, and no alert at all.
        fitter_stream.wait_for(lambda events: any(e.name == "device" for e in events))
        assert fitter_stream.named("alert") == []
        assert [d["community"] for d in fitter_stream.named("device")] == [COMMUNITY]
        assert ours != theirs
    finally:
        other.close()
        fitter.close()


def test_anonymous_and_unknown_sessions_are_refused(server: ApiServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as anonymous:
        assert anonymous.get("/api/v1/stream").status_code == 401
        anonymous.cookies.set("linli_session", "nope")
        assert anonymous.get("/api/v1/stream").status_code == 401


def test_a_database_outage_is_told_on_an_open_stream(
        seeded: Db, db_url: str, control: httpx.Client, readers: list[StreamReader]) -> None:
    stream = _open(readers, control, seeded)
    stream.wait_for(lambda events: any(e.name == "health" for e in events))
    name = seeded.info.dbname
    allow = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}")
    with psycopg.connect(db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(allow.format(sql.Identifier(name), sql.SQL("false")))
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> %s", (name, seeded.info.backend_pid))
            stream.wait_for(lambda events: _last_health(events) == "down", timeout=60)
        finally:
            admin.execute(allow.format(sql.Identifier(name), sql.SQL("true")))
    stream.wait_for(lambda events: _last_health(events) == "ok", timeout=60)
    # Listening again: a new alert arrives on the same stream.
    wait_until_listening(seeded, timeout=60)
    alert_id = insert_alert(seeded)
    stream.wait_for_alert(alert_id, "raised")


def _last_health(events: list[Any]) -> str | None:
    health = [e.data["database"] for e in events if e.name == "health"]
    return health[-1] if health else None


def test_an_open_stream_does_not_hold_up_shutdown(
        seeded: Db, control: httpx.Client, server: ApiServer,
        readers: list[StreamReader]) -> None:
    stream = _open(readers, control, seeded)
    stream.wait_for(lambda events: any(e.name == "health" for e in events))
    server.stop()
    assert not server.is_alive()
    assert stream.ended.wait(10)
    # Ended by the server, as a complete response: not cut off after a grace period.
    assert stream.error is None, stream.error


def test_a_stream_ends_when_its_session_does(
        seeded: Db, db_url: str, make_settings: Callable[..., Settings],
        readers: list[StreamReader]) -> None:
    settings = make_settings(database_url=db_url)
    server = start_in_thread(settings, app=create_app(settings, stream_recheck_s=0.2),
                             host="127.0.0.1", port=0)
    try:
        add_user(seeded, "ctl-1", "control_room", community=COMMUNITY)
        client, other = logged_in(server.url, "ctl-1"), logged_in(server.url, "ctl-1")
        stream, kept = _open(readers, client, seeded), _open(readers, other, seeded)
        assert client.post("/api/v1/auth/logout").status_code == 204
        assert stream.ended.wait(30)
        assert stream.error is None
        # Another session of the same person goes on.
        alert_id = insert_alert(seeded)
        kept.wait_for_alert(alert_id, "raised")
        client.close()
        other.close()
    finally:
        server.stop()
