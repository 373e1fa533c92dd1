"""``linli api``: serve the HTTP API and the control-room UI."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from linli.settings import Settings

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Register ``linli api``."""
    parser = subparsers.add_parser(
        "api", help="serve the HTTP API and the control-room UI",
        description="Serve the HTTP API (/api/v1, /health, /docs) and the UI (/); HTTPS only "
                    "when settings api.tls_cert and api.tls_key are set.",
    )
    parser.add_argument("--host", help="address to listen on (default: settings api.host)")
    parser.add_argument("--port", type=int, help="port to listen on (default: settings api.port)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT; 1 if the server stops by itself."""
    from api.server import start_in_thread
    from linli.runtime import install_stop_handlers

    settings.require_database_url()
    stop = install_stop_handlers()
    server = start_in_thread(settings, host=args.host, port=args.port)
    try:
        while not stop.wait(1.0):
            if not server.is_alive():
                log.error("the API server stopped unexpectedly")
                return 1
    finally:
        server.stop()
    return 0
