"""Logging in and out through the served API: cookies, CSRF, throttling and lock-out, API
tokens, disabled accounts, the initial password, and the audit rows all of it leaves."""

from __future__ import annotations

import time

import httpx
import pytest

from api.server import ApiServer
from tests.accounts import PASSWORD, add_user, logged_in, login
from tests.integration.conftest import StartApi
from tests.integration.test_api_seed import COMMUNITY, Db, assert_error, insert_alert


def _post_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _actions(db: Db) -> list[tuple[str, str]]:
    rows = db.execute("SELECT username, action FROM audit_log ORDER BY id").fetchall()
    return [(r["username"], r["action"]) for r in rows]


def test_login_sets_a_httponly_session_and_a_readable_csrf_cookie(
    seeded: Db, server: ApiServer
) -> None:
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY, display_name="值班员")
    with httpx.Client(base_url=server.url) as client:
        response = _post_login(client, "CTL-1", PASSWORD)  # names match in any case

        assert response.status_code == 200, response.text
        cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
        assert "httponly" in cookies["linli_session"] and "samesite=lax" in cookies["linli_session"]
        assert "httponly" not in cookies["linli_csrf"]
        assert "secure" not in cookies["linli_session"]  # plain HTTP on loopback: auto
        body = response.json()
        assert body["user"]["role"] == "control_room"
        assert body["user"]["community"] == COMMUNITY
        assert "alerts:dispatch" in body["user"]["permissions"]
        assert PASSWORD not in response.text

        me = client.get("/api/v1/auth/me").json()
        assert (me["username"], me["display_name"], me["via"]) == ("ctl-1", "值班员", "session")
    assert _actions(seeded) == [("ctl-1", "login")]


def test_wrong_and_unknown_names_fail_alike_and_are_audited(seeded: Db, server: ApiServer) -> None:
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY)
    with httpx.Client(base_url=server.url) as client:
        wrong = assert_error(_post_login(client, "ctl-1", "not-the-password"), 401,
                             "unauthorized")
        unknown = assert_error(_post_login(client, "nobody", "not-the-password"), 401,
                               "unauthorized")
        assert wrong["message"] == unknown["message"]
        assert_error(client.get("/api/v1/alerts"), 401, "unauthorized")
    assert _actions(seeded) == [("ctl-1", "login_failed"), ("nobody", "login_failed")]
    assert "not-the-password" not in str(seeded.execute("SELECT * FROM audit_log").fetchall())


def test_a_name_is_locked_after_repeated_failures_and_others_are_not(
    seeded: Db, start_api: StartApi, db_url: str
) -> None:
    _, client = start_api(database_url=db_url, api={"login_max_failures": 3})
    add_user(seeded, "w-01", "grid_worker", community=COMMUNITY, worker="w-01")
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY)
    for _ in range(3):
        assert_error(_post_login(client, "w-01", "guess-guess-guess"), 401, "unauthorized")

    locked = assert_error(_post_login(client, "w-01", PASSWORD), 429, "too_many_attempts")
    assert "try again" in locked["message"]
    assert _post_login(client, "ctl-1", PASSWORD).status_code == 200
    assert ("w-01", "login_refused") in _actions(seeded)


def test_a_successful_login_starts_the_count_again(
    seeded: Db, start_api: StartApi, db_url: str
) -> None:
    _, client = start_api(database_url=db_url, api={"login_max_failures": 3})
    add_user(seeded, "w-01", "grid_worker", community=COMMUNITY, worker="w-01")
    for _ in range(2):
        _post_login(client, "w-01", "guess-guess-guess")
    assert _post_login(client, "w-01", PASSWORD).status_code == 200
    for _ in range(2):
        _post_login(client, "w-01", "guess-guess-guess")

    assert _post_login(client, "w-01", PASSWORD).status_code == 200


def test_an_address_with_many_failures_is_refused(
    seeded: Db, start_api: StartApi, db_url: str
) -> None:
    _, client = start_api(database_url=db_url, api={"login_max_failures_per_ip": 3})
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY)
    for name in ("a", "b", "c"):
        assert_error(_post_login(client, name, "guess-guess-guess"), 401, "unauthorized")

    assert_error(_post_login(client, "ctl-1", PASSWORD), 429, "too_many_attempts")


def test_unsafe_requests_of_a_session_need_the_csrf_token(seeded: Db, control: httpx.Client) -> None:
    alert_id = insert_alert(seeded)
    token = control.headers.pop("X-CSRF-Token")

    missing = assert_error(control.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={}),
                           403, "forbidden")
    assert "X-CSRF-Token" in missing["message"]
    wrong = control.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={},
                         headers={"X-CSRF-Token": token[:-2] + "xx"})
    assert_error(wrong, 403, "forbidden")
    assert control.get(f"/api/v1/alerts/{alert_id}").json()["status"] == "open"

    ok = control.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={},
                      headers={"X-CSRF-Token": token})
    assert ok.status_code == 200, ok.text


