"""`linli hardware provision` over TLS, from the command line: the CA and the client
certificate land next to the agent's files, the URL names them, nothing secret is printed."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

import pytest

from hardware.provision import cli
from hardware.provision.files import agent_broker
from linli.settings import load_settings
from tests.integration.test_provision_flow import Conn, devices_file, import_community

ROOT = Path(__file__).resolve().parents[2]


def test_provisioning_for_tls_with_a_client_certificate(
        db_url: str, db: Conn, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_community(db)
    subprocess.run(["sh", str(ROOT / "deploy/mosquitto/make-tls.sh")], check=True, timeout=60,
                   capture_output=True, env={"PATH": os.environ["PATH"],
                                             "CA_DIR": str(tmp_path / "ca"),
                                             "TLS_DIR": str(tmp_path / "tls")})
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    settings = load_settings(None, database_url=db_url)
    base = ["hardware", "provision", "--devices", str(devices_file(tmp_path, "b01")),
            "--out", str(tmp_path / "out"), "--broker-url", "mqtts://mqtt.juxin.example:8883",
            "--broker-ca", str(tmp_path / "tls" / "ca.pem"), "--agent-dir", "/etc/linli"]
    args = parser.parse_args([*base, "--client-cert"])
    assert args.run(args, settings) == 0
    printed = capsys.readouterr()
    assert "not signed" in printed.out and "juxin-b01.csr" in printed.out
    args = parser.parse_args([*base, "--client-cert", "--ca-key", str(tmp_path / "ca/ca.key")])
    assert args.run(args, settings) == 0
    printed = capsys.readouterr()
    agents = tmp_path / "out" / "agents"
    broker = agent_broker(agents / "juxin-b01.env")
    assert broker is not None and broker.password and broker.tls
    assert (broker.cafile, broker.certfile, broker.keyfile) == (
        "/etc/linli/mqtt-ca.pem", "/etc/linli/juxin-b01.crt", "/etc/linli/juxin-b01.key")
    assert f"{agents / 'juxin-b01.crt'} (new;" in printed.out
    key = (agents / "juxin-b01.key").read_text()
    for secret in (broker.password, key.strip().splitlines()[1],
                   (tmp_path / "ca/ca.key").read_text().strip().splitlines()[1]):
        assert secret not in printed.out + printed.err
    assert "unencrypted" not in printed.err  # TLS: no warning
    args = parser.parse_args([*base[:6], "--broker-url", "mqtt://10.0.0.5:1883"])
    assert args.run(args, settings) == 0
    assert "unencrypted" in capsys.readouterr().err
