"""``linli rules``: the rules engine, escalation and the push notifier in one process."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from linli.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Register ``linli rules [--once]`` and ``linli rules replay``."""
    parser = subparsers.add_parser(
        "rules", help="evaluate alert rules, escalate alerts and push notifications",
        description="Evaluate every rule for every community on a schedule and when events "
                    "arrive (LISTEN linli_events), escalate unacknowledged alerts and send "
                    "push notifications. Safe to run in several copies.")
    parser.add_argument("--once", action="store_true",
                        help="evaluate, escalate and send what is due once, then exit")
    parser.set_defaults(run=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    replay = actions.add_parser(
        "replay", help="replay recorded events through storage and rules on a simulated clock",
        description="Migrate the (fresh, empty) database at LINLI_DATABASE_URL, import the "
                    "community, store the events in time order as ingest does and evaluate "
                    "the rules as the service would, on a simulated clock. Prints one JSON "
                    "object per alert change on stdout; everything else goes to stderr.")
    replay.add_argument("--community", type=Path, required=True, metavar="COMMUNITY.yaml",
                        help="the community's directory (the `linli import` format)")
    replay.add_argument("--events", type=Path, action="append", required=True,
                        metavar="EVENTS.jsonl", help="contract v1 events, one per line, any "
                        "order (repeat for more files)")
    replay.add_argument("--until", type=_aware_time, metavar="ISO_TIME",
                        help="replay up to this time (default: the last event + 48 h)")
    replay.set_defaults(run=run_replay)


def _aware_time(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO time: {value!r}") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time with its offset: {value!r}")
    return moment


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    """``linli rules replay``: alert changes as JSON lines on stdout."""
    from rules.replay import replay

    replay(settings, args.community, args.events, args.until)
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the service until SIGTERM/SIGINT, or one round with ``--once``."""
    from linli.runtime import install_stop_handlers
    from rules.service import RulesService, open_pool, run_rules

    if args.once:
        pool = open_pool(settings, max_size=1)
        try:
            service = RulesService(settings, pool)
            service.tick()
            service.notify()
        finally:
            pool.close()
        return 0
    run_rules(settings, install_stop_handlers())
    return 0
