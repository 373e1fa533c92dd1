"""Device profiles: the shipped ones load; a broken one is refused with its file and field."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from edge.config import LogSource
from hardware.profiles import Profile, load_profile, load_profiles, packaged_dir, source_model
from hardware.provision import cli
from linli.errors import ConfigError
from linli.settings import load_settings

GOOD = {
    "family": "acme-door",
    "vendor": "acme",
    "models": ["AC-1", "AC-2"],
    "protocol": "log",
    "defaults": {"format": "csv", "readers": {1: "out"}, "path": "/logs/{building}/{device}.csv"},
    "notes": "an access controller writing the generic log as CSV",
}


def write(folder: Path, name: str, content: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content),
                    encoding="utf-8")
    return path


def broken(tmp_path: Path, **changes: object) -> str:
    """The error message of GOOD with ``changes`` (None removes a key)."""
    content = {**GOOD, **changes}
    content = {key: value for key, value in content.items() if value is not None}
    path = write(tmp_path, "acme-door.yaml", content)
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    return message


def test_every_shipped_profile_loads() -> None:
    catalog = load_profiles()
    assert [str(problem) for problem in catalog.problems] == []
    files = sorted(p.name for p in packaged_dir().glob("*.yaml"))
    assert sorted(path.name for path in catalog.files.values()) == files
    for profile in catalog.profiles.values():
        assert source_model(profile.protocol).model_fields["type"].default == profile.protocol


def test_generic_log_profile_makes_a_log_source_per_device() -> None:
    profile = load_profiles().get("generic-log")
    assert (profile.protocol, profile.kind) == ("log", "door")
    values = profile.source_values("b01-u1-door", {}, community="juxin", building="b01")
    source = LogSource.model_validate(values)
    assert source.device == "b01-u1-door"
    assert source.path == Path("/var/lib/linli/logs/b01-u1-door.jsonl")
    assert source.readers == {"1": "in", "2": "out"}


def test_device_values_win_over_defaults_and_placeholders_are_filled(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, "acme.yaml", GOOD))
    values = profile.source_values("b02-u1-door", {"readers": {"1": "in"}},
                                   community="juxin", building="b02")
    assert values["path"] == "/logs/b02/b02-u1-door.csv"
    assert values["readers"] == {"1": "in"}  # replaced as a whole, not merged
    assert (values["type"], values["device"], values["format"]) == ("log", "b02-u1-door", "csv")


def test_profile_codes_are_merged_under_the_device_codes() -> None:
    profile = Profile.model_validate({**GOOD, "codes": {"5.75": "passage", 21: "door_opened",
                                                         "3.112": "ignore"}})
    values = profile.source_values("d1", {"codes": {"21": "door_forced"}},
                                   community="c", building="b")
    assert values["codes"] == {"5.75": "passage", "21": "door_forced", "3.112": "ignore"}


def test_required_per_device_fields_may_be_missing_from_defaults(tmp_path: Path) -> None:
    content = {**GOOD, "defaults": {"format": "csv"}}  # no path: each device gives its own
    assert load_profile(write(tmp_path, "acme.yaml", content)).defaults == {"format": "csv"}


@pytest.mark.parametrize(("changes", "expected"), [
    ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ({"models": None}, "models: Field required"),
    ({"models": []}, "models: List should have at least 1 item"),
    ({"family": "Acme Door"}, "family: Value error"),
    ({"protocol": "telnet"}, "protocol: Value error, unknown protocol 'telnet'"),
    ({"defaults": {"bogus": 1}}, "defaults.bogus: not a field of log sources"),
    ({"defaults": {"device": "x"}}, "defaults.device: set per device"),
    ({"defaults": {"format": "xml"}}, "defaults.format: Input should be 'jsonl' or 'csv'"),
    ({"defaults": {"readers": {"1": "sideways"}}}, "defaults.readers.1: Input should be"),
    ({"defaults": {"timezone": "Mars/Base"}}, "defaults.timezone: Value error, unknown time zone"),
    ({"codes": {"5.75": "teleported"}}, "codes: Value error, '5.75': 'teleported' is not one"),
    ({"codes": {"5.75": "passage"}}, "codes: log sources take no vendor codes"),
])
def test_a_broken_profile_names_its_file_and_field(tmp_path: Path, changes: dict[str, object],
                                                   expected: str) -> None:
    assert expected in broken(tmp_path, **changes)


def test_a_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    write(tmp_path, "acme-door.yaml", GOOD)
    write(tmp_path, "acme-gate.yaml", {**GOOD, "family": "acme-gate", "defaults": {"fmt": 1}})
    write(tmp_path, "acme-copy.yml", GOOD)
    write(tmp_path, "list.yaml", "- not a mapping\n")
    catalog = load_profiles([tmp_path], packaged=False)
    assert list(catalog.profiles) == ["acme-door"]
    problems = sorted(str(problem) for problem in catalog.problems)
    assert any("acme-copy.yml" in p and "'acme-door' is already defined" in p for p in problems)
    assert any("acme-gate.yaml" in p and "defaults.fmt" in p for p in problems)
    assert any("list.yaml" in p and "must hold a mapping" in p for p in problems)
    with pytest.raises(ConfigError, match=r"profile 'acme-gate' is broken.*defaults\.fmt"):
        catalog.get("acme-gate")
    with pytest.raises(ConfigError, match=r"unknown profile 'acme-lift' \(known: acme-door\)"):
        catalog.get("acme-lift")


def test_profiles_command_lists_profiles_and_fails_on_a_broken_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "acme-door.yaml", GOOD)
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["hardware", "profiles", "--profiles", str(tmp_path)])
    assert args.run(args, load_settings()) == 0
    shown = capsys.readouterr().out
    assert "generic-log" in shown and "acme-door" in shown and "AC-1, AC-2" in shown

    write(tmp_path, "acme-gate.yaml", {**GOOD, "family": "acme-gate", "protocol": "fax"})
    assert args.run(args, load_settings()) == 1
    errors = capsys.readouterr().err
    assert "acme-gate.yaml" in errors and "protocol" in errors


def test_a_vendor_profile_is_checked_against_its_adapters_model(tmp_path: Path) -> None:
    vendor = {"family": "acme-isapi", "vendor": "acme", "models": ["X1"],
              "protocol": "hikvision-isapi", "defaults": {"port": 80, "mode": "stream"},
              "codes": {"5.75": "passage", "3.112": "ignore"}}
    profile = load_profile(write(tmp_path, "ok.yaml", vendor))  # host comes per device
    values = profile.source_values("b01-gate", {"host": "10.0.0.9"}, community="c",
                                   building="b01")
    source = source_model("hikvision-isapi").model_validate(values)
    assert source.model_dump(include={"host", "port"}) == {"host": "10.0.0.9", "port": 80}
    assert "defaults.port: Input should be a valid integer" in broken(
        tmp_path, **{**vendor, "defaults": {"port": "eighty"}})


def test_profiles_command_shows_one_profile_as_written(
        capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["hardware", "profiles", "generic-log"])
    assert args.run(args, load_settings()) == 0
    path = packaged_dir() / "generic-log.yaml"
    assert capsys.readouterr().out == f"# {path}\n{path.read_text(encoding='utf-8')}"
    args = parser.parse_args(["hardware", "profiles", "acme-lift"])
    with pytest.raises(ConfigError, match="unknown profile 'acme-lift'"):
        args.run(args, load_settings())


def test_zigbee2mqtt_profile_makes_a_sensor_gateway() -> None:
    profile = load_profiles().get("zigbee2mqtt")
    assert (profile.protocol, profile.kind) == ("sensor-mqtt", "sensor")
    values = profile.source_values("h301-gateway", {
        "url": "mqtt://linli:pw@192.168.10.31:1883",
        "sensors": [{"name": "301 motion", "device": "h301-motion", "household": "h-301",
                     "signal": "motion"}]}, community="juxin", building="b03")
    source = source_model("sensor-mqtt").model_validate(values)
    assert source.model_dump(include={"base_topic", "time_field", "min_interval_s"}) == {
        "base_topic": "zigbee2mqtt", "time_field": "last_seen", "min_interval_s": 60.0}
