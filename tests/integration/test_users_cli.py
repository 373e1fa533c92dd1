"""``linli users`` against a real PostgreSQL, its accounts used on the served API."""

from __future__ import annotations

import io
from contextlib import closing

import httpx
import pytest

from api.server import ApiServer
from linli.cli import main
from linli.embedded import EmbeddedPostgres
from tests.accounts import PASSWORD, logged_in
from tests.integration.test_api_seed import COMMUNITY, Db

STRONG = "river-stone-1942"


@pytest.fixture(autouse=True)
def _database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_DATABASE_URL", db_url)


def users(*args: str, stdin: str | None = None,
          monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", *args])


def generated_password(out: str) -> str:
    return out.strip().splitlines()[-1].rsplit(": ", 1)[1]


def audit(db: Db, action: str) -> list[dict[str, object]]:
    return db.execute("SELECT username, via, target, detail::text AS detail FROM audit_log"
                      " WHERE action = %s ORDER BY id", (action,)).fetchall()


def login_status(server: ApiServer, username: str, password: str) -> int:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        return client.post("/api/v1/auth/login",
                           json={"username": username, "password": password}).status_code


def test_add_with_a_typed_password_and_with_a_generated_one(
    seeded: Db, server: ApiServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert users("add", "--username", "root", "--role", "admin", "--name", "管理员",
                 "--password-stdin", stdin=STRONG + "\n", monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    assert STRONG not in out and "password" not in out
    with closing(logged_in(server.url, "root", STRONG)) as admin:
        me = admin.get("/api/v1/auth/me").json()
        assert me["display_name"] == "管理员" and not me["must_change_password"]

    assert users("add", "--username", "wang", "--role", "grid_worker",
                 "--community", COMMUNITY, "--worker", "w-01") == 0
    password = generated_password(capsys.readouterr().out)
    with closing(logged_in(server.url, "wang", password)) as wang:
        me = wang.get("/api/v1/auth/me").json()
        # The name comes from the directory; the grids from the worker's row.
        assert me["display_name"] == "王芳" and me["grids"] == ["g1"]
        assert me["must_change_password"]
        assert wang.get("/api/v1/alerts").status_code == 403

    created = audit(seeded, "user.created")
    assert [(row["target"], row["via"]) for row in created] == [("user:root", "cli"),
                                                                ("user:wang", "cli")]
    assert all(str(row["username"]).startswith("cli:") for row in created)
    assert password not in str(created) and STRONG not in str(created)


def test_list_shows_every_account_and_no_hash(
    seeded: Db, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    assert users("add", "--username", "ctl", "--role", "control_room",
                 "--community", COMMUNITY, "--name", "值班员") == 0
    assert users("add", "--username", "fitter", "--role", "installer",
                 "--community", COMMUNITY, "--building", "b01", "--building", "b02") == 0
    capsys.readouterr()
    assert users("list") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["USER", "NAME", "ROLE"]
    assert any(line.startswith("ctl ") and "值班员" in line and "must change password" in line
               for line in lines)
    assert any("fitter" in line and "b01,b02" in line for line in lines)
    assert "$argon2" not in out
    assert users("list", "--community", "heping") == 0
    assert capsys.readouterr().out.strip().count("\n") == 0  # the header only


def test_disable_ends_sessions_and_tokens_and_enable_lets_in_again(
    seeded: Db, server: ApiServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    users("add", "--username", "ctl", "--role", "control_room", "--community", COMMUNITY,
          "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    users("token", "--username", "ctl", "--name", "wall screen")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    session = logged_in(server.url, "ctl")
    bearer = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    assert session.get("/api/v1/alerts").status_code == 200
    assert bearer.get("/api/v1/alerts").status_code == 200

    assert users("disable", "--username", "ctl", "--reason", "left the job") == 0
    assert "1 sessions ended, 1 tokens revoked" in capsys.readouterr().out
    assert session.get("/api/v1/alerts").status_code == 401
    assert bearer.get("/api/v1/alerts").status_code == 401
    assert login_status(server, "ctl", PASSWORD) == 401
    [row] = audit(seeded, "user.disabled")
    assert "left the job" in str(row["detail"])

    assert users("enable", "--username", "ctl") == 0
    assert login_status(server, "ctl", PASSWORD) == 200
    assert bearer.get("/api/v1/alerts").status_code == 401  # revoked tokens stay revoked
    assert len(audit(seeded, "user.enabled")) == 1
    session.close()
    bearer.close()


def test_reset_password_ends_sessions_and_must_be_changed(
    seeded: Db, server: ApiServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    users("add", "--username", "ctl", "--role", "control_room", "--community", COMMUNITY,
          "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    session = logged_in(server.url, "ctl")
    assert users("reset-password", "--username", "ctl") == 0
    password = generated_password(capsys.readouterr().out)
    assert session.get("/api/v1/auth/me").status_code == 401
    assert login_status(server, "ctl", PASSWORD) == 401
    with closing(logged_in(server.url, "ctl", password)) as again:
        assert again.get("/api/v1/auth/me").json()["must_change_password"]
        assert again.post("/api/v1/auth/password", json={
            "current_password": password, "new_password": STRONG}).status_code == 204
        assert again.get("/api/v1/alerts").status_code == 200

    assert users("reset-password", "--username", "ctl", "--password-stdin",
                 stdin="x" * 4 + "\n", monkeypatch=monkeypatch) == 2
    assert "password refused" in capsys.readouterr().err
    assert len(audit(seeded, "user.password_reset")) == 1
    session.close()


def test_tokens_are_scoped_listed_and_revoked(
    seeded: Db, server: ApiServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    users("add", "--username", "ctl", "--role", "control_room", "--community", COMMUNITY,
          "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    capsys.readouterr()
    assert users("token", "--username", "ctl", "--name", "dashboard", "--scope", "read",
                 "--days", "7") == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    token_id = int(out.split()[1])
    assert token.startswith("linli_")
    reader = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    assert reader.get("/api/v1/alerts").status_code == 200
    assert reader.post("/api/v1/alerts/1/acknowledge", json={}).status_code == 403

    assert users("token", "--username", "ctl", "--list") == 0
    listed = capsys.readouterr().out
    assert "dashboard" in listed and token not in listed and token[:12] in listed

    assert users("token", "--revoke", str(token_id)) == 0
    assert f"revoked token {token_id} (dashboard) of ctl" in capsys.readouterr().out
    assert reader.get("/api/v1/alerts").status_code == 401
    assert [r["target"] for r in audit(seeded, "user.token_created")] == ["user:ctl"]
    assert [r["target"] for r in audit(seeded, "user.token_revoked")] == ["user:ctl"]
    assert token not in str(audit(seeded, "user.token_created"))
    reader.close()


@pytest.mark.parametrize(("args", "message"), [
    (["add", "--username", "a", "--role", "control_room"], "give --community"),
    (["add", "--username", "a", "--role", "control_room", "--community", "nowhere"],
     "no community 'nowhere'"),
    (["add", "--username", "a", "--role", "grid_worker", "--community", COMMUNITY],
     "a grid_worker needs --worker"),
    (["add", "--username", "a", "--role", "grid_worker", "--community", COMMUNITY,
      "--worker", "w-99"], "no grid worker 'w-99'"),
    (["add", "--username", "a", "--role", "installer", "--community", COMMUNITY,
      "--building", "b99"], "has no building b99"),
    (["add", "--username", "a b", "--role", "admin"], "user name 'a b'"),
    (["add", "--username", "taken", "--role", "admin"], "user name 'taken' is taken"),
    (["add", "--username", "TAKEN", "--role", "auditor"], "user name 'TAKEN' is taken"),
    (["add", "--username", "a", "--role", "grid_worker", "--community", COMMUNITY,
      "--worker", "w-01"], "already has the account 'w01'"),
    (["disable", "--username", "nobody"], "no user 'nobody'"),
    (["reset-password", "--username", "nobody"], "no user 'nobody'"),
    (["token", "--username", "taken"], "needs --name"),
    (["token", "--username", "taken", "--name", "x", "--days", "0"], "--days"),
    (["token", "--revoke", "999"], "no token 999"),
])
def test_mistakes_end_in_one_line_and_status_2(
    seeded: Db, capsys: pytest.CaptureFixture[str], args: list[str], message: str,
) -> None:
    users("add", "--username", "taken", "--role", "admin")
    users("add", "--username", "w01", "--role", "grid_worker", "--community", COMMUNITY,
          "--worker", "w-01")
    capsys.readouterr()
    assert users(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("linli users: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_role_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        users("add", "--username", "a", "--role", "boss")
    assert stopped.value.code == 2
    assert "invalid choice: 'boss'" in capsys.readouterr().err


def test_a_database_without_the_schema_is_one_line(
    pg_server: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LINLI_DATABASE_URL", pg_server.url())  # never migrated
    assert users("list") == 2
    err = capsys.readouterr().err
    assert err == "linli users: the database has no account tables: run `linli db migrate`\n"
