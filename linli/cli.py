"""The ``linli`` command: one subcommand per service and tool.

Each subcommand lives in its stage (``edge/cli.py``, ``ingest/cli.py`` …) as a module with
``add_parser(subparsers)``, which registers a ``run(args, settings) -> int`` function.
Settings are built once here and passed down; a LinliError ends the process with one
clear line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from linli import __version__
from linli.errors import LinliError
from linli.logs import setup_logging
from linli.settings import load_settings

# name of the module that registers each subcommand, in help order
SUBCOMMANDS = (
    "edge.cli",
    "ingest.cli",
    "rules.cli",
    "api.cli",
    "linli.dbcli",
    "linli.directory_cli",
    "linli.users_cli",
    "hardware.simulator.cli",
    "hardware.provision.cli",
    "edge.camera.cli",
    "linli.demo",
)

log = logging.getLogger("linli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linli", description="Linli (邻里): smart-community monitoring"
    )
    parser.add_argument("--version", action="version", version=f"linli {__version__}")
    parser.add_argument("--config", dest="settings_file", type=Path,
                        help="YAML settings file (else LINLI_CONFIG)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.settings_file)
        setup_logging(settings.log_level, name=args.command)
        code: int = args.run(args, settings)
        return code
    except LinliError as exc:
        print(f"linli {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
