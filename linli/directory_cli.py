"""``linli import FILE``: load a community directory YAML into the database.

``--check`` only validates the file (no database needed). The summary printed counts rows
per table; notify URLs (secrets) are never printed. Accounts made for new staff are listed
with their initial passwords, this once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linli.settings import Settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import a community directory (places, people, devices) from YAML",
        description="Upsert a community directory file; importing it twice changes nothing.",
    )
    parser.add_argument("file", type=Path, help="directory YAML (community, grids, buildings…)")
    parser.add_argument(
        "--check", action="store_true", help="validate the file only; do not touch the database"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from linli.db import connect
    from linli.directory import import_directory, load_directory

    directory = load_directory(args.file)
    if args.check:
        print(
            f"{args.file}: valid — community {directory.community.id}, "
            f"{len(directory.buildings)} buildings, {len(directory.households)} households, "
            f"{len(directory.residents)} residents, {len(directory.grid_workers)} staff, "
            f"{len(directory.devices)} devices"
        )
        return 0
    with connect(settings.require_database_url()) as conn:
        summary = import_directory(conn, directory)
    for line in summary.lines() + summary.account_lines():
        print(line)
    return 0
