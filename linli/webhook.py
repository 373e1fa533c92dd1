"""A small local HTTP receiver standing in for a grid worker's push channel.

``linli demo`` points the simulated grid workers' notify URLs at it (Apprise ``json://``) and
prints what arrives; the end-to-end tests read what it received. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request the receiver got: the path (which worker) and the JSON body."""

    path: str
    body: dict[str, Any]


class WebhookReceiver:
    """Records every JSON POST; answers 200 unless ``fail_next`` says otherwise."""

    def __init__(self, on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self.fail_next = 0
        self._on_delivery = on_delivery
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status = receiver._record(self.path, raw)
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="webhook-receiver")

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "") -> str:
        """The Apprise URL that posts JSON here."""
        return f"json://127.0.0.1:{self.port}{path}"

    def _record(self, path: str, raw: bytes) -> int:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"raw": raw.decode("utf-8", "replace")}
            delivery = Delivery(path, body if isinstance(body, dict) else {"value": body})
            self.deliveries.append(delivery)
        if self._on_delivery:
            self._on_delivery(delivery)
        return 200

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
