"""docker-compose.yml, the Dockerfile and the Mosquitto config, checked without Docker.

No Docker engine runs here, so these tests read the files: every service healthy or
one-shot, start order by health and completion (no cycle), no secret with a default
outside a development profile, Mosquitto with authentication, per-building publishing,
a TLS listener (plain MQTT not published), persistence and no limit that drops QoS 1
messages, the TimescaleDB image that tests/timescale/ checks, and every
``linli`` command one the CLI really parses.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hardware.provision.acl import SERVICE_USERS, agent_rules, parse_acl
from linli.cli import build_parser
from linli.contract import MAX_PAYLOAD_BYTES
from linli.settings import EdgeSettings, IngestSettings
from linli.topics import INGEST_SESSION_TOPIC

ROOT = Path(__file__).resolve().parents[2]
DEV_PROFILES = {"dev", "development"}
TESTED_TIMESCALEDB = re.compile(r"^timescale/timescaledb:2\.23\.\d+-pg17$")
"""What tests/timescale/ runs the migrations and queries on (pglite: TimescaleDB 2.23 on
PostgreSQL 17): production must use the same minor and major."""
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
    """The options before the first listener (global) and, per option, the last value."""
    options = {}
    for line in (ROOT / "deploy/mosquitto/mosquitto.conf").read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            options[key] = value.strip()
    return options


def mosquitto_listeners() -> dict[int, dict[str, str]]:
    """Each ``listener PORT`` block of the config: its options."""
    listeners: dict[int, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in (ROOT / "deploy/mosquitto/mosquitto.conf").read_text("utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.strip().partition(" ")
        if key == "listener":
            port, *bind = value.split()
            current = listeners.setdefault(int(port), {"bind": " ".join(bind)})
        elif current is not None and key in ("protocol", "cafile", "certfile", "keyfile",
                                             "tls_version", "require_certificate"):
            current[key] = value.strip()
    return listeners


def test_the_system_is_all_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"timescaledb", "mosquitto", "migrate", "ingest", "rules", "api", "simulator",
            "edge", "seed"} <= set(services)
    assert TESTED_TIMESCALEDB.match(services["timescaledb"]["image"])
    assert services["mosquitto"]["image"] == "eclipse-mosquitto:2"


def test_every_service_has_a_healthcheck_or_is_one_shot(
    services: dict[str, dict[str, Any]]
) -> None:
    for name, service in services.items():
        if one_shot(service):
            assert "healthcheck" not in service, name
        else:
            assert service.get("restart") in ("unless-stopped", "always"), name
            check = service["healthcheck"]
            assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name
            assert not check.get("disable"), name
            assert seconds(check["timeout"]) <= seconds(check["interval"]), name
            assert check["retries"] >= 3 and "start_period" in check, name
    assert {n for n, s in services.items() if one_shot(s)} == {"migrate", "seed", "tls-cert",
                                                               "mqtt-tls"}


def seconds(duration: str) -> float:
    """A compose duration such as ``1m30s`` or ``500ms``, in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(duration))
    assert parts and "".join(n + u for n, u in parts) == str(duration), duration
    return sum(float(n) * units[u] for n, u in parts)


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


def test_start_order_has_no_cycle_and_waits_for_what_each_service_uses(
    services: dict[str, dict[str, Any]]
) -> None:
    graph = {name: set(s.get("depends_on", {})) for name, s in services.items()}
    assert all(targets <= set(services) for targets in graph.values()), graph
    started: list[str] = []
    while len(started) < len(graph):  # Kahn's algorithm: a cycle leaves nodes behind
        ready = sorted(n for n, t in graph.items() if n not in started and t <= set(started))
        assert ready, f"depends_on cycle among {sorted(set(graph) - set(started))}"
        started += ready
    for name, service in services.items():
        env = environment(service)
        depends = service.get("depends_on", {})
        if "LINLI_DATABASE_URL" in env and name != "migrate":
            assert depends["migrate"]["condition"] == "service_completed_successfully", name
        if "LINLI_MQTT_URL" in env:
            assert depends["mosquitto"]["condition"] == "service_healthy", name


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from the mapping or the ``KEY=value`` list form."""
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(str(item).partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


def strings(value: Any) -> list[str]:
    """Every string inside a loaded YAML value, ``$$`` escapes removed (not interpolation)."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in strings(k) + strings(v)]
    if isinstance(value, list):
        return [t for v in value for t in strings(v)]
    return [str(value).replace("$$", "")] if value is not None else []


