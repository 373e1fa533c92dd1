"""What the simulated HTTP terminals share: a threaded HTTP server that authenticates like
the devices do (digest, MD5, ``qop=auth``), a device clock that may be set off, and
long-lived multipart event streams that the test can feed, cut in the middle of a part,
or drop — over real sockets, so the agent's real HTTP client is what gets tested.

A device can also go "offline": open streams end and new connections are closed without
an answer, while the device keeps recording — as when the network between the agent and
the terminal fails.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import queue
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from edge.vendors.digest import DigestVerifier
from linli.contract import utc_now

__all__ = ["DeviceHandler", "SimulatedDevice"]

MAX_REQUEST_BODY = 1 << 20
_CLOSE = ("close", b"")


class DeviceHandler(BaseHTTPRequestHandler):
    """One request to a simulated device; the device decides what to answer."""

    protocol_version = "HTTP/1.1"
    server_version = "App-webs/"
    sys_version = ""
    device: SimulatedDevice
    request_body: bytes = b""

    def do_GET(self) -> None:
        self.device.handle(self)

    def do_POST(self) -> None:
        self.device.handle(self)

    def do_PUT(self) -> None:
        self.device.handle(self)

    @property
    def route(self) -> str:
        """The request path without its query."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (last value wins)."""
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    def reply(self, status: int, body: bytes = b"", content_type: str = "text/plain",
              headers: dict[str, str] | None = None) -> None:
        """A complete response with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, from the device's own (possibly wrong) clock."""
        return email.utils.format_datetime(self.device.device_now().astimezone(dt.UTC),
                                           usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the device's ``requests`` instead."""


class SimulatedDevice(ABC):
    """Base of the simulated terminals: server, authentication, clock, streams."""

    realm = "simulated-device"

    def __init__(self, *, username: str = "admin", password: str = "sim-Passw0rd",
                 host: str = "127.0.0.1", port: int = 0, heartbeat_s: float = 10.0,
                 zone: str = "Asia/Shanghai", clock_offset_s: float = 0.0) -> None:
        self.host = host
        self.username = username
        self.password = password
        self.heartbeat_s = heartbeat_s
        self.zone = ZoneInfo(zone)
        self.clock_offset_s = clock_offset_s
        self.online = True
        self.requests: list[tuple[str, str]] = []
        self.auth_failures = 0
        self.verifier = DigestVerifier(self.realm, {username: password})
        handler = type("Handler", (DeviceHandler,), {"device": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._streams: dict[object, queue.Queue[tuple[str, bytes]]] = {}
        # re-entrant: a device records an event and broadcasts it under one hold, so a
        # stream opening at that moment gets it either in its history or live, never neither
        self.lock = threading.RLock()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name=f"sim-{type(self).__name__}")

    # -- life ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the device listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Serve in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the streams and stop serving."""
        self.drop_streams()
        self._server.shutdown()
        self._server.server_close()

    def device_now(self) -> dt.datetime:
        """What the device's clock says, in its zone."""
        return (utc_now() + dt.timedelta(seconds=self.clock_offset_s)).astimezone(self.zone)

    def set_online(self, online: bool) -> None:
        """Take the device off the network (streams end, connections refused) or back."""
        self.online = online
        if not online:
            self.drop_streams()

    # -- streams ---------------------------------------------------------------------------

    @property
    def stream_count(self) -> int:
        """How many event streams are open."""
        with self.lock:
            return len(self._streams)

    def broadcast(self, data: bytes, *, cut: bool = False) -> None:
        """Write ``data`` to every open stream; ``cut``: write half, then drop the stream."""
        with self.lock:
            keys = list(self._streams)
        for key in keys:
            self.send_to(key, data, cut=cut)

    def send_to(self, key: object, data: bytes, *, cut: bool = False) -> None:
        """Write ``data`` to the stream registered under ``key`` (if still open)."""
        with self.lock:
            stream = self._streams.get(key)
        if stream is not None:
            stream.put(("cut" if cut else "data", data))

    def drop_streams(self) -> None:
        """End every open stream (the connection closes cleanly)."""
        with self.lock:
            streams = list(self._streams.values())
        for stream in streams:
            stream.put(_CLOSE)

    def serve_stream(self, handler: DeviceHandler, content_type: str,
                     opening: Callable[[], Sequence[bytes]], heartbeat: Callable[[], bytes],
                     heartbeat_s: float | None = None, stream_key: object = None) -> None:
        """Hold ``handler``'s response open as a multipart stream: the ``opening`` parts
        first (replayed history), then whatever is broadcast (or sent to ``stream_key``),
        and a heartbeat when idle."""
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        stream: queue.Queue[tuple[str, bytes]] = queue.Queue()
        key = stream_key if stream_key is not None else stream
        with self.lock:
            self._streams[key] = stream
            parts = list(opening())
        try:
            for part in parts:
                handler.wfile.write(part)
            handler.wfile.flush()
            self._pump(handler, stream, heartbeat, heartbeat_s or self.heartbeat_s)
        except OSError:
            pass  # the client went away
        finally:
            with self.lock:
                self._streams.pop(key, None)

    def _pump(self, handler: DeviceHandler, stream: queue.Queue[tuple[str, bytes]],
              heartbeat: Callable[[], bytes], every: float) -> None:
        while True:
            try:
                kind, data = stream.get(timeout=every)
            except queue.Empty:
                handler.wfile.write(heartbeat())
                handler.wfile.flush()
                continue
            if kind == "close":
                return
            if kind == "cut":
                handler.wfile.write(data[:len(data) // 2])
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            handler.wfile.write(data)
            handler.wfile.flush()

    # -- requests --------------------------------------------------------------------------

    def handle(self, handler: DeviceHandler) -> None:
        """Authenticate, then let the device answer (or stay silent while offline)."""
        length = handler.headers.get("Content-Length", "0")
        size = int(length) if length.isdigit() else 0
        handler.request_body = handler.rfile.read(min(size, MAX_REQUEST_BODY)) if size else b""
        if not self.online:
            handler.close_connection = True
            return
        with self.lock:
            self.requests.append((handler.command, handler.path))
        verdict = self.verifier.verify(handler.command, handler.path,
                                       handler.headers.get("Authorization"))
        if not verdict.ok:
            if handler.headers.get("Authorization"):
                self.auth_failures += 1
            handler.reply(401, b"", headers={
                "WWW-Authenticate": self.verifier.challenge(stale=verdict.stale)})
            return
        self.answer(handler)

    @abstractmethod
    def answer(self, handler: DeviceHandler) -> None:
        """Answer one authenticated request."""
