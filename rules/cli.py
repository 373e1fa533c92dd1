"""``linli rules``: the rules engine, escalation and the push notifier in one process."""

from __future__ import annotations

import argparse
from typing import Any

from linli.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Register ``linli rules [--once]``."""
    parser = subparsers.add_parser(
        "rules", help="evaluate alert rules, escalate alerts and push notifications",
        description="Evaluate every rule for every community on a schedule and when events "
                    "arrive (LISTEN linli_events), escalate unacknowledged alerts and send "
                    "push notifications. Safe to run in several copies.")
    parser.add_argument("--once", action="store_true",
                        help="evaluate, escalate and send what is due once, then exit")
    parser.set_defaults(run=run)


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
