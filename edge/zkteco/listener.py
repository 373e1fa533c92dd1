"""The agent's iclock listener: one HTTP server per listening address, shared by every
PUSH terminal source that names it, each request routed by the terminal's serial number.

Several ``zkteco-push`` sources with the same ``listen`` share one server (terminals are
usually all pointed at one "server address" in their Cloud/ADMS menu): the first source to
start binds the port, the last to stop closes it. A listening port is a resource of the
whole process, so the registry of listeners is one per process (``LISTENERS``), keyed by
``(host, port)``. A request naming a serial number no source claims is refused (403), logged
and kept in the rejects file (once per serial every ten minutes, so a stray terminal
polling every few seconds does not flood it).

Whatever the installer typed before ``iclock/`` in the terminal's server address comes
first in the path (X903 firmware set to ``/adms/`` asks ``/adms//iclock/getrequest``), so
the route is what follows the last ``/iclock/``. A refused request is logged as a WARNING
naming the terminal's serial and the path (once per path every ten minutes).

Routes (old firmware appends ``.aspx``): ``GET /iclock/cdata`` handshake (``options=all``)
or heartbeat, ``POST /iclock/cdata`` uploads, ``GET /iclock/getrequest`` command polls,
``POST /iclock/devicecmd`` command results, ``GET /iclock/ping``, ``POST /iclock/registry``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 30.0
"""A terminal that sends nothing for this long mid-request is dropped."""
UNKNOWN_REJECT_EVERY_S = 600.0
MAX_UNKNOWN_SERIALS = 64
_ICLOCK_SLASHES = re.compile(r"/{2,}")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]{1,64}){0,4}$")
"""What may stand before ``/iclock/``: a few plain path segments (``/adms``)."""


class Reply(NamedTuple):
    """What the listener answers: an HTTP status and a plain-text body."""

    status: int
    text: str


class ListenerError(Exception):
    """A source cannot be served: the port cannot be bound, or its serial is taken."""


class BodyError(Exception):
    """The upload's body cannot be read; carries the status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


BodyReader = Callable[[int], bytes]
"""Reads the request body, at most the given number of bytes, or raises BodyError."""


class PushTerminal(Protocol):
    """What the listener needs from a PUSH source (``edge.zkteco.push``)."""

    @property
    def serial(self) -> str:
        """The serial number (``SN``) the terminal sends."""
        ...

    def handle(self, route: str, method: str, query: Mapping[str, str],
               read_body: BodyReader) -> Reply:
        """Answer a request of this terminal (``route`` is the path after ``/iclock/``)."""
        ...

    def refuse_unknown(self, serial: str, request: str) -> None:
        """Keep a request of an unknown terminal where an operator sees it."""
        ...

    def refused(self, request: str, reason: str) -> None:
        """A request of this terminal was refused: say so where the installer looks."""
        ...


