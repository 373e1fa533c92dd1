"""Staff accounts from the directory import: made once, followed, disabled when they leave."""

from __future__ import annotations

import copy
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.server import ApiServer
from linli.accounts import hash_password
from linli.cli import main
from linli.directory import DirectoryError, import_directory, parse_directory
from tests.accounts import PASSWORD, add_user, logged_in
from tests.integration.test_directory_import import Conn, bigger_sample


def staff_sample() -> dict[str, Any]:
    raw = bigger_sample()  # w-01 grid worker (g1), w-00 control room
    raw["grid_workers"][1]["username"] = "chenjing"
    raw["grid_workers"].append({"id": "fitter-1", "name": "装机员", "role": "installer"})
    return raw


def accounts(db: Conn) -> dict[str, dict[str, Any]]:
    rows = db.execute("SELECT username, display_name, role, community, worker, password_hash,"
                      " must_change_password, disabled_at FROM users").fetchall()
    return {row["username"]: row for row in rows}


def test_staff_get_accounts_once_with_passwords_shown_once(
    tmp_path: Path, db_url: str, db: Conn, server: ApiServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "community.yaml"
    path.write_text(yaml.safe_dump(staff_sample(), allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("LINLI_DATABASE_URL", db_url)
    assert main(["import", str(path)]) == 0
    out = capsys.readouterr().out
    made = accounts(db)
    assert set(made) == {"juxin.w-01", "chenjing", "juxin.fitter-1"}
    assert {(a["role"], a["worker"], a["display_name"]) for a in made.values()} == {
        ("grid_worker", "w-01", "王芳"), ("control_room", "w-00", "陈静"),
        ("installer", "fitter-1", "装机员")}
    assert all(a["must_change_password"] and a["community"] == "juxin" for a in made.values())
    listed = out.split("new accounts", 1)[1].splitlines()[1:]
    passwords = {line.split()[0]: line.split()[-1] for line in listed}
    assert set(passwords) == set(made)

    # The printed password logs in; the worker must change it before anything else.
    with closing(logged_in(server.url, "juxin.w-01", passwords["juxin.w-01"])) as wang:
        me = wang.get("/api/v1/auth/me").json()
        assert me["must_change_password"] and me["grids"] == ["g1"]
        assert wang.get("/api/v1/alerts").status_code == 403

    # Importing again changes no password and shows none.
    assert main(["import", str(path)]) == 0
    again = capsys.readouterr().out
    assert "new accounts" not in again and "no changes" in again
    assert {u: a["password_hash"] for u, a in accounts(db).items()} == \
        {u: a["password_hash"] for u, a in made.items()}
    audited = db.execute("SELECT target, via FROM audit_log WHERE action = 'user.created'"
                         " ORDER BY target").fetchall()
    assert audited == [{"target": f"user:{u}", "via": "cli"} for u in sorted(made)]
    assert not any(p in str(db.execute("SELECT * FROM audit_log").fetchall())
                   for p in passwords.values())


def test_a_worker_who_leaves_the_file_loses_access_and_edits_follow(
    db: Conn, server: ApiServer,
) -> None:
    raw = staff_sample()
    import_directory(db, parse_directory(raw))
    db.execute("UPDATE users SET must_change_password = false, password_hash = %s",
               (hash_password(PASSWORD),))
    session = logged_in(server.url, "juxin.w-01")
    assert session.get("/api/v1/alerts").status_code == 200

    edited = copy.deepcopy(raw)
    del edited["grid_workers"][0]  # w-01 left
    edited["grid_workers"][0]["name"] = "陈静怡"
    edited["grid_workers"][1]["role"] = "grid_worker"
    summary = import_directory(db, parse_directory(edited))
    assert summary.disabled_accounts == ["juxin.w-01"]
    assert sorted(summary.updated_accounts) == ["chenjing", "juxin.fitter-1"]
    assert not summary.new_accounts
    assert session.get("/api/v1/alerts").status_code == 401
    after = accounts(db)
    assert after["juxin.w-01"]["disabled_at"] is not None
    assert after["chenjing"]["display_name"] == "陈静怡"
    assert after["juxin.fitter-1"]["role"] == "grid_worker"
    lines = "\n".join(summary.lines())
    assert "accounts disabled: juxin.w-01" in lines

    # Back in the file: the account stays disabled until an administrator enables it.
    summary = import_directory(db, parse_directory(raw))
    assert not summary.new_accounts and accounts(db)["juxin.w-01"]["disabled_at"] is not None
    session.close()


def test_a_login_name_taken_by_someone_else_stops_the_import(db: Conn) -> None:
    add_user(db, "chenjing", "admin")
    with pytest.raises(DirectoryError, match=r"grid_workers\[1\].username: .*'chenjing' is taken"):
        import_directory(db, parse_directory(staff_sample()))
    assert db.execute("SELECT count(*) AS n FROM grid_workers").fetchone() == {"n": 0}


def test_user_names_are_checked_with_the_file() -> None:
    raw = staff_sample()
    raw["grid_workers"][2]["username"] = "CHENJING"
    with pytest.raises(DirectoryError, match="'chenjing' appears 2 times"):
        parse_directory(raw)
    raw["grid_workers"][2]["username"] = "no spaces allowed"
    with pytest.raises(DirectoryError, match=r"grid_workers\[2\].username"):
        parse_directory(raw)
    raw["grid_workers"][2]["username"] = None
    raw["grid_workers"][2]["id"] = "x" * 64
    with pytest.raises(DirectoryError, match="would be too long"):
        parse_directory(raw)
