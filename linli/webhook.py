"""A small local HTTP receiver standing in for a grid worker's push channel.

``linli demo`` points the simulated grid workers' notify URLs at it (Apprise ``json://``) and
prints what arrives; the end-to-end tests and ``bench/faults_push.py`` read what it received,
headers included (the notifier's ``Idempotency-Key``). It can stand in for a slow or dead
receiver too: ``delay_s`` answers late, ``hang`` never answers. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEY_HEADER = "idempotency-key"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request the receiver got: the path (which worker), the JSON body, the headers
    (names in lower case)."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str | None:
        """The notifier's idempotency key: the same on every repeat of one push."""
        return self.headers.get(KEY_HEADER)


class WebhookReceiver:
    """Records every JSON POST when it arrives; answers 200 unless ``fail_next`` says
    otherwise, after ``delay_s``, or never while ``hang`` is set (until ``stop``)."""

    def __init__(self, on_delivery: Callable[[Delivery], None] | None = None, *,
                 delay_s: float = 0.0, hang: bool = False) -> None:
        self.deliveries: list[Delivery] = []
        self.fail_next = 0
        self.delay_s = delay_s
        self.hang = hang
        self._on_delivery = on_delivery
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver._record(self.path, raw, headers)
                if receiver.hang:
                    receiver._stopping.wait()
                    return
                if receiver.delay_s > 0 and receiver._stopping.wait(receiver.delay_s):
                    return
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:  # the sender gave up waiting: that is what is tested
                    pass

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

    def keys(self) -> list[str | None]:
        """The idempotency key of each delivery, in order of arrival."""
        with self._lock:
            return [delivery.key for delivery in self.deliveries]

    def _record(self, path: str, raw: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"raw": raw.decode("utf-8", "replace")}
            delivery = Delivery(path, body if isinstance(body, dict) else {"value": body},
                                headers)
            self.deliveries.append(delivery)
        if self._on_delivery:
            self._on_delivery(delivery)
        return 200

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
