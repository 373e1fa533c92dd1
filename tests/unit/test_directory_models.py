"""Directory file validation: every problem names its field; secrets stay out of messages."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from linli.directory import DirectoryError, load_directory, parse_directory

SECRET_URL = "wecombot://s3cr3t-token-value"


def sample() -> dict[str, Any]:
    return {
        "community": {"id": "juxin", "name": "聚鑫家园", "timezone": "Asia/Shanghai",
                      "silent_check_at": "20:00"},
        "grids": [{"id": "g1", "name": "第一网格"}],
        "buildings": [{"id": "b01", "name": "1栋", "grid": "g1",
                       "units": [{"id": "u1", "name": "1单元"}]}],
        "households": [{"id": "h-b01-101", "building": "b01", "unit": "u1", "room": 101}],
        "residents": [{"id": "r-0001", "name": "张桂英", "household": "h-b01-101",
                       "phone": "100-0000-0001", "elderly": True, "lives_alone": True,
                       "care_level": 2,
                       "emergency_contacts": [{"name": "李明", "phone": "100-0000-0002",
                                               "relation": "儿子"}]}],
        "grid_workers": [{"id": "w-01", "name": "王芳", "role": "grid_worker", "grids": ["g1"],
                          "locale": "zh-CN", "notify": [SECRET_URL]}],
        "devices": [{"building": "b01", "id": "b01-u1-door", "kind": "door",
                     "name": "1栋1单元门禁"}],
    }


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(DirectoryError) as caught:
        parse_directory(raw)
    return caught.value.problems


def test_valid_file_loads_with_numbers_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    path.write_text(yaml.safe_dump(sample(), allow_unicode=True), encoding="utf-8")
    directory = load_directory(path)
    assert directory.households[0].room == "101"
    assert directory.community.silent_check_at is not None
    assert directory.community.silent_check_at.hour == 20
    assert directory.residents[0].emergency_contacts[0].relation == "儿子"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("residents", 0, "household"), "h-missing", "residents[0].household"),
        (("buildings", 0, "grid"), "g9", "buildings[0].grid"),
        (("households", 0, "building"), "b99", "households[0].building"),
        (("households", 0, "unit"), "u7", "households[0].unit"),
        (("grid_workers", 0, "grids"), ["g1", "g2"], "grid_workers[0].grids[1]"),
        (("devices", 0, "building"), "b02", "devices[0].building"),
        (("buildings", 0, "plan"), {"x": 1.5, "y": 0.5}, "buildings[0].plan.x"),
        (("buildings", 0, "plan"), {"x": 0.5}, "buildings[0].plan.y"),
    ],
)
def test_cross_reference_errors_name_the_field(
    path: tuple[Any, ...], value: Any, field: str
) -> None:
    raw = sample()
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    problems = problems_of(raw)
    assert len(problems) == 1
    assert problems[0].startswith(f"{field}: ")


def test_schema_errors_name_the_field_and_extra_keys_are_refused() -> None:
    raw = sample()
    raw["residents"][0]["age"] = 81
    raw["devices"][0]["id"] = "B01 Door"
    raw["community"]["timezone"] = "Mars/Olympus"
    problems = problems_of(raw)
    fields = sorted(p.split(":")[0] for p in problems)
    assert fields == ["community.timezone", "devices[0].id", "residents[0].age"]


def test_unquoted_time_is_refused_with_a_hint() -> None:
    raw = yaml.safe_load("community: {id: juxin, name: x, silent_check_at: 20:00}")
    problems = problems_of(raw)
    assert problems[0].startswith("community.silent_check_at:")
    assert '"20:00"' in problems[0]


def test_duplicates_are_reported() -> None:
    raw = sample()
    raw["residents"].append(copy.deepcopy(raw["residents"][0]))
    assert problems_of(raw) == ["residents: 'r-0001' appears 2 times"]


def test_error_messages_never_contain_notify_urls() -> None:
    raw = sample()
    raw["grid_workers"][0]["notify"] = [SECRET_URL, 42]
    raw["grid_workers"][0]["grids"] = "g1"
    with pytest.raises(DirectoryError) as caught:
        parse_directory(raw)
    assert "s3cr3t" not in str(caught.value)
    assert any(p.startswith("grid_workers[0].grids") for p in caught.value.problems)


def test_unreadable_or_non_mapping_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory(tmp_path / "missing.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match="mapping"):
        load_directory(listed)


def test_devices_may_name_their_home_and_the_door_a_camera_watches() -> None:
    raw = sample()
    raw["devices"] += [
        {"building": "b01", "id": "h101-water", "kind": "sensor", "household": "h-b01-101"},
        {"building": "b01", "id": "b01-u1-cam", "kind": "camera", "door": "b01-u1-door"},
    ]
    directory = parse_directory(raw)
    assert directory.devices[1].household == "h-b01-101"
    assert directory.devices[2].door == "b01-u1-door"
    raw["devices"] += [
        {"building": "b01", "id": "stray", "kind": "sensor", "household": "h-9"},
        {"building": "b01", "id": "cam-2", "kind": "camera", "door": "b01-u1-cam"},
    ]
    assert problems_of(raw) == [
        "devices[3].household: no household 'h-9' in households",
        "devices[4].door: no door device 'b01-u1-cam' in building 'b01'",
    ]