def mounted_file(service: dict[str, Any], value: str) -> bool:
    """``value`` names a file in one of the service's volumes (e.g. a TLS key): the secret is
    the file's content, not the name."""
    targets = [with_defaults(str(v)).split(":")[1] for v in service.get("volumes", [])]
    return any(value.startswith(f"{target}/") for target in targets)


def test_no_secret_has_a_default_outside_a_development_profile(
    services: dict[str, dict[str, Any]]
) -> None:
    secrets = set()
    for name, service in services.items():
        profiles = set(service.get("profiles", []))
        dev_only = bool(profiles) and profiles <= DEV_PROFILES  # never started in production
        texts = strings(service)
        in_urls = {m["name"] for t in texts
                   for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", t)
                   for m in INTERPOLATION.finditer(password)}
        for match in (m for t in texts for m in INTERPOLATION.finditer(t)):
            if SECRET_NAME.search(match["name"]) or match["name"] in in_urls:
                secrets.add(match["name"])
                assert dev_only or match["op"] == ":?", (
                    f"{name}: ${{{match['name']}}} must be required (:?), no default")
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and not mounted_file(service, value):
                assert INTERPOLATION.fullmatch(value), f"{name}.{key} is a literal secret"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert INTERPOLATION.fullmatch(password), f"{name}.{key} embeds a password"
    assert {"POSTGRES_PASSWORD", "MQTT_INGEST_PASSWORD", "MQTT_SIM_AGENT_PASSWORD",
            "MQTT_MONITOR_PASSWORD"} <= secrets


def test_env_example_lists_every_required_variable_without_a_value(compose_text: str) -> None:
    example = (ROOT / ".env.example").read_text("utf-8")
    listed = dict(re.findall(r"^([A-Z_][A-Z0-9_]*)=(.*)$", example, re.MULTILINE))
    required = {m["name"] for m in INTERPOLATION.finditer(compose_text) if m["op"] == ":?"}
    assert required and required <= set(listed)
    assert all(listed[name] == "" for name in required), ".env.example holds no values"
    assert all(value == "" for name, value in listed.items() if SECRET_NAME.search(name))


def test_services_get_the_urls_they_need(services: dict[str, dict[str, Any]]) -> None:
    def env(name: str) -> dict[str, Any]:
        found: dict[str, Any] = services[name].get("environment", {})
        return found

    for name in ("migrate", "ingest", "rules", "api", "seed"):
        assert env(name)["LINLI_DATABASE_URL"].startswith("postgresql://"), name
    for name, user in (("ingest", "ingest"), ("edge", "agent-juxin-b01"), ("api", "monitor")):
        assert env(name)["LINLI_MQTT_URL"].startswith(f"mqtt://{user}:"), name
    assert "LINLI_DATABASE_URL" not in env("edge")  # the building needs only the broker


def test_mosquitto_authenticates_every_client(services: dict[str, dict[str, Any]]) -> None:
    conf = mosquitto_conf()
    assert conf["allow_anonymous"] == "false"
    # one set of users and ACL for both listeners: none is more open than the other
    assert conf["per_listener_settings"] == "false"
    assert conf["password_file"] and conf["acl_file"]
    start = (ROOT / "deploy/mosquitto/start.sh").read_text("utf-8")
    assert conf["password_file"] in start.replace('"$auth', "/mosquitto/auth")
    assert conf["acl_file"] in start.replace('"$auth', "/mosquitto/auth")
    mosquitto = services["mosquitto"]
    assert mosquitto["environment"]["MOSQUITTO_CONF"].endswith("/mosquitto.conf")
    users_with_password = set(re.findall(r"mosquitto_passwd -b \S+ (\w+) ", start))
    acl = parse_acl((ROOT / "deploy/mosquitto/acl").read_text("utf-8"))
    assert acl.top == [], "no rule for anonymous clients or for every user"
    assert users_with_password == set(acl.users) == set(SERVICE_USERS)
    # the same service rules as the ACL provisioning writes
    assert {user: tuple(rules) for user, rules in acl.users.items()} == SERVICE_USERS
    for name in ("MQTT_INGEST_PASSWORD", "MQTT_SIM_AGENT_PASSWORD", "MQTT_MONITOR_PASSWORD"):
        assert name in mosquitto["environment"]


