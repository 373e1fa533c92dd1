"""Provisioning against a real PostgreSQL: devices registered, files written once, secrets
kept out of the output, other buildings' entries kept."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from edge.config import load_agent_config
from hardware.profiles import load_profiles
from hardware.provision import cli
from hardware.provision.acl import parse_acl
from hardware.provision.devices import parse_devices_file, plan_building
from hardware.provision.files import agent_broker
from hardware.provision.flow import output_paths, provision
from hardware.provision.mosquitto import read_entries, verify_password
from linli.directory import import_directory, parse_directory
from linli.errors import ConfigError
from linli.mqtt import parse_broker_url
from linli.settings import load_settings

Conn = psycopg.Connection[dict[str, Any]]
BROKER = parse_broker_url("mqtt://broker.juxin.example:1883")


def import_community(db: Conn) -> None:
    import_directory(db, parse_directory({
        "community": {"id": "juxin", "name": "聚鑫家园"},
        "grids": [{"id": "g1", "name": "第一网格"}],
        "buildings": [{"id": "b01", "name": "1栋", "grid": "g1"},
                      {"id": "b02", "name": "2栋", "grid": "g1"}],
    }))


def devices_file(tmp_path: Path, building: str, count: int = 2) -> Path:
    raw = {"community": "juxin", "building": building, "devices": [
        {"id": f"{building}-u{n}-door", "profile": "generic-log", "name": f"{n}单元门禁",
         "path": str(tmp_path / "logs" / f"{building}-u{n}.jsonl")}
        for n in range(1, count + 1)]}
    path = tmp_path / f"{building}-devices.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def run_provision(db: Conn, tmp_path: Path, building: str, *, rotate: bool = False) -> Any:
    source = devices_file(tmp_path, building)
    plan = plan_building(parse_devices_file(yaml.safe_load(source.read_text())), load_profiles())
    paths = output_paths(tmp_path / "out", "juxin", building)
    return provision(db, plan, paths, broker=BROKER, rotate=rotate)


def devices(db: Conn) -> list[dict[str, Any]]:
    return db.execute("SELECT building, id, kind, name, registered FROM devices "
                      "ORDER BY building, id").fetchall()


def test_provisioning_registers_devices_and_writes_the_agent_files(db: Conn,
                                                                   tmp_path: Path) -> None:
    import_community(db)
    result = run_provision(db, tmp_path, "b01")
    assert result.devices is not None and result.devices.inserted == 3
    assert devices(db) == [
        {"building": "b01", "id": "agent", "kind": "agent", "name": "b01 edge agent",
         "registered": True},
        {"building": "b01", "id": "b01-u1-door", "kind": "door", "name": "1单元门禁",
         "registered": True},
        {"building": "b01", "id": "b01-u2-door", "kind": "door", "name": "2单元门禁",
         "registered": True},
    ]
    paths = result.paths
    config = load_agent_config(paths.agent_config)
    assert [s.device for s in config.sources] == ["b01-u1-door", "b01-u2-door"]
    broker = agent_broker(paths.agent_env)
    assert broker is not None and broker.password
    assert (broker.host, broker.port, broker.username) == (BROKER.host, 1883, "agent-juxin-b01")
    assert verify_password(broker.password, dict(read_entries(paths.passwd))["agent-juxin-b01"])
    assert parse_acl(paths.acl.read_text()).agents() == {"agent-juxin-b01": ("juxin", "b01")}
    for secret in (paths.agent_config, paths.agent_env, paths.passwd):
        assert secret.stat().st_mode & 0o777 == 0o600


def test_provisioning_twice_changes_nothing_and_keeps_other_buildings(db: Conn,
                                                                      tmp_path: Path) -> None:
    import_community(db)
    first = run_provision(db, tmp_path, "b01")
    files = {path: path.read_bytes() for path in dataclasses.astuple(first.paths)}
    again = run_provision(db, tmp_path, "b01")
    assert again.changed == [] and again.password == "kept"
    assert again.devices is not None and again.devices.unchanged == 3
    assert {path: path.read_bytes() for path in files} == files

    other = run_provision(db, tmp_path, "b02")
    assert other.paths.passwd == first.paths.passwd  # one broker folder for all buildings
    assert [user for user, _ in read_entries(first.paths.passwd)] == ["agent-juxin-b01",
                                                                      "agent-juxin-b02"]
    assert set(parse_acl(first.paths.acl.read_text()).agents()) == {"agent-juxin-b01",
                                                                    "agent-juxin-b02"}
    assert first.paths.agent_env.read_bytes() == files[first.paths.agent_env]


def test_rotating_the_password_replaces_it_everywhere(db: Conn, tmp_path: Path) -> None:
    import_community(db)
    first = run_provision(db, tmp_path, "b01")
    old = agent_broker(first.paths.agent_env)
    rotated = run_provision(db, tmp_path, "b01", rotate=True)
    new = agent_broker(rotated.paths.agent_env)
    assert rotated.password == "rotated" and old is not None and new is not None
    assert new.password != old.password
    stored = dict(read_entries(rotated.paths.passwd))["agent-juxin-b01"]
    assert verify_password(str(new.password), stored)
    assert not verify_password(str(old.password), stored)


def test_an_unknown_building_is_refused_before_anything_is_written(db: Conn,
                                                                   tmp_path: Path) -> None:
    import_community(db)
    with pytest.raises(ConfigError, match="building b09 of community juxin is not in the"):
        run_provision(db, tmp_path, "b09")
    assert devices(db) == []
    assert not (tmp_path / "out").exists()


def test_the_command_prints_what_it_did_but_never_the_password(
        db_url: str, db: Conn, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_community(db)
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["hardware", "provision", "--devices",
                              str(devices_file(tmp_path, "b01")), "--out", str(tmp_path / "out"),
                              "--broker-url", "mqtt://broker.juxin.example:1883"])
    settings = load_settings(None, database_url=db_url)
    assert args.run(args, settings) == 0
    printed = capsys.readouterr()
    env = tmp_path / "out" / "agents" / "juxin-b01.env"
    broker = agent_broker(env)
    assert broker is not None and broker.password
    assert broker.password not in printed.out + printed.err
    assert "3 registered (3 new, 0 updated, 0 unchanged)" in printed.out
    assert str(env) in printed.out and "agent-juxin-b01" in printed.out

    args = parser.parse_args(["hardware", "provision", "--devices",
                              str(devices_file(tmp_path, "b01")), "--out", str(tmp_path / "out"),
                              "--broker-url", "mqtt://admin:pw@broker:1883"])
    with pytest.raises(ConfigError, match="--broker-url must not carry credentials"):
        args.run(args, settings)
