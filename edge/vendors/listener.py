"""A small HTTP listener for terminals that push their events to the agent.

The terminal POSTs each event (and, when configured, heartbeats) to a URL on the agent.
The listener checks the path and, when credentials are configured, digest
authentication; reads the body within a size cap; hands it to the source; and answers
with the status the source returns — 200 only once the events are in the spool, so a
terminal retries what the agent could not store. A handler that fails answers 500 and
the listener goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from edge.vendors.config import Listen
from edge.vendors.digest import DigestVerifier

__all__ = ["PushListener", "PushRequest"]

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 30.0
"""A client that sends nothing for this long is dropped (no thread held forever)."""


@dataclass(frozen=True, slots=True)
class PushRequest:
    """One pushed request: its path, headers (lower-cased names), body and sender."""

    path: str
    headers: Mapping[str, str]
    body: bytes
    client: str


PushHandler = Callable[[PushRequest], int]


class PushListener:
    """Serves ``POST {path}`` on ``listen`` in threads of its own until ``close``."""

    def __init__(self, listen: Listen, path: str, handle: PushHandler, *,
                 auth: DigestVerifier | None = None, max_body_bytes: int = 4 * 1024 * 1024,
                 name: str = "push") -> None:
        self.path = path
        self._server = ThreadingHTTPServer(listen, _handler_class(path, handle, auth,
                                                                  max_body_bytes, name))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True,
                                        name=f"edge-listen-{name}")

    @property
    def port(self) -> int:
        """The port actually bound (useful when asked for port 0)."""
        return int(self._server.server_address[1])

    def start(self) -> PushListener:
        """Start serving in the background."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()


def _handler_class(path: str, handle: PushHandler, auth: DigestVerifier | None,
                   max_body: int, name: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = REQUEST_TIMEOUT_S
        server_version = "linli-edge"
        sys_version = ""

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._reply(405, b"POST events here\n")

        def _serve(self) -> None:
            # the body is read before any answer, so a kept-alive connection stays in step
            length = self.headers.get("Content-Length")
            if length is None or not length.strip().isdigit():
                self.close_connection = True
                self._reply(411, b"Content-Length required\n")
                return
            if int(length) > max_body:
                self.close_connection = True
                self._reply(413, f"at most {max_body} bytes\n".encode())
                return
            body = self.rfile.read(int(length))
            if self.path.split("?", 1)[0] != path:
                self._reply(404, b"no such path\n")
                return
            if auth is not None:
                verdict = auth.verify(self.command, self.path, self.headers.get("Authorization"))
                if not verdict.ok:
                    log.info("%s: push from %s refused: %s", name, self.client_address[0],
                             verdict.reason)
                    self._reply(401, b"", {"WWW-Authenticate": auth.challenge(stale=verdict.stale)})
                    return
            request = PushRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                                  body, self.client_address[0])
            try:
                status = handle(request)
            except Exception:
                log.exception("%s: handling a push of %d bytes from %s failed", name, len(body),
                              self.client_address[0])
                status = 500
            self._reply(status, b"")

        def _reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s: %s", name, format % args)

    return Handler
