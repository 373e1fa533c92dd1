"""The agent configuration: the documented example loads; mistakes name their field."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from edge import cli
from edge.config import load_agent_config
from linli.errors import ConfigError
from linli.settings import load_settings

EXAMPLE = """\
community: juxin
building: b01
agent_id: agent            # device id of the agent's own status topic (default "agent")
sources:
  - type: log
    device: b01-u1-door
    path: /var/lib/linli/logs/b01-u1-door.jsonl
    format: jsonl          # or csv
    timezone: Asia/Shanghai
    readers: {"1": in, "2": out}
    fields: {}             # optional column renames: {our_name: their_column}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_example_loads(tmp_path: Path) -> None:
    config = load_agent_config(write(tmp_path, EXAMPLE))
    assert (config.community, config.building, config.agent_id) == ("juxin", "b01", "agent")
    (source,) = config.sources
    assert source.readers == {"1": "in", "2": "out"}
    assert source.path == Path("/var/lib/linli/logs/b01-u1-door.jsonl")


def test_integer_reader_keys_and_defaults(tmp_path: Path) -> None:
    text = "community: c\nbuilding: b\nsources: [{device: d, path: x.csv, format: csv,"
    text += " readers: {1: out}}]\n"
    config = load_agent_config(write(tmp_path, text))
    assert config.agent_id == "agent"
    assert config.sources[0].readers == {"1": "out"}
    assert config.sources[0].timezone == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("format: jsonl", "format: xml"), "sources.0.log.format"),
        (("building: b01", "building: B_01"), "building"),
        (("device: b01-u1-door", "device: Door 1"), "sources.0.log.device"),
        (("timezone: Asia/Shanghai", "timezone: Mars/Olympus"), "sources.0.log.timezone"),
        (("fields: {}", "fields: {badge: card_no}"), "sources.0.log.fields"),
        (("readers: {\"1\": in, \"2\": out}", "readers: {\"1\": up}"), "sources.0.log.readers.1"),
        (("    fields: {}", "    fields: {}\n    colour: red"), "sources.0.log.colour"),
        (("agent_id: agent", "agent_id: Agent!"), "agent_id"),
    ],
)
def test_mistakes_name_their_field(tmp_path: Path, change: tuple[str, str], where: str) -> None:
    assert change[0] in EXAMPLE
    path = write(tmp_path, EXAMPLE.replace(*change))
    with pytest.raises(ConfigError, match=rf"{where}: "):
        load_agent_config(path)


def test_no_sources_and_duplicate_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sources: "):
        load_agent_config(write(tmp_path, "community: c\nbuilding: b\nsources: []\n"))
    twice = EXAMPLE + EXAMPLE[EXAMPLE.index("  - type"):].replace("b01-u1-door\n", "b01-u2\n", 1)
    with pytest.raises(ConfigError, match="same file twice"):
        load_agent_config(write(tmp_path, twice))


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_agent_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        load_agent_config(write(tmp_path, "- just a list\n"))


def run_cli(argv: list[str], **settings: object) -> int:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    code: int = args.run(args, load_settings(None, **settings))
    return code


def test_cli_checks_a_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, EXAMPLE)
    assert run_cli(["edge", "--config", str(path), "--check"]) == 0
    assert "ok (1 sources" in capsys.readouterr().out
    # the settings' edge.config is the fallback
    assert run_cli(["edge", "--check"], edge={"config": str(path)}) == 0


def test_cli_needs_a_configuration_and_a_broker(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINLI_MQTT_URL", raising=False)
    monkeypatch.delenv("LINLI_EDGE__CONFIG", raising=False)
    with pytest.raises(ConfigError, match="no agent configuration"):
        run_cli(["edge"])
    with pytest.raises(ConfigError, match="LINLI_MQTT_URL"):
        run_cli(["edge", "--config", str(write(tmp_path, EXAMPLE))])


def test_an_unknown_source_type_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.replace("type: log", "type: fax"))
    with pytest.raises(ConfigError, match=r"sources\.0: .*'fax'"):
        load_agent_config(path)


def test_two_device_sources_cannot_claim_one_device(tmp_path: Path) -> None:
    text = ("community: c\nbuilding: b\nsources:\n"
            "  - {type: zkteco-tcp, device: d1, host: 10.0.0.2}\n"
            "  - {type: zkteco-tcp, device: d1, host: 10.0.0.3}\n")
    with pytest.raises(ConfigError, match="two sources claim the same device"):
        load_agent_config(write(tmp_path, text))


@pytest.mark.parametrize(("second", "error"), [
    ("{type: zkteco-push, device: d2, serial: SN1, listen: '0.0.0.0:8088'}",
     r"two zkteco-push sources expect the same terminal: \['0.0.0.0:8088 SN=SN1'\]"),
    ("{type: hikvision-isapi, device: d2, host: 10.0.0.3, mode: push, listen: '0.0.0.0:8088',"
     " username: admin, password: x}",
     r"push listeners bind the same port twice: \[8088\]"),
])
def test_push_listeners_cannot_clash(tmp_path: Path, second: str, error: str) -> None:
    text = ("community: c\nbuilding: b\nsources:\n"
            "  - {type: zkteco-push, device: d1, serial: SN1, listen: '0.0.0.0:8088'}\n"
            f"  - {second}\n")
    with pytest.raises(ConfigError, match=error):
        load_agent_config(write(tmp_path, text))
    # another serial on the same listener is another terminal: allowed
    shared = text.replace(f"  - {second}\n", "  - {type: zkteco-push, device: d2, serial: SN2}\n")
    assert len(load_agent_config(write(tmp_path, shared)).sources) == 2