def test_api_tokens_act_within_their_scope_until_revoked(
    seeded: Db, control: httpx.Client, server: ApiServer
) -> None:
    alert_id = insert_alert(seeded)
    made = control.post("/api/v1/auth/tokens", json={"name": "大屏", "scope": "read"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("linli_") and made.json()["prefix"] == token[:12]
    stored = seeded.execute("SELECT token_hash FROM api_tokens").fetchone()
    assert stored is not None and token.encode() not in bytes(stored["token_hash"])

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as bot:
        assert bot.get("/api/v1/alerts").status_code == 200
        assert bot.get("/api/v1/auth/me").status_code == 403  # a read token: reads only
        refused = bot.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={})
        assert_error(refused, 403, "forbidden")

        listed = control.get("/api/v1/auth/tokens").json()
        assert [t["name"] for t in listed] == ["大屏"] and "token" not in listed[0]
        revoked = control.post(f"/api/v1/auth/tokens/{made.json()['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert_error(bot.get("/api/v1/alerts"), 401, "unauthorized")
        assert_error(httpx.get(f"{server.url}/api/v1/alerts",
                               headers={"Authorization": "Bearer linli_madeup"}),
                     401, "unauthorized")

    write = control.post("/api/v1/auth/tokens", json={"name": "工单系统", "scope": "write"})
    with httpx.Client(base_url=server.url,
                      headers={"Authorization": f"Bearer {write.json()['token']}"}) as bot:
        acted = bot.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={})  # no CSRF needed
        assert acted.status_code == 200, acted.text
        assert acted.json()["acknowledged_by"] == "ctl-1"
    assert ("ctl-1", "user.token_created") in _actions(seeded)


def test_logout_and_disabling_end_sessions(seeded: Db, server: ApiServer) -> None:
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY)
    add_user(seeded, "ctl-2", "control_room", community=COMMUNITY)
    first = logged_in(server.url, "ctl-1")
    second = logged_in(server.url, "ctl-2")

    assert first.post("/api/v1/auth/logout").status_code == 204
    assert_error(first.get("/api/v1/alerts"), 401, "unauthorized")

    seeded.execute("UPDATE users SET disabled_at = now() WHERE username = 'ctl-2'")
    assert_error(second.get("/api/v1/alerts"), 401, "unauthorized")
    assert_error(_post_login(second, "ctl-2", PASSWORD), 401, "unauthorized")
    first.close()
    second.close()


def test_an_initial_password_must_be_changed_first(seeded: Db, server: ApiServer) -> None:
    add_user(seeded, "w-01", "grid_worker", community=COMMUNITY, worker="w-01",
             must_change_password=True)
    other = logged_in(server.url, "w-01")
    client = logged_in(server.url, "w-01")

    assert client.get("/api/v1/auth/me").json()["must_change_password"] is True
    assert_error(client.get("/api/v1/alerts"), 403, "forbidden")
    short = client.post("/api/v1/auth/password",
                        json={"current_password": PASSWORD, "new_password": "short"})
    assert_error(short, 422, "validation_error")
    wrong = client.post("/api/v1/auth/password",
                        json={"current_password": "nope", "new_password": "a-new-passphrase"})
    assert_error(wrong, 422, "validation_error")
    changed = client.post("/api/v1/auth/password",
                          json={"current_password": PASSWORD, "new_password": "a-new-passphrase"})
    assert changed.status_code == 204, changed.text

    assert client.get("/api/v1/alerts").status_code == 200
    assert_error(other.get("/api/v1/alerts"), 401, "unauthorized")  # other sessions end
    assert login(httpx.Client(base_url=server.url), "w-01", "a-new-passphrase")
    client.close()
    other.close()


def test_an_idle_session_ends(seeded: Db, start_api: StartApi, db_url: str) -> None:
    server, _ = start_api(database_url=db_url, api={"session_idle_h": 0.5 / 3600})
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY)
    client = logged_in(server.url, "ctl-1")
    time.sleep(1.0)  # twice the idle limit: expiry does not depend on the machine's speed

    assert_error(client.get("/api/v1/alerts"), 401, "unauthorized")
    client.close()


@pytest.mark.parametrize("body", [{}, {"username": "x"}, {"username": "", "password": "p"},
                                  {"username": "x", "password": "p", "extra": 1}])
def test_bad_login_bodies_are_422(server: ApiServer, body: dict[str, object]) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert_error(client.post("/api/v1/auth/login", json=body), 422, "validation_error")
