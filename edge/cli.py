"""``linli edge --config AGENT.yaml``: run a building's edge agent (``--check`` only validates)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linli.settings import Settings


def add_parser(subparsers: Any) -> None:
    """Register the ``edge`` subcommand."""
    parser = subparsers.add_parser(
        "edge",
        help="run a building's edge agent (doors and cameras → spool → MQTT)",
        description="Read the building's door terminals, controller logs and cameras, and "
                    "publish their events to the broker (LINLI_MQTT_URL), spooling them on "
                    "disk until acknowledged.",
    )
    # dest differs from the top-level --config (the settings file), which it would overwrite
    parser.add_argument("--config", dest="agent_config", type=Path, metavar="AGENT.yaml",
                        help="agent configuration (default: settings edge.config, "
                             "LINLI_EDGE__CONFIG)")
    parser.add_argument("--check", action="store_true",
                        help="validate the agent configuration and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Load the agent configuration and run the agent until SIGTERM or SIGINT."""
    from edge.agent import run_agent, spool_path
    from edge.config import agent_config_path, load_agent_config
    from linli.runtime import install_stop_handlers

    path = agent_config_path(args.agent_config, settings)
    config = load_agent_config(path)
    if args.check:
        print(f"{path}: ok ({len(config.sources)} sources; spool "
              f"{spool_path(config, settings)})")
        return 0
    settings.require_mqtt_url()
    run_agent(config, settings, install_stop_handlers())
    return 0
