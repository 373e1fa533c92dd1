"""Directory import against a real PostgreSQL: idempotent upserts, updates, registration."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from linli.cli import main
from linli.directory import import_directory, parse_directory
from tests.unit.test_directory_models import SECRET_URL, sample

Conn = psycopg.Connection[dict[str, Any]]
TABLES = ("communities", "grids", "buildings", "units", "households", "residents",
          "grid_workers", "grid_worker_grids", "devices")


def bigger_sample() -> dict[str, Any]:
    raw = sample()
    raw["grids"].append({"id": "g2", "name": "第二网格"})
    raw["households"].append({"id": "h-b01-102", "building": "b01", "unit": "u1", "room": "102"})
    raw["residents"].append({"id": "r-0002", "name": "刘建国", "household": "h-b01-102",
                             "elderly": True})
    raw["grid_workers"].append({"id": "w-00", "name": "陈静", "role": "control_room"})
    return raw


def snapshot(db: Conn) -> dict[str, list[dict[str, Any]]]:
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def test_import_twice_changes_nothing(db: Conn) -> None:
    directory = parse_directory(bigger_sample())
    first = import_directory(db, directory)
    assert first.changed
    assert first.tables["residents"].inserted == len(directory.residents)
    assert first.tables["grid_worker_grids"].inserted == 1
    before = snapshot(db)

    second = import_directory(db, directory)
    assert not second.changed
    for table, counts in second.tables.items():
        assert counts.inserted == counts.updated == 0, table
    assert second.tables["residents"].unchanged == len(directory.residents)
    assert snapshot(db) == before
    row = db.execute("SELECT * FROM residents WHERE id = 'r-0001'").fetchone()
    assert row is not None
    assert row["is_elderly"] and row["lives_alone"] and row["care_level"] == 2
    assert row["emergency_contacts"] == [{"name": "李明", "phone": "100-0000-0002",
                                          "relation": "儿子"}]


def test_edited_file_updates_rows_and_deactivates_people_it_drops(db: Conn) -> None:
    raw = bigger_sample()
    import_directory(db, parse_directory(raw))

    edited = copy.deepcopy(raw)
    edited["residents"][0]["name"] = "张桂兰"
    edited["residents"][0]["care_level"] = 3
    del edited["residents"][1]
    edited["grid_workers"][0]["grids"] = ["g2"]
    edited["community"]["silent_check_at"] = "19:30"
    summary = import_directory(db, parse_directory(edited))

    assert summary.tables["residents"].updated == 1
    assert summary.tables["communities"].updated == 1
    assert summary.deactivated_residents == ["r-0002"]
    assert summary.removed_worker_grids == 1
    assert summary.tables["grid_worker_grids"].inserted == 1
    resident = db.execute("SELECT name, care_level FROM residents WHERE id = 'r-0001'").fetchone()
    assert resident == {"name": "张桂兰", "care_level": 3}
    dropped = db.execute("SELECT active FROM residents WHERE id = 'r-0002'").fetchone()
    assert dropped == {"active": False}
    grids = db.execute("SELECT grid FROM grid_worker_grids WHERE worker = 'w-01'").fetchall()
    assert grids == [{"grid": "g2"}]
    check = db.execute("SELECT silent_check_at::text AS t FROM communities").fetchone()
    assert check == {"t": "19:30:00"}

    # the resident comes back: reactivated, and a third import is a no-op again
    again = import_directory(db, parse_directory(raw))
    assert again.tables["residents"].updated == 2
    assert import_directory(db, parse_directory(raw)).changed is False


def test_device_seen_on_the_wire_becomes_registered(db: Conn) -> None:
    # What ingest does for an event from a device nobody provisioned yet.
    db.execute(
        "INSERT INTO communities (id, name) VALUES ('juxin', 'juxin');"
        "INSERT INTO devices (community, building, id, registered, first_seen_at, state)"
        " VALUES ('juxin', 'b01', 'b01-u1-door', false, '2026-11-20T08:00:00Z', 'online')"
    )
    summary = import_directory(db, parse_directory(sample()))
    assert summary.registered_devices == ["b01/b01-u1-door"]
    assert summary.tables["devices"].updated == 1
    assert summary.tables["communities"].updated == 1
    row = db.execute("SELECT registered, name, state, first_seen_at IS NOT NULL AS seen"
                     " FROM devices").fetchone()
    assert row == {"registered": True, "name": "1栋1单元门禁", "state": "online", "seen": True}


def test_import_is_one_transaction(db: Conn) -> None:
    # A failure at the last table (devices) leaves nothing of the earlier tables behind.
    db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'device table refuses'; END $$"
    )
    db.execute("CREATE TRIGGER refuse BEFORE INSERT ON devices"
               " FOR EACH ROW EXECUTE FUNCTION refuse()")
    with pytest.raises(psycopg.Error, match="device table refuses"):
        import_directory(db, parse_directory(sample()))
    assert db.execute("SELECT count(*) AS n FROM residents").fetchone() == {"n": 0}
    assert db.execute("SELECT count(*) AS n FROM communities").fetchone() == {"n": 0}


def test_cli_imports_and_never_prints_notify_urls(
    tmp_path: Path, db_url: str, db: Conn, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "community.yaml"
    path.write_text(yaml.safe_dump(bigger_sample(), allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("LINLI_DATABASE_URL", db_url)
    assert main(["import", str(path)]) == 0
    assert main(["import", str(path)]) == 0
    assert main(["import", "--check", str(path)]) == 0
    out = capsys.readouterr()
    assert "community juxin: updated" in out.out
    assert "community juxin: no changes" in out.out
    assert "valid" in out.out
    assert "s3cr3t" not in out.out + out.err
    urls = db.execute("SELECT notify_urls FROM grid_workers WHERE id = 'w-01'").fetchone()
    assert urls == {"notify_urls": [SECRET_URL]}


def test_cli_reports_bad_files_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = sample()
    raw["residents"][0]["household"] = "h-nowhere"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "residents[0].household: no household 'h-nowhere'" in err


def test_simulated_community_imports_cleanly(tmp_path: Path, db: Conn) -> None:
    from hardware.simulator import CommunitySpec, generate_community, write_community
    from linli.directory import load_directory

    spec = CommunitySpec(buildings=2, notify_base="json://127.0.0.1:9/hook")
    files = write_community(generate_community(spec), tmp_path)
    directory = load_directory(files.directory)
    summary = import_directory(db, directory)
    assert summary.tables["residents"].inserted == len(directory.residents)
    # one door per unit and the building's edge agent
    assert summary.tables["devices"].inserted == 2 * (spec.units + 1)
    watched = db.execute("SELECT count(*) AS n FROM residents"
                         " WHERE is_elderly AND lives_alone AND active").fetchone()
    assert watched == {"n": spec.elderly_alone}
    urls = db.execute("SELECT id, notify_urls FROM grid_workers ORDER BY id").fetchall()
    assert all(row["notify_urls"] == [f"json://127.0.0.1:9/hook/{row['id']}"] for row in urls)
    assert not import_directory(db, load_directory(files.directory)).changed


def test_a_building_placed_on_the_plan_keeps_its_position(db: Conn) -> None:
    raw = bigger_sample()
    import_directory(db, parse_directory(raw))  # no plan: older files import as before
    unplaced = db.execute("SELECT plan_x, plan_y FROM buildings WHERE id = 'b01'").fetchone()
    assert unplaced == {"plan_x": None, "plan_y": None}

    raw["buildings"][0]["plan"] = {"x": 0.25, "y": 0.5}
    assert import_directory(db, parse_directory(raw)).tables["buildings"].updated == 1
    placed = db.execute("SELECT plan_x, plan_y FROM buildings WHERE id = 'b01'").fetchone()
    assert placed == {"plan_x": 0.25, "plan_y": 0.5}
    assert import_directory(db, parse_directory(raw)).changed is False