def test_no_user_may_write_another_buildings_topics(services: dict[str, dict[str, Any]]) -> None:
    acl = parse_acl((ROOT / "deploy/mosquitto/acl").read_text("utf-8"))
    for user, rules in acl.users.items():
        writes = [r.split()[2] for r in rules if r.split()[1] in ("write", "readwrite")]
        # only ingest writes, and only the storage receipts agents free their spools on and
        # its session epochs
        assert writes == (["linli/v1/+/+/+/stored", INGEST_SESSION_TOPIC]
                          if user == "ingest" else []), user
    # the simulated building's agent gets an agent's rules, for its own building only
    start = (ROOT / "deploy/mosquitto/start.sh").read_text("utf-8")
    community, building = services["mosquitto"]["environment"]["MQTT_SIM_AGENT"].split("/")
    rendered = start.replace("$sim_community", community).replace("$sim_building", building)
    assert all(rule in rendered for rule in agent_rules(community, building))
    assert "edge" not in users_of(start)
    edge = services["edge"]["environment"]["LINLI_MQTT_URL"]
    assert edge.startswith(f"mqtt://agent-{community}-{building}:")
    assert command(services["edge"])[-1].endswith(f"/{building}.yaml")


def users_of(start: str) -> set[str]:
    return set(re.findall(r"mosquitto_passwd -b \S+ \"?([\w$-]+)\"? ", start))


def test_plain_mqtt_stays_inside_and_tls_is_published(
    services: dict[str, dict[str, Any]]
) -> None:
    listeners = mosquitto_listeners()
    assert set(listeners) == {1883, 8883}
    assert listeners[1883].get("cafile") is None
    tls = listeners[8883]
    assert {"cafile", "certfile", "keyfile"} <= set(tls)
    assert tls["tls_version"] in ("tlsv1.2", "tlsv1.3")
    assert tls["require_certificate"] == "false"  # start.sh turns it on on request
    mosquitto = services["mosquitto"]
    published = [with_defaults(str(p)) for p in mosquitto.get("ports", [])]
    assert published == ["0.0.0.0:8883:8883"]
    assert not [p for p in published if p.split(":")[-1].split("/")[0] == "1883"]
    # the services reach 1883 over the compose network
    for name in ("ingest", "api", "edge"):
        assert "@mosquitto:1883" in services[name]["environment"]["LINLI_MQTT_URL"], name
    # the TLS files: made by the one-shot mqtt-tls before the broker starts, copied by start.sh
    start = (ROOT / "deploy/mosquitto/start.sh").read_text("utf-8")
    for option in ("cafile", "certfile", "keyfile"):
        name = Path(tls[option]).name
        assert tls[option] == f"/mosquitto/auth/tls/{name}"
        assert name in start
    maker = services["mqtt-tls"]
    assert maker["entrypoint"][-1] == "/linli/mosquitto/make-tls.sh"
    assert mosquitto["depends_on"]["mqtt-tls"]["condition"] == "service_completed_successfully"
    env = environment(maker)
    maker_mounts = {with_defaults(str(v)).split(":")[1]: with_defaults(str(v)).split(":")[0]
                    for v in maker["volumes"]}
    broker_mounts = {with_defaults(str(v)).split(":")[1]: with_defaults(str(v)).split(":")[0]
                     for v in mosquitto["volumes"]}
    tls_volume = maker_mounts[env["TLS_DIR"]]
    assert broker_mounts[environment(mosquitto)["MOSQUITTO_TLS"]] == tls_volume
    # the CA's key stays in its own volume, which the broker never mounts
    ca_volume = maker_mounts[env["CA_DIR"]]
    assert ca_volume != tls_volume and ca_volume not in broker_mounts.values()
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert env["CA_DIR"] in dockerfile and env["TLS_DIR"] in dockerfile
    assert "--cafile" in " ".join(mosquitto["healthcheck"]["test"])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl here")
