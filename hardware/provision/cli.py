"""``linli hardware ...``: the installer's commands.

    linli hardware profiles  [--profiles DIR]
    linli hardware provision --devices FILE --out DIR [--building B] [--community C]
                             [--broker-url mqtts://HOST:8883] [--broker-dir DIR]
                             [--broker-ca CA.pem] [--client-cert [--ca-key CA.key]]
                             [--agent-dir DIR] [--rotate-password] [--check] [--profiles DIR]
    linli hardware test      --config AGENT.yaml --device DEV [--seconds N] [--wait-db]
                             [--db-only] [--follow]

Secrets (the agent's password and key, the terminals' passwords) are written to files
only, never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linli.errors import ConfigError
from linli.settings import Settings

if TYPE_CHECKING:
    from linli.mqtt import BrokerAddress


def add_parser(subparsers: Any) -> None:
    """Register ``hardware`` and its subcommands."""
    parser = subparsers.add_parser(
        "hardware", help="installer tools: device profiles, provisioning, device test",
        description="Device profiles, provisioning a building's devices and agent, and "
                    "testing a device end to end.")
    commands = parser.add_subparsers(dest="hardware_command", required=True, metavar="ACTION")

    profiles = commands.add_parser("profiles", help="list the device profiles",
                                   description="List the device profiles and any broken file; "
                                               "with FAMILY, show that profile in full.")
    profiles.add_argument("family", nargs="?", help="show this profile in full")
    _profiles_option(profiles)
    profiles.set_defaults(run=run_profiles)

    provision = commands.add_parser(
        "provision", help="register a building's devices and write its agent's files",
        description="Register the devices in the database, write the agent's configuration "
                    "and MQTT credentials, and the broker's password file and ACL.")
    provision.add_argument("--devices", type=Path, required=True, metavar="FILE",
                           help="the building's devices (YAML)")
    provision.add_argument("--out", type=Path, required=True, metavar="DIR",
                           help="writes DIR/agents/{community}-{building}.yaml and .env")
    provision.add_argument("--community", help="community id (else from the devices file)")
    provision.add_argument("--building", help="building id (else from the devices file)")
    provision.add_argument("--broker-url", metavar="URL",
                           help="where the agent reaches the broker, mqtt://host:port "
                                "(default: LINLI_MQTT_URL without its credentials)")
    provision.add_argument("--broker-dir", type=Path, metavar="DIR",
                           help="the broker's passwd and acl files (default DIR/broker); "
                                "shared by all buildings")
    provision.add_argument("--broker-ca", type=Path, metavar="CA.pem",
                           help="the CA certificate the broker's TLS certificate is signed "
                                "by (compose: ca.pem of the mqtt-tls volume); copied to "
                                "DIR/agents/mqtt-ca.pem and named in the agent's mqtts:// URL")
    provision.add_argument("--client-cert", action="store_true",
                           help="also give the agent a key and TLS client certificate "
                                "(signed with --ca-key; without it a .csr to be signed)")
    provision.add_argument("--ca-key", type=Path, metavar="CA.key",
                           help="the CA's key (compose: ca.key of the mqtt-ca volume), to "
                                "sign the client certificate; read, never copied")
    provision.add_argument("--agent-dir", type=Path, metavar="DIR",
                           help="where the agent's files will be on its machine, for the "
                                "paths in its URL (default: DIR/agents as written)")
    provision.add_argument("--rotate-password", action="store_true",
                           help="give the agent a new password (else an existing one is kept)")
    provision.add_argument("--check", action="store_true",
                           help="validate the devices file only; write nothing")
    _profiles_option(provision)
    provision.set_defaults(run=run_provision)

    test = commands.add_parser(
        "test", help="read a device as its agent would and check its events reach the database",
        description="Connect to one device with the agent's configuration (nothing is "
                    "published), show its events, and with --wait-db confirm that the running "
                    "agent's events of it arrive in the database.")
    # dest differs from the top-level --config (the settings file), which it would overwrite
    test.add_argument("--config", dest="agent_config", type=Path, required=True,
                      metavar="AGENT.yaml", help="the building's agent configuration")
    test.add_argument("--device", required=True, help="device id (a source of the agent)")
    test.add_argument("--seconds", type=float, default=30.0,
                      help="give up after this long (default 30)")
    test.add_argument("--wait-db", action="store_true",
                      help="also wait for the device's event in the database "
                           "(LINLI_DATABASE_URL; the agent and ingest must be running)")
    test.add_argument("--db-only", action="store_true",
                      help="do not connect to the device; only check the database")
    test.add_argument("--follow", action="store_true",
                      help="keep showing events until the time is up or Ctrl-C")
    test.set_defaults(run=run_test)


def _profiles_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profiles", type=Path, action="append", default=[], metavar="DIR",
                        help="also load the profiles in DIR (repeatable)")


def run_profiles(args: argparse.Namespace, settings: Settings) -> int:
    """Print one line per profile, then the broken files; 1 when any is broken."""
    from hardware.profiles import load_profiles

    catalog = load_profiles(args.profiles)
    if args.family:
        catalog.get(args.family)  # a broken or unknown profile is an error
        path = catalog.files[args.family]
        print(f"# {path}\n{path.read_text(encoding='utf-8')}", end="")
        return 0
    for family in sorted(catalog.profiles):
        profile = catalog.profiles[family]
        print(f"{family:<22} {profile.vendor:<10} {profile.protocol:<16} "
              f"{_shortened(', '.join(profile.models), 60)}")
    for problem in catalog.problems:
        print(f"BROKEN {problem}", file=sys.stderr)
    return 1 if catalog.problems else 0


def _shortened(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def run_provision(args: argparse.Namespace, settings: Settings) -> int:
    """Validate, register, write; print what was done (no secrets)."""
    from hardware.profiles import load_profiles
    from hardware.provision.clientcert import AgentTls
    from hardware.provision.devices import load_devices_file, plan_building
    from hardware.provision.flow import output_paths, provision
    from linli.db import connect

    catalog = load_profiles(args.profiles)
    devices = load_devices_file(args.devices)
    plan = plan_building(devices, catalog, community=args.community, building=args.building,
                         origin=str(args.devices))
    if args.check:
        print(f"{args.devices}: valid — {plan.community}/{plan.building}, "
              f"{len(plan.agent.sources)} sources")
        return 0
    broker = _agent_broker(args.broker_url, settings)
    ca_cert = args.broker_ca or (Path(broker.cafile) if broker.cafile else None)
    tls = AgentTls(ca_cert=ca_cert, client_cert=args.client_cert, ca_key=args.ca_key,
                   agent_dir=args.agent_dir)
    tls.check(tls=broker.tls)
    paths = output_paths(args.out, plan.community, plan.building, args.broker_dir)
    with connect(settings.require_database_url()) as conn:
        result = provision(conn, plan, paths, broker=broker, rotate=args.rotate_password,
                           origin=args.devices.name, tls=tls)
    if result.devices is not None:
        counts = result.devices
        print(f"devices of {plan.community}/{plan.building}: {len(plan.devices)} registered "
              f"({counts.inserted} new, {counts.updated} updated, {counts.unchanged} unchanged)")
    print(f"agent configuration: {paths.agent_config}")
    print(f"agent credentials:   {paths.agent_env} (MQTT user {result.username}, "
          f"password {result.password}; keep this file secret)")
    if not broker.tls:
        print("warning: the agent's URL is plain mqtt://: its password crosses the network "
              "unencrypted; use --broker-url mqtts://HOST:8883 --broker-ca CA.pem",
              file=sys.stderr)
    if result.client_cert == "request":
        print(f"client certificate:  not signed: have {paths.agent_config.with_suffix('.csr')} "
              "signed by the broker's CA, save it as "
              f"{paths.agent_config.with_suffix('.crt')} and provision again")
    elif result.client_cert is not None:
        print(f"client certificate:  {paths.agent_config.with_suffix('.crt')} "
              f"({result.client_cert}; key {paths.agent_config.with_suffix('.key')}, secret)")
    print(f"broker files:        {paths.passwd}, {paths.acl} ({result.agents_in_acl} agents)")
    if paths.passwd in result.changed or paths.acl in result.changed:
        print("broker files changed: install them and reload Mosquitto (kill -HUP)")
    else:
        print("broker files unchanged")
    return 0


def _agent_broker(url: str | None, settings: Settings) -> BrokerAddress:
    from linli.mqtt import BrokerAddress, parse_broker_url

    if url is None:
        if settings.mqtt_url is None:
            raise ConfigError("no broker address for the agent: pass --broker-url "
                              "mqtt://host:port or set LINLI_MQTT_URL")
        found = parse_broker_url(settings.require_mqtt_url())
        return BrokerAddress(found.host, found.port, found.tls, cafile=found.cafile)
    found = parse_broker_url(url)
    if found.username or found.password:
        raise ConfigError("--broker-url must not carry credentials: the agent gets its own")
    if found.certfile:
        raise ConfigError("--broker-url must not name a client certificate: use --client-cert")
    return found


def run_test(args: argparse.Namespace, settings: Settings) -> int:
    """Test one device of an agent configuration."""
    from edge.config import load_agent_config
    from hardware.provision.devicetest import DeviceTestOptions, run_device_test
    from linli.runtime import install_stop_handlers

    if args.seconds <= 0:
        raise ConfigError("--seconds must be > 0")
    config = load_agent_config(args.agent_config)
    options = DeviceTestOptions(seconds=args.seconds, wait_db=args.wait_db,
                                db_only=args.db_only, follow=args.follow)
    return run_device_test(config, args.device, settings, options, sys.stdout,
                           install_stop_handlers())
