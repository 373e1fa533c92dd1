"""docker-compose.yml, the Dockerfile and the Mosquitto config, checked without Docker.

No Docker engine runs here, so these tests read the files: start order by health and
completion, no secret with a default, Mosquitto with authentication, persistence and no
queue limit, and every ``linli`` command one the CLI really has.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from linli.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
AGREED_COMMANDS = {"edge", "ingest", "rules", "api", "db", "import", "simulate", "demo"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(compose_text)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def command(service: dict[str, Any]) -> list[str]:
    value = service.get("command", [])
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def mosquitto_conf() -> dict[str, str]:
    options = {}
    for line in (ROOT / "deploy/mosquitto/mosquitto.conf").read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            options[key] = value.strip()
    return options


def test_the_system_is_all_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"timescaledb", "mosquitto", "migrate", "ingest", "rules", "api", "simulator",
            "edge", "seed"} <= set(services)
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")
    assert services["timescaledb"]["image"].endswith("-pg16")
    assert services["mosquitto"]["image"] == "eclipse-mosquitto:2"


def test_every_service_has_a_healthcheck_or_is_one_shot(
    services: dict[str, dict[str, Any]]
) -> None:
    for name, service in services.items():
        if one_shot(service):
            assert "healthcheck" not in service, name
        else:
            assert service.get("restart") in ("unless-stopped", "always"), name
            test = service["healthcheck"]["test"]
            assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
    assert {n for n, s in services.items() if one_shot(s)} == {"migrate", "seed"}


def test_start_order_uses_conditions(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, spec in depends.items():
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}"
            else:
                assert condition == "service_completed_successfully", name
                assert one_shot(services[target]), f"{name} waits for {target} to finish"
    for name in ("ingest", "rules", "api"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["mosquitto"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    assert services["seed"]["depends_on"]["simulator"]["condition"] == "service_healthy"


def test_no_secret_has_a_default_or_a_literal_value(
    compose_text: str, services: dict[str, dict[str, Any]]
) -> None:
    secrets = set()
    for match in INTERPOLATION.finditer(compose_text):
        if SECRET_NAME.search(match["name"]):
            assert match["op"] == ":?", f"${{{match['name']}}} must be required, no default"
            secrets.add(match["name"])
    assert {"POSTGRES_PASSWORD", "MQTT_INGEST_PASSWORD", "MQTT_EDGE_PASSWORD"} <= secrets
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            text = str(value)
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(text), f"{name}.{key} is a literal secret"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", text):
                assert INTERPOLATION.fullmatch(password), f"{name}.{key} embeds a password"
    example = (ROOT / ".env.example").read_text("utf-8")
    listed = dict(re.findall(r"^([A-Z_][A-Z0-9_]*)=(.*)$", example, re.MULTILINE))
    required = {m["name"] for m in INTERPOLATION.finditer(compose_text) if m["op"] == ":?"}
    assert required <= set(listed)
    assert all(listed[name] == "" for name in required), ".env.example holds no values"


def test_services_get_the_urls_they_need(services: dict[str, dict[str, Any]]) -> None:
    def env(name: str) -> dict[str, Any]:
        found: dict[str, Any] = services[name].get("environment", {})
        return found

    for name in ("migrate", "ingest", "rules", "api", "seed"):
        assert env(name)["LINLI_DATABASE_URL"].startswith("postgresql://"), name
    for name, user in (("ingest", "ingest"), ("edge", "edge"), ("api", "monitor")):
        assert env(name)["LINLI_MQTT_URL"].startswith(f"mqtt://{user}:"), name
    assert "LINLI_DATABASE_URL" not in env("edge")  # the building needs only the broker


def test_mosquitto_authenticates_persists_and_never_drops(
    services: dict[str, dict[str, Any]]
) -> None:
    conf = mosquitto_conf()
    assert conf["allow_anonymous"] == "false"
    assert conf["password_file"]
    assert conf["persistence"] == "true"
    assert conf["max_queued_messages"] == "0"
    assert conf["persistence_location"].startswith("/mosquitto/data")
    start = (ROOT / "deploy/mosquitto/start.sh").read_text("utf-8")
    assert conf["password_file"] in start.replace('"$auth', "/mosquitto/auth")
    assert conf["acl_file"] in start.replace('"$auth', "/mosquitto/auth")
    mosquitto = services["mosquitto"]
    assert any(str(v).endswith(":/mosquitto/data") for v in mosquitto["volumes"])
    users_with_password = set(re.findall(r"mosquitto_passwd -b \S+ (\w+) ", start))
    acl = (ROOT / "deploy/mosquitto/acl").read_text("utf-8")
    grants: dict[str, list[str]] = {}
    user = None
    for line in acl.splitlines():
        parts = line.split()
        if parts[:1] == ["user"]:
            user = parts[1]
            grants[user] = []
        elif parts[:1] == ["topic"] and user:
            grants[user].append(" ".join(parts[1:]))
    assert users_with_password == set(grants)
    assert grants["ingest"] == ["read linli/v1/#"]
    assert grants["edge"] == ["write linli/v1/#"]
    for name in ("MQTT_INGEST_PASSWORD", "MQTT_EDGE_PASSWORD", "MQTT_MONITOR_PASSWORD"):
        assert name in mosquitto["environment"]


def test_every_linli_command_exists(services: dict[str, dict[str, Any]]) -> None:
    parser = build_parser()
    registered = set(next(a for a in parser._actions if a.dest == "command").choices or {})
    used = set()
    for name, service in services.items():
        args = command(service)
        if not args or args[0] != "linli":
            continue
        assert args[1] in AGREED_COMMANDS, f"{name}: linli {args[1]}"
        used.add(args[1])
        if args[1] in registered:  # stages being written in parallel may not register yet
            parsed = parser.parse_args(args[1:])
            assert callable(getattr(parsed, "run", None)), f"{name}: {args}"
    assert {"db", "ingest", "rules", "api", "simulate", "import", "edge"} <= used
    assert {"db", "import", "simulate"} <= registered


def test_the_simulated_building_shares_one_folder(services: dict[str, dict[str, Any]]) -> None:
    simulate = command(services["simulator"])
    out = simulate[simulate.index("--out") + 1]
    assert "--follow" in simulate
    assert command(services["seed"])[-1] == f"{out}/community.yaml"
    edge = command(services["edge"])
    assert edge[edge.index("--config") + 1].startswith(f"{out}/agents/")
    for name in ("simulator", "seed", "edge"):
        mounts = [str(v).split(":") for v in services[name]["volumes"]]
        assert ["sim-data", out] in [m[:2] for m in mounts], name


def test_named_volumes_are_declared(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: {source}"


def test_connection_probe_sees_an_established_connection(
    services: dict[str, dict[str, Any]]
) -> None:
    test = services["ingest"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = test[3]
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        probe = [sys.executable, "-c", code, str(port)]
        assert subprocess.run(probe, check=False, timeout=10).returncode == 1
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = server.accept()
            with accepted:
                assert subprocess.run(probe, check=False, timeout=10).returncode == 0


def test_api_healthcheck_targets_health_on_its_port(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    args = command(api)
    port = args[args.index("--port") + 1]
    assert f"http://127.0.0.1:{port}/health" in " ".join(api["healthcheck"]["test"])
    assert f"{port}:{port}" in api["ports"]


def test_the_image_runs_as_an_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert stages and all(s.startswith("python:3.11-slim") for s in stages)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"pip (install|wheel)\b.*\s\.(\s|$)", dockerfile)
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert ".env" in ignored and ".git" in ignored
