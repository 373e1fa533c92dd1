"""``linli simulate --out DIR``: a simulated community writing door-controller logs.

Writes ``DIR/community.yaml`` (for ``linli import``), ``DIR/agents/{building}.yaml`` (for
``linli edge --config``) and ``DIR/logs/{device}.jsonl``: the past ``--history-hours`` at
once, then, with ``--follow``, new records in real time until SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from linli.errors import ConfigError
from linli.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Register the ``simulate`` subcommand."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a community: directory, edge configs and door logs",
        description="Generate a community and write the door logs its controllers would.",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for community.yaml, agents/ and logs/")
    parser.add_argument("--community", default="juxin", help="community id (default juxin)")
    parser.add_argument("--name", help="display name (default 聚鑫家园 for juxin)")
    parser.add_argument("--buildings", type=int, default=3)
    parser.add_argument("--units", type=int, default=2, help="units per building")
    parser.add_argument("--households-per-unit", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--elderly-alone", type=int, default=4,
                        help="households of one elderly resident living alone")
    parser.add_argument("--stay-in", type=int, default=1,
                        help="how many of them stop going out (silent for over 32 h)")
    parser.add_argument("--notify-base", metavar="URL",
                        help="grid workers get URL/{worker_id} as their notify URL")
    parser.add_argument("--timezone", help="community time zone (default: settings timezone)")
    parser.add_argument("--now", type=_time, metavar="TIME",
                        help="the simulation's now, ISO 8601 (default: the clock); "
                             "a time without offset is in the community's zone")
    parser.add_argument("--history-hours", type=float, default=48.0, metavar="H",
                        help="hours of past routine to write at once (default 48)")
    parser.add_argument("--follow", action="store_true",
                        help="then keep writing in real time until SIGTERM")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X",
                        help="with --follow: catch up X times faster while behind the clock")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Generate, write history, and follow if asked."""
    from hardware.simulator.community import CommunitySpec
    from hardware.simulator.run import Simulation
    from linli.contract import utc_now
    from linli.runtime import install_stop_handlers

    spec = CommunitySpec(
        community=args.community, name=args.name, buildings=args.buildings, units=args.units,
        households_per_unit=args.households_per_unit, seed=args.seed,
        elderly_alone=args.elderly_alone, stay_in=args.stay_in, notify_base=args.notify_base,
        timezone=args.timezone or settings.timezone,
    )
    if args.history_hours < 0 or args.speed <= 0:
        raise ConfigError("--history-hours must be >= 0 and --speed > 0")
    now = args.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(spec.timezone))
    if args.follow and now is not None and now > utc_now():
        raise ConfigError("--now is in the future: --follow never writes future events")
    sim = Simulation.create(spec, args.out, now=now)
    directory = sim.community.directory
    print(f"community {directory.community.id} ({directory.community.name}): "
          f"{len(directory.buildings)} buildings, {len(directory.households)} households, "
          f"{len(directory.residents)} residents, {len(directory.devices)} doors")
    print(f"directory: {sim.files.directory}")
    for building, path in sim.files.agents.items():
        print(f"edge agent {building}: {path}")
    for person in sim.stay_in_people():
        print(f"stays in: {person['id']} {person['name']} ({person['household']}), "
              f"last passage {person['last_passage']}")
    written = sim.write_history(args.history_hours)
    print(f"history: {written} records in {sim.files.logs_dir}", flush=True)
    if args.follow:
        sim.follow(install_stop_handlers(), speed=args.speed)
    return 0


def _time(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
