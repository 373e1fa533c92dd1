"""The simulated community: a valid directory, sensible people, edge configs that fit it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hardware.simulator import CommunitySpec, generate_community, write_community
from hardware.simulator.community import Role
from linli.directory import load_directory
from linli.errors import LinliError


def test_directory_matches_the_spec_and_reloads(tmp_path: Path) -> None:
    spec = CommunitySpec(buildings=2, units=3, households_per_unit=4, elderly_alone=5,
                         stay_in=2, seed=7)
    community = generate_community(spec)
    files = write_community(community, tmp_path)
    directory = load_directory(files.directory)  # validation and cross-references again
    assert directory == community.directory
    assert len(directory.buildings) == 2
    assert len([d for d in directory.devices if d.kind == "door"]) == 2 * 3
    assert [d.building for d in directory.devices if d.kind == "agent"] == ["b01", "b02"]
    assert len(directory.households) == 2 * 3 * 4
    alone = [r for r in directory.residents if r.elderly and r.lives_alone]
    assert len(alone) == 5
    # a household of someone living alone has exactly one member
    members = Counter(r.household for r in directory.residents)
    assert all(members[r.household] == 1 for r in alone)
    assert len(community.stay_in) == 2
    assert set(community.stay_in) <= {r.id for r in alone}
    assert all(r.emergency_contacts for r in directory.residents if r.elderly)


def test_names_are_chinese_and_phones_obviously_fake() -> None:
    community = generate_community(CommunitySpec())
    directory = community.directory
    assert directory.community.name == "聚鑫家园"
    assert all(2 <= len(r.name) <= 3 and all("\u4e00" <= ch <= "\u9fff" for ch in r.name)
               for r in directory.residents)
    phones = [r.phone for r in directory.residents if r.phone]
    phones += [c.phone for r in directory.residents for c in r.emergency_contacts]
    phones += [w.phone for w in directory.grid_workers if w.phone]
    assert phones and all(p.startswith("100-") for p in phones)
    assert len(set(phones)) == len(phones)
    roles = Counter(p.role for p in community.people)
    assert roles[Role.WORKER] and roles[Role.CHILD] and roles[Role.ELDER]


def test_every_grid_has_a_worker_and_there_is_one_control_room() -> None:
    base = "json://127.0.0.1:9999"
    directory = generate_community(CommunitySpec(buildings=5, notify_base=base)).directory
    grids = {g.id for g in directory.grids}
    covered = {g for w in directory.grid_workers for g in w.grids}
    assert covered == grids
    assert {b.grid for b in directory.buildings} == grids
    assert [w.role for w in directory.grid_workers].count("control_room") == 1
    for worker in directory.grid_workers:
        assert worker.notify == [f"{base}/{worker.id}"]
    plain = generate_community(CommunitySpec(buildings=5)).directory
    assert all(not w.notify for w in plain.grid_workers)


def test_agent_configs_follow_one_log_per_unit_door(tmp_path: Path) -> None:
    community = generate_community(CommunitySpec(buildings=2, units=2))
    files = write_community(community, tmp_path)
    assert sorted(files.agents) == ["b01", "b02"]
    config = community.agent_config("b02", files.logs_dir)
    assert config["community"] == "juxin"
    assert config["building"] == "b02"
    assert [s["device"] for s in config["sources"]] == ["b02-u1-door", "b02-u2-door"]
    for source in config["sources"]:
        assert source["path"] == str(files.logs_dir / f"{source['device']}.jsonl")
        assert source["readers"] == {"1": "in", "2": "out"}
        assert Path(source["path"]).is_absolute()
    edge_config = pytest.importorskip("edge.config")
    parsed = edge_config.load_agent_config(files.agents["b02"])
    assert [s.device for s in parsed.sources] == ["b02-u1-door", "b02-u2-door"]


def test_same_seed_same_community_other_seed_other_people() -> None:
    one = generate_community(CommunitySpec(seed=3))
    assert generate_community(CommunitySpec(seed=3)) == one
    other = generate_community(CommunitySpec(seed=4))
    assert [r.name for r in other.directory.residents] != [
        r.name for r in one.directory.residents]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stay_in": 5, "elderly_alone": 4}, "stay_in"),
        ({"elderly_alone": 99, "buildings": 1}, "elderly_alone"),
        ({"community": "Ju Xin"}, "community"),
        ({"units": 0}, "units"),
    ],
)
def test_impossible_specs_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(LinliError, match=message):
        generate_community(CommunitySpec(**changes))  # type: ignore[arg-type]