def test_the_broker_ca_is_made_once_and_the_server_certificate_follows_the_names(
    tmp_path: Path
) -> None:
    script = ROOT / "deploy/mosquitto/make-tls.sh"
    ca_dir, tls_dir = tmp_path / "ca", tmp_path / "tls"

    def run(names: str) -> None:
        env = {"PATH": os.environ["PATH"], "CA_DIR": str(ca_dir), "TLS_DIR": str(tls_dir),
               "MQTT_TLS_NAMES": names}
        subprocess.run(["sh", str(script)], env=env, check=True, timeout=60,
                       capture_output=True)

    run("mqtt.example.org,10.0.0.5")
    ca, cert = (ca_dir / "ca.pem").read_bytes(), (tls_dir / "server.pem").read_bytes()
    assert (tls_dir / "ca.pem").read_bytes() == ca
    assert not (tls_dir / "ca.key").exists(), "the broker never gets the CA's key"
    for key in (ca_dir / "ca.key", tls_dir / "server.key"):
        assert key.stat().st_mode & 0o077 == 0, key
    context = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
    context.load_cert_chain(tls_dir / "server.pem", tls_dir / "server.key")
    text = subprocess.run(["openssl", "x509", "-in", str(tls_dir / "server.pem"), "-noout",
                           "-text"], check=True, capture_output=True, text=True).stdout
    for name in ("DNS:mqtt.example.org", "IP Address:10.0.0.5", "DNS:mosquitto",
                 "DNS:localhost"):
        assert name in text
    run("mqtt.example.org,10.0.0.5")
    assert (tls_dir / "server.pem").read_bytes() == cert, "kept while the names are the same"
    run("mqtt.example.org,10.0.0.6")
    assert (tls_dir / "server.pem").read_bytes() != cert, "made again for new names"
    assert (ca_dir / "ca.pem").read_bytes() == ca, "with the same CA: agents keep theirs"
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(ca_dir / "ca.pem"),
                               str(tls_dir / "server.pem")], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr


def test_mosquitto_persists_sessions_for_as_long_as_ingest_asks(
    services: dict[str, dict[str, Any]]
) -> None:
    conf = mosquitto_conf()
    assert conf["persistence"] == "true"
    assert conf["persistence_location"].startswith("/mosquitto/data")
    assert any(str(v).endswith(":/mosquitto/data") for v in services["mosquitto"]["volumes"])
    assert 0 < int(conf.get("autosave_interval", "1800")) <= 60
    expiry = conf["persistent_client_expiration"]
    match = re.fullmatch(r"(\d+)([hdwmy])", expiry)
    assert match, expiry
    hours = int(match[1]) * {"h": 1, "d": 24, "w": 168, "m": 720, "y": 8760}[match[2]]
    assert hours * 3600 >= IngestSettings().session_expiry_s


