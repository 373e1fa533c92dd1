"""An agent's TLS files from provisioning: the broker's CA named in its mqtts:// URL, and an
optional client certificate signed by the CA that deploy/mosquitto/make-tls.sh makes."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from hardware.profiles import load_profiles
from hardware.provision.clientcert import AgentTls, certificate_is_current
from hardware.provision.devices import BuildingPlan, parse_devices_file, plan_building
from hardware.provision.files import agent_broker
from hardware.provision.flow import output_paths, write_agent_files
from linli.errors import ConfigError
from linli.mqtt import parse_broker_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl here")


def make_ca(folder: Path) -> tuple[Path, Path]:
    env = {"PATH": os.environ["PATH"], "CA_DIR": str(folder / "ca"),
           "TLS_DIR": str(folder / "tls")}
    subprocess.run(["sh", str(ROOT / "deploy/mosquitto/make-tls.sh")], env=env, check=True,
                   timeout=60, capture_output=True)
    return folder / "tls" / "ca.pem", folder / "ca" / "ca.key"


def plan(tmp_path: Path, building: str = "b01") -> BuildingPlan:
    return plan_building(parse_devices_file({"community": "c", "building": building, "devices": [
        {"id": f"{building}-door", "profile": "generic-log",
         "path": str(tmp_path / "door.jsonl")}]}), load_profiles())


def test_the_agent_url_names_the_ca_and_its_signed_certificate(tmp_path: Path) -> None:
    ca_cert, ca_key = make_ca(tmp_path / "pki")
    paths = output_paths(tmp_path / "out", "c", "b01")
    tls = AgentTls(ca_cert=ca_cert, client_cert=True, ca_key=ca_key,
                   agent_dir=Path("/etc/linli"))
    broker = parse_broker_url("mqtts://mqtt.example.org:8883")
    result = write_agent_files(plan(tmp_path), paths, broker=broker, tls=tls)
    assert result.client_cert == "new"
    found = agent_broker(paths.agent_env)
    assert found is not None and found.tls and found.username == "agent-c-b01"
    assert (found.cafile, found.certfile, found.keyfile) == (
        "/etc/linli/mqtt-ca.pem", "/etc/linli/c-b01.crt", "/etc/linli/c-b01.key")
    agents = paths.agent_config.parent
    assert (agents / "mqtt-ca.pem").read_bytes() == ca_cert.read_bytes()
    assert not list(agents.glob("*ca.key")), "the CA's key is never copied"
    key, cert = agents / "c-b01.key", agents / "c-b01.crt"
    assert key.stat().st_mode & 0o077 == 0
    assert certificate_is_current(cert, ca_cert, "agent-c-b01")
    assert not certificate_is_current(cert, ca_cert, "agent-c-b02")
    ssl.create_default_context().load_cert_chain(cert, key)  # the key matches
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    assert "TLS Web Client Authentication" in text
    before = {p.name: p.read_bytes() for p in agents.iterdir()}
    again = write_agent_files(plan(tmp_path), paths, broker=broker, tls=tls)
    assert again.changed == [] and again.client_cert == "kept"
    assert {p.name: p.read_bytes() for p in agents.iterdir()} == before


def test_without_the_ca_key_a_signing_request_is_written(tmp_path: Path) -> None:
    ca_cert, _ = make_ca(tmp_path / "pki")
    paths = output_paths(tmp_path / "out", "c", "b01")
    tls = AgentTls(ca_cert=ca_cert, client_cert=True)
    broker = parse_broker_url("mqtts://127.0.0.1:8883")
    result = write_agent_files(plan(tmp_path), paths, broker=broker, tls=tls)
    assert result.client_cert == "request"
    request = paths.agent_config.with_suffix(".csr")
    subject = subprocess.run(["openssl", "req", "-in", str(request), "-noout", "-subject"],
                             check=True, capture_output=True, text=True).stdout
    assert "agent-c-b01" in subject
    found = agent_broker(paths.agent_env)
    assert found is not None and found.cafile and found.certfile is None  # not signed yet
    again = write_agent_files(plan(tmp_path), paths, broker=broker, tls=tls)
    assert again.changed == [] and again.client_cert == "request"


@pytest.mark.parametrize(("url", "tls", "message"), [
    ("mqtt://h:1883", AgentTls(ca_cert=Path("x")), "need a mqtts://"),
    ("mqtts://h", AgentTls(ca_cert=Path("/no/such/ca.pem")), "no such file"),
    ("mqtts://h", AgentTls(ca_key=Path("k")), "add --client-cert"),
    ("mqtts://h", AgentTls(client_cert=True, ca_key=Path("k")), "needs --broker-ca"),
])
def test_options_that_cannot_work_are_refused_before_writing(
        tmp_path: Path, url: str, tls: AgentTls, message: str) -> None:
    paths = output_paths(tmp_path / "out", "c", "b01")
    with pytest.raises(ConfigError, match=message):
        write_agent_files(plan(tmp_path), paths, broker=parse_broker_url(url), tls=tls)
    assert not (tmp_path / "out").exists()