@dataclass
class UnknownSerial:
    """A serial number that was refused: how often and when."""

    count: int = 0
    last_seen: float = 0.0
    last_kept: float = float("-inf")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    listener: PushListener


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_S
    server_version = "linli-iclock/1"
    sys_version = ""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        try:
            reply = self.server.listener.route(method, self.path, self._read_body)
        except BodyError as exc:
            log.warning("iclock %s %.200s from %s: %s", method, self.path,
                        self.client_address[0], exc)
            reply = Reply(exc.status, f"ERROR: {exc}")
            self.close_connection = True
        except Exception:
            log.exception("iclock %s %.200s from %s failed", method, self.path,
                          self.client_address[0])
            reply = Reply(500, "ERROR")
        self._send(reply)

    def _read_body(self, limit: int) -> bytes:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise BodyError(411, "no Content-Length")
        if not length_text.strip().isdigit():
            raise BodyError(400, f"bad Content-Length {length_text[:20]!r}")
        length = int(length_text)
        if length > limit:
            raise BodyError(413, f"body of {length} bytes; at most {limit}")
        try:
            body = self.rfile.read(length)
        except TimeoutError as exc:
            raise BodyError(408, "the terminal stopped sending its body") from exc
        if len(body) < length:
            raise BodyError(400, f"incomplete body: {len(body)} of {length} bytes "
                                 "(connection dropped)")
        return body

    def _send(self, reply: Reply) -> None:
        data = reply.text.encode("utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError as exc:
            # the terminal hung up before our answer: it will send the same records again
            log.info("iclock answer to %s lost: %s", self.client_address[0], exc)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("iclock %s: " + format, self.client_address[0], *args)


class PushListener:
    """One listening HTTP server and the terminals it serves, by serial number."""

    def __init__(self, address: tuple[str, int], first: PushTerminal | None = None) -> None:
        self.address = address
        self._lock = threading.Lock()
        # ``first`` is served from the first request on: a terminal that connects the moment
        # the port opens is not refused as unknown
        self._terminals: dict[str, PushTerminal] = {first.serial: first} if first else {}
        self.unknown: dict[str, UnknownSerial] = {}
        self._warned: dict[str, float] = {}
        self._server = _Server(address, _Handler)
        self._server.listener = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True,
                                        name=f"iclock-{address[0]}:{address[1]}")
        self._thread.start()
        log.info("iclock listener on %s:%d", address[0], self.port)

    @property
    def port(self) -> int:
        """The bound port (the configured one, or the one chosen for port 0)."""
        return int(self._server.server_address[1])

    def add(self, terminal: PushTerminal) -> None:
        """Serve ``terminal``'s serial number; ListenerError when another source has it."""
        with self._lock:
            other = self._terminals.get(terminal.serial)
            if other is not None and other is not terminal:
                raise ListenerError(f"serial {terminal.serial} is already served on "
                                    f"{self.address[0]}:{self.port} by another source")
            self._terminals[terminal.serial] = terminal

    def remove(self, terminal: PushTerminal) -> int:
        """Stop serving ``terminal``; returns how many terminals are left."""
        with self._lock:
            if self._terminals.get(terminal.serial) is terminal:
                del self._terminals[terminal.serial]
            return len(self._terminals)

    def served(self) -> int:
        """How many terminals this listener serves."""
        with self._lock:
            return len(self._terminals)

    def route(self, method: str, target: str, read_body: BodyReader) -> Reply:
        """Answer one request: find its terminal by ``SN`` and hand the request over."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        serial = query.get("SN", "").strip()
        path = _ICLOCK_SLASHES.sub("/", parts.path).rstrip("/").removesuffix(".aspx")
        prefix, found, route = path.rpartition("/iclock/")
        if not found or not _PREFIX.match(prefix):
            self._warn_refused(serial, method, parts.path, "not an iclock path")
            return Reply(404, "ERROR: not an iclock path")
        if not serial:
            self._warn_refused(serial, method, parts.path, "no SN in the request")
            return Reply(400, "ERROR: no SN")
        with self._lock:
            terminal = self._terminals.get(serial)
            first = next(iter(self._terminals.values()), None)
        if terminal is None:
            self._refuse(serial, f"{method} {target[:200]}", first)
            return Reply(403, "ERROR: unknown SN")
        return terminal.handle(route, method, query, read_body)

    def unknown_serials(self) -> dict[str, int]:
        """Refused serial numbers and how many requests each sent."""
        with self._lock:
            return {serial: seen.count for serial, seen in self.unknown.items()}

    def close(self) -> None:
        """Stop answering and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        log.info("iclock listener on %s:%d closed", self.address[0], self.port)

    def _warn_refused(self, serial: str, method: str, path: str, reason: str) -> None:
        with self._lock:
            terminal = self._terminals.get(serial)
        if terminal is not None:
            terminal.refused(f"{method} {path}", reason)
            return
        now = time.monotonic()
        key = f"{serial}|{path[:200]}"
        with self._lock:
            if len(self._warned) > MAX_UNKNOWN_SERIALS:
                self._warned.clear()
            if now - self._warned.get(key, float("-inf")) < UNKNOWN_REJECT_EVERY_S:
                return
            self._warned[key] = now
        log.warning("iclock %s:%d refused %s %.200s from terminal %s: %s; check the server "
                    "address set on the terminal", self.address[0], self.port, method, path,
                    serial or "(no SN)", reason)

    def _refuse(self, serial: str, request: str, keeper: PushTerminal | None) -> None:
        now = time.monotonic()
        with self._lock:
            if serial not in self.unknown and len(self.unknown) >= MAX_UNKNOWN_SERIALS:
                serial = "(others)"
            seen = self.unknown.setdefault(serial, UnknownSerial())
            seen.count += 1
            seen.last_seen = now
            keep = now - seen.last_kept >= UNKNOWN_REJECT_EVERY_S
            if keep:
                seen.last_kept = now
        if keep:
            log.error("iclock %s:%d refused a terminal with unknown serial %r (%s); add a "
                      "zkteco-push source with this serial to serve it", self.address[0],
                      self.port, serial, request)
            if keeper is not None:
                keeper.refuse_unknown(serial, request)


class ListenerRegistry:
    """The listeners of this process, by address, each shared by the sources naming it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[tuple[str, int], PushListener] = {}

    def attach(self, terminal: PushTerminal, address: tuple[str, int]) -> PushListener:
        """Serve ``terminal`` on ``address``, starting the listener if it is the first."""
        with self._lock:
            listener = self._listeners.get(address)
            if listener is None:
                try:
                    listener = PushListener(address, terminal)
                except OSError as exc:
                    raise ListenerError(f"cannot listen on {address[0]}:{address[1]}: "
                                        f"{exc}") from exc
                self._listeners[address] = listener
                return listener
            try:
                listener.add(terminal)
            except ListenerError:
                self._close_if_idle(address, listener)
                raise
            return listener

    def detach(self, terminal: PushTerminal, address: tuple[str, int]) -> None:
        """Stop serving ``terminal``; the last one out closes the listener."""
        with self._lock:
            listener = self._listeners.get(address)
            if listener is not None and listener.remove(terminal) == 0:
                self._close_if_idle(address, listener)

    def _close_if_idle(self, address: tuple[str, int], listener: PushListener) -> None:
        if listener.served() == 0:
            del self._listeners[address]
            listener.close()


LISTENERS = ListenerRegistry()
"""This process's listeners (a port is bound once per process, so is its registry)."""
