"""``linli hardware test`` on a generic log: the device's events are shown, a silent device
fails the test, and mistakes in the command are named."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from hardware.provision import cli
from linli.errors import ConfigError
from linli.settings import load_settings


@pytest.fixture(autouse=True)
def keep_signal_handlers() -> Iterator[None]:
    """The command installs SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def agent_config(tmp_path: Path, log: Path) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump({"community": "c", "building": "b01", "sources": [
        {"type": "log", "device": "b01-u1-door", "path": str(log),
         "readers": {"1": "in", "2": "out"}}]}), encoding="utf-8")
    return path


def record(n: int) -> str:
    at = dt.datetime(2026, 11, 22, 8, 0, n, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return json.dumps({"time": at.isoformat(), "event": "granted", "person": f"r-{n:04d}",
                       "reader": 2 - n % 2, "credential": "card", "seq": n})


def run(tmp_path: Path, *extra: str, **settings: str) -> int:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["hardware", "test", "--config", str(tmp_path / "agent.yaml"),
                              *extra])
    return int(args.run(args, load_settings(None, edge={"poll_interval_s": 0.05}, **settings)))


def test_shows_the_last_events_of_the_device(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "door.jsonl"
    log.write_text("".join(record(n) + "\n" for n in range(1, 9)) + "not json\n")
    agent_config(tmp_path, log)
    assert run(tmp_path, "--device", "b01-u1-door", "--seconds", "10") == 0
    out = capsys.readouterr().out
    shown = [line for line in out.splitlines() if line.startswith("  event ")]
    assert "(3 earlier events not shown)" in out
    assert [line.split("person=")[1].split()[0] for line in shown] == [
        f"r-{n:04d}" for n in range(4, 9)]
    assert "2026-11-22T08:00:08+08:00  passage" in shown[-1]
    assert "credential=card" in shown[-1] and '"seq": 8' in shown[-1]
    assert " in  person=r-0007" in shown[-2] and " out person=r-0008" in shown[-1]
    assert f"  rejected {log}:9: " in out
    assert "result: ok (8 events from the device; 1 rejected)" in out
    assert '"events": 8' in out  # the source's health


def test_a_silent_device_fails_the_test(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    agent_config(tmp_path, tmp_path / "missing.jsonl")
    assert run(tmp_path, "--device", "b01-u1-door", "--seconds", "0.3") == 1
    out = capsys.readouterr().out
    assert "result: FAILED: no event from the device" in out
    assert '"file": "stopped"' in out or '"file": "missing"' in out


def test_mistakes_in_the_command_are_named(tmp_path: Path) -> None:
    agent_config(tmp_path, tmp_path / "door.jsonl")
    with pytest.raises(ConfigError, match=r"no source for device 'b01-u9-door' \(it has: "
                                          r"b01-u1-door\)"):
        run(tmp_path, "--device", "b01-u9-door")
    with pytest.raises(ConfigError, match="LINLI_DATABASE_URL is not set"):
        run(tmp_path, "--device", "b01-u1-door", "--wait-db")
    with pytest.raises(ConfigError, match="--seconds must be > 0"):
        run(tmp_path, "--device", "b01-u1-door", "--seconds", "0")
