"""Door logs written by ``linli simulate``: format 1, deterministic, stay-in residents silent."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hardware.simulator import CommunitySpec, Simulation
from hardware.simulator.routines import STAY_IN_SILENCE
from linli.cli import main
from linli.contract import Credential, Direction, EventKind
from linli.directory import load_directory

ZONE = ZoneInfo("Asia/Shanghai")
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")


def read_logs(logs_dir: Path) -> dict[str, list[dict[str, Any]]]:
    return {path.stem: [json.loads(line) for line in path.read_text("utf-8").splitlines()]
            for path in sorted(logs_dir.glob("*.jsonl"))}


def simulate(out: Path, *extra: str, now: str = "2026-11-20T15:00:00+08:00") -> None:
    assert main(["simulate", "--out", str(out), "--now", now, *extra]) == 0


def test_same_seed_and_now_give_the_same_files(tmp_path: Path) -> None:
    simulate(tmp_path / "a", "--seed", "5")
    simulate(tmp_path / "b", "--seed", "5")
    simulate(tmp_path / "c", "--seed", "6")
    a, b, c = (tmp_path / n for n in "abc")
    assert (a / "community.yaml").read_bytes() == (b / "community.yaml").read_bytes()
    logs = read_logs(a / "logs")
    assert logs == read_logs(b / "logs")
    assert sum(len(lines) for lines in logs.values()) > 100
    assert read_logs(c / "logs") != logs


def test_every_line_is_a_format_1_record(tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 20, 15, 0, tzinfo=ZONE)
    simulate(tmp_path, "--history-hours", "30", now=now.isoformat())
    residents = {r.id for r in load_directory(tmp_path / "community.yaml").residents}
    kinds = set()
    for device, records in read_logs(tmp_path / "logs").items():
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        times = [dt.datetime.fromisoformat(r["time"]) for r in records]
        assert times == sorted(times)
        assert now - dt.timedelta(hours=30) < times[0] and times[-1] <= now
        for record in records:
            assert LOCAL_TIME.match(record["time"]), record
            assert record["device"] == device
            kinds.add(EventKind(record["event"]))
            if record["event"] == "passage":
                assert record["person"] in residents
                assert Direction(record["direction"])
                assert Credential(record["credential"]) in (Credential.FACE, Credential.CARD)
                assert record["reader"] == (1 if record["direction"] == "in" else 2)
    assert {EventKind.PASSAGE, EventKind.ACCESS_DENIED} <= kinds


def test_lines_become_valid_events_at_the_edge(tmp_path: Path) -> None:
    mapping = pytest.importorskip("edge.door.mapping")
    edge_config = pytest.importorskip("edge.config")
    simulate(tmp_path, "--buildings", "1")
    config = edge_config.load_agent_config(tmp_path / "agents" / "b01.yaml")
    count = 0
    for source in config.sources:
        for line in Path(source.path).read_text("utf-8").splitlines():
            event = mapping.map_record(json.loads(line), source, community=config.community,
                                       building=config.building)
            assert event.device == source.device
            assert event.direction is not None or event.kind != "passage"
            count += 1
    assert count > 20


@pytest.mark.parametrize(
    ("seed", "now"),
    [
        (1, "2026-11-20T15:00:00+08:00"),  # Friday afternoon
        (2, "2026-11-22T12:30:00+08:00"),  # Sunday, just after noon
        (3, "2026-11-23T21:00:00+08:00"),  # Monday evening
        (4, "2026-11-24T16:45:00+08:00"),
    ],
)
def test_stay_in_residents_are_silent_and_the_others_are_seen_today(
    tmp_path: Path, seed: int, now: str
) -> None:
    sim_now = dt.datetime.fromisoformat(now)
    spec = CommunitySpec(seed=seed, elderly_alone=6, stay_in=2)
    sim = Simulation.create(spec, tmp_path, now=sim_now)
    sim.write_history(72)
    last_seen: dict[str, list[dt.datetime]] = {}
    for records in read_logs(sim.files.logs_dir).values():
        for record in records:
            if "person" in record:
                last_seen.setdefault(record["person"], []).append(
                    dt.datetime.fromisoformat(record["time"]))
    alone = [r.id for r in sim.community.directory.residents if r.elderly and r.lives_alone]
    assert len(alone) == 6
    assert len(sim.community.stay_in) == 2
    midnight = sim_now.astimezone(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    for resident in alone:
        times = last_seen.get(resident, [])
        if resident in sim.community.stay_in:
            assert all(t < sim_now - STAY_IN_SILENCE for t in times), resident
            assert times, "their last passage lies inside the 72 h history"
        else:
            assert any(t > sim_now - dt.timedelta(hours=24) for t in times), resident
            assert any(t >= midnight for t in times), resident
    people = {p["id"] for p in sim.stay_in_people()}
    assert people == set(sim.community.stay_in)


def test_a_restarted_simulator_appends_after_what_is_there(tmp_path: Path) -> None:
    spec = CommunitySpec(buildings=1, seed=9)
    now = dt.datetime(2026, 11, 20, 15, 0, tzinfo=ZONE)
    first = Simulation.create(spec, tmp_path, now=now)
    written = first.write_history(24)
    assert written > 0
    assert Simulation.create(spec, tmp_path, now=now).write_history(24) == 0
    # a crash left half a line; the next run starts a fresh line and goes on counting
    log = first.files.logs_dir / "b01-u1-door.jsonl"
    before = read_logs(first.files.logs_dir)["b01-u1-door"]
    with log.open("a", encoding="utf-8") as handle:
        handle.write('{"time": "2026-11-')
    later = Simulation.create(spec, tmp_path, now=now + dt.timedelta(hours=6))
    assert later.stay_until == first.stay_until  # the stay-in anchor was kept
    assert later.write_history(24) > 0
    lines = log.read_text("utf-8").splitlines()
    assert lines[len(before)] == '{"time": "2026-11-'
    after = [json.loads(line) for line in lines[len(before) + 1:]]
    assert after and after[0]["seq"] == before[-1]["seq"] + 1
    assert dt.datetime.fromisoformat(after[0]["time"]) > dt.datetime.fromisoformat(
        before[-1]["time"])


def test_bad_arguments_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--out", str(tmp_path), "--elderly-alone", "1",
                 "--stay-in", "2"]) == 2
    assert "stay_in" in capsys.readouterr().err
    assert main(["simulate", "--out", str(tmp_path), "--follow",
                 "--now", "2999-01-01T00:00:00+08:00"]) == 2
    assert "future" in capsys.readouterr().err
