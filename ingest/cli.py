"""``linli ingest``: store events and device status from MQTT in the database."""

from __future__ import annotations

import argparse
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linli.settings import Settings

__all__ = ["add_parser", "run", "run_ingest"]


def add_parser(subparsers: Any) -> None:
    """Register the ``ingest`` subcommand."""
    parser = subparsers.add_parser(
        "ingest",
        help="store events and device status from MQTT in the database",
        description="Consume linli/v1/+/+/+/events (shared subscription) and device status "
        "topics; store them in PostgreSQL. Needs LINLI_DATABASE_URL and LINLI_MQTT_URL. "
        "SIGTERM stores and acknowledges what is held, then disconnects.",
    )
    parser.add_argument("--retire", action="store_true",
                        help="wind this replica (its ingest.client_id) down for good: store "
                             "what the broker kept for it, leave the shared group, end its "
                             "session, exit. Run it when removing a replica, or the broker "
                             "keeps dealing it events until the session expires.")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run until SIGTERM or SIGINT."""
    from linli.runtime import install_stop_handlers

    settings.require_database_url()
    settings.require_mqtt_url()
    stop = install_stop_handlers()
    if args.retire:
        from ingest.service import run_ingest as serve

        serve(settings, stop, retire=True)
    else:
        run_ingest(settings, stop)
    return 0


def run_ingest(settings: Settings, stop: threading.Event,
               ready: threading.Event | None = None) -> None:
    """Run ingest in this thread until ``stop`` is set; ``ready`` is set once subscribed.

    For tests and benchmarks; ``ingest.service.run_ingest`` also takes a stats object.
    """
    from ingest.service import run_ingest as serve

    serve(settings, stop, ready)
