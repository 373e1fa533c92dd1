"""The installer's devices file → the agent configuration and the device rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.config import LogSource, load_agent_config
from hardware.profiles import load_profiles
from hardware.provision.devices import DeviceRow, parse_devices_file, plan_building
from hardware.provision.flow import agent_yaml
from linli.errors import ConfigError

PATHLESS = {"family": "acme-door", "vendor": "acme", "models": ["AC-1"], "protocol": "log",
            "defaults": {"format": "csv"}}


def devices(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "community": "juxin", "building": "b01",
        "devices": [
            {"id": "b01-u1-door", "profile": "generic-log", "name": "1栋1单元门禁"},
            {"id": "b01-u2-door", "profile": "generic-log", "name": "1栋2单元门禁",
             "path": "/srv/u2.csv", "format": "csv"},
        ],
    }
    raw.update(changes)
    return raw


def catalog(tmp_path: Path) -> Any:
    folder = tmp_path / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / "acme-door.yaml").write_text(yaml.safe_dump(PATHLESS), encoding="utf-8")
    return load_profiles([folder])


def plan_error(tmp_path: Path, raw: dict[str, Any], **where: str) -> str:
    with pytest.raises(ConfigError) as caught:
        plan_building(parse_devices_file(raw), catalog(tmp_path), **where)
    return str(caught.value)


def test_devices_become_sources_over_their_profile_and_rows(tmp_path: Path) -> None:
    plan = plan_building(parse_devices_file(devices()), catalog(tmp_path))
    first, second = plan.agent.sources
    assert isinstance(first, LogSource) and isinstance(second, LogSource)
    assert first.path == Path("/var/lib/linli/logs/b01-u1-door.jsonl")  # profile default
    assert (second.path, second.format) == (Path("/srv/u2.csv"), "csv")  # the device's own
    assert second.timezone == "Asia/Shanghai"  # still from the profile
    assert plan.devices == [
        DeviceRow("juxin", "b01", "agent", "agent", "b01 edge agent"),
        DeviceRow("juxin", "b01", "b01-u1-door", "door", "1栋1单元门禁"),
        DeviceRow("juxin", "b01", "b01-u2-door", "door", "1栋2单元门禁"),
    ]


def test_the_written_agent_yaml_loads_as_the_same_configuration(tmp_path: Path) -> None:
    plan = plan_building(parse_devices_file(devices()), catalog(tmp_path))
    path = tmp_path / "agent.yaml"
    path.write_text(agent_yaml(plan, "devices.yaml"), encoding="utf-8")
    assert load_agent_config(path) == plan.agent


def test_building_may_come_from_the_command_line(tmp_path: Path) -> None:
    raw = devices()
    del raw["building"]
    plan = plan_building(parse_devices_file(raw), catalog(tmp_path), building="b01")
    assert (plan.community, plan.building) == ("juxin", "b01")
    assert "--building b02 but the file says building: b01" in plan_error(
        tmp_path, devices(), building="b02")
    assert "no building" in plan_error(tmp_path, raw)


@pytest.mark.parametrize(("device", "expected"), [
    ({"id": "b01-u3-door", "profile": "acme-lift"},
     "devices[2] (b01-u3-door).profile: unknown profile 'acme-lift'"),
    ({"id": "b01-u3-door", "profile": "acme-door"},
     "devices[2] (b01-u3-door).path: Field required"),
    ({"id": "b01-u3-door", "profile": "generic-log", "formt": "csv"},
     "devices[2] (b01-u3-door).formt: Extra inputs are not permitted"),
    ({"id": "b01-u3-door", "profile": "generic-log", "readers": {"1": "up"}},
     "devices[2] (b01-u3-door).readers.1: Input should be 'in' or 'out'"),
    ({"id": "b01-u3-door", "profile": "generic-log", "type": "camera"},
     "devices[2] (b01-u3-door): ['type'] come from the profile"),
])
def test_a_bad_device_names_its_entry_and_field(tmp_path: Path, device: dict[str, Any],
                                                expected: str) -> None:
    raw = devices()
    raw["devices"].append(device)
    assert expected in plan_error(tmp_path, raw)


def test_file_level_mistakes_are_refused(tmp_path: Path) -> None:
    twice = devices()
    twice["devices"].append(dict(twice["devices"][0]))
    with pytest.raises(ConfigError, match=r"devices listed twice: \['b01-u1-door'\]"):
        parse_devices_file(twice)
    with pytest.raises(ConfigError, match=r"devices\.0\.id: Value error"):
        parse_devices_file(devices(devices=[{"id": "B01 Door", "profile": "generic-log"}]))
    with pytest.raises(ConfigError, match="agent_id 'b01-u1-door' is also a device id"):
        parse_devices_file(devices(agent_id="b01-u1-door"))
    with pytest.raises(ConfigError, match="sources follow the same file twice"):
        same = devices()
        same["devices"][1]["path"] = "/var/lib/linli/logs/b01-u1-door.jsonl"
        same["devices"][1]["format"] = "jsonl"
        plan_building(parse_devices_file(same), catalog(tmp_path))


def test_a_home_gateways_sensors_are_registered_as_devices(tmp_path: Path) -> None:
    sensors = [
        {"name": "301 bathroom motion", "device": "h301-motion", "household": "h-301",
         "signal": "motion"},
        {"name": "301 hall door", "device": "h301-hall", "household": "h-301",
         "signal": "contact"},
        {"name": "301 hall motion", "device": "h301-hall", "household": "h-301",
         "signal": "motion"},  # one multi-sensor device, two signals
    ]
    raw = devices(devices=[{"id": "h301-gateway", "profile": "zigbee2mqtt",
                            "name": "301室家庭网关", "url": "mqtt://linli:pw@10.0.3.1",
                            "sensors": sensors}])
    plan = plan_building(parse_devices_file(raw), catalog(tmp_path))
    assert plan.devices == [
        DeviceRow("juxin", "b01", "agent", "agent", "b01 edge agent"),
        DeviceRow("juxin", "b01", "h301-gateway", "sensor", "301室家庭网关"),
        DeviceRow("juxin", "b01", "h301-motion", "sensor", "301 bathroom motion"),
        DeviceRow("juxin", "b01", "h301-hall", "sensor", "301 hall door"),
    ]
