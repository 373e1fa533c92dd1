"""``linli db migrate``: apply the numbered SQL migrations, forward-only."""

from __future__ import annotations

import argparse
from typing import Any

from linli.db import migrate
from linli.settings import Settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="database administration")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    migrate_parser = actions.add_parser("migrate", help="apply pending migrations")
    migrate_parser.set_defaults(run=run_migrate)


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    done = migrate(settings.require_database_url())
    for line in done or ["nothing to do: the schema is current"]:
        print(line)
    return 0