def test_mosquitto_never_drops_qos1_messages() -> None:
    conf = mosquitto_conf()
    queued = int(conf["max_queued_messages"])
    assert queued == 0 or queued >= 1_000_000, "the default (1000) drops QoS 1 messages"
    assert int(conf.get("max_queued_bytes", "0")) == 0
    # announced to MQTT 5 clients as Receive Maximum: not below an edge agent's own limit,
    # never unlimited (paho stalls past 65,535 unacknowledged messages)
    inflight = int(conf["max_inflight_messages"])
    assert EdgeSettings().max_inflight <= inflight <= 65_535
    for option in ("max_packet_size", "message_size_limit"):  # 0: no limit
        limit = int(conf.get(option, "0"))
        assert limit == 0 or limit >= MAX_PAYLOAD_BYTES + 1024, (
            f"{option} would refuse events the contract allows")
    assert conf.get("queue_qos0_messages", "false") == "false"


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
        try:
            parsed = parser.parse_args(args[1:])
        except SystemExit:
            pytest.fail(f"{name}: the linli CLI refuses {shlex.join(args)}")
        assert callable(getattr(parsed, "run", None)), f"{name}: {args}"
    assert {"db", "ingest", "rules", "api", "simulate", "import", "edge"} <= used
    assert used <= registered


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
            source = with_defaults(str(volume)).split(":")[0]
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
    assert f"https://127.0.0.1:{port}/health" in " ".join(api["healthcheck"]["test"])
    assert [p for p in api["ports"] if str(p).endswith(f":{port}:{port}")]


def with_defaults(text: str) -> str:
    """``text`` as compose reads it when no variable is set: every ``${X:-default}`` → default."""
    return INTERPOLATION.sub(lambda m: m["arg"] if m["op"] in (":-", "-") else "", text)


def test_the_api_serves_tls_on_the_hosts_loopback_unless_configured(
    services: dict[str, dict[str, Any]]
) -> None:
    api = services["api"]
    (published,) = api["ports"]
    assert with_defaults(str(published)) == "127.0.0.1:8443:8443"
    assert INTERPOLATION.match(str(published)), "a variable widens the binding"
    env = environment(api)
    tls = services["tls-cert"]
    tls_env = environment(tls)
    folder = tls_env["TLS_DIR"]
    assert env["LINLI_API__TLS_CERT"] == f"{folder}/cert.pem"
    assert env["LINLI_API__TLS_KEY"] == f"{folder}/key.pem"
    assert with_defaults(env["LINLI_API__PUBLIC_URL"]).startswith("https://")
    # the same volume (or the operator's folder) holds the certificate in both services
    api_mounts = {with_defaults(str(v)).rsplit(":", 2)[0]: str(v) for v in api["volumes"]}
    tls_mounts = [with_defaults(str(v)).split(":") for v in tls["volumes"]]
    assert [m[0] for m in tls_mounts if m[1] == folder] == ["api-tls"]
    assert api_mounts["api-tls"].endswith(f"{folder}:ro")
    assert api["depends_on"]["tls-cert"]["condition"] == "service_completed_successfully"
    assert tls["entrypoint"][-1] == "/linli/tls/make-cert.sh"
    assert ["./deploy/tls", "/linli/tls", "ro"] in tls_mounts
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert folder in dockerfile, "the image makes the folder, owned by the service's user"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl here")
def test_the_certificate_script_makes_a_certificate_once(tmp_path: Path) -> None:
    script = ROOT / "deploy/tls/make-cert.sh"
    env = {"PATH": os.environ["PATH"], "TLS_DIR": str(tmp_path),
           "TLS_NAMES": "linli.example.org,127.0.0.1,::1"}
    subprocess.run(["sh", str(script)], env=env, check=True, timeout=60, capture_output=True)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    assert key.stat().st_mode & 0o077 == 0, "the key is readable by its owner only"
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    assert "DNS:linli.example.org" in text and "IP Address:127.0.0.1" in text
    made = cert.read_bytes()
    subprocess.run(["sh", str(script)], env=env, check=True, timeout=60, capture_output=True)
    assert cert.read_bytes() == made, "an existing certificate is kept"


def test_the_image_runs_as_an_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", dockerfile, re.MULTILINE)
    assert stages and stages[-1][0].startswith("python:3.11-slim"), "the image is Python's"
    # Node only builds the web UI; its output alone is copied into the Python stages.
    assert all(image.startswith("python:3.11-slim") or (image.startswith("node:") and name == "web")
               for image, name in stages)
    assert re.search(r"^COPY --from=web \S+/api/ui \./api/ui$", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"pip (install|wheel)\b.*\s\.(\s|$)", dockerfile)
    ignored = (ROOT / ".dockerignore").read_text("utf-8").split()
    assert ".env" in ignored and ".git" in ignored
