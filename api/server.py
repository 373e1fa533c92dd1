"""Run the API under uvicorn in a background thread: for ``linli api``, the demo and tests.

The listening socket is bound here, before uvicorn starts, so that port 0 works and the
caller learns the real port at once; ``start_in_thread`` returns when the application's
lifespan has completed and requests are being served. With ``api.tls_cert`` and
``api.tls_key`` set it serves HTTPS only (the session cookies then carry Secure).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from linli.errors import ServiceError
from linli.settings import Settings

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 30.0


class _Server(uvicorn.Server):
    """uvicorn's server, ending the live streams before it waits for connections to close:
    a stream never ends by itself, so shutdown would otherwise wait out its grace period."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        live = getattr(self._app.state, "live", None)
        if live is not None:
            live.close()
        await super().shutdown(sockets)


class ApiServer:
    """A uvicorn server running in a thread. ``port``, ``url``, ``stop()``, ``is_alive()``."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, host: str,
                 port: int, *, tls: bool = False) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port
        self.tls = tls

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8000`` (``https://`` when serving TLS)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def is_alive(self) -> bool:
        """False once the server has stopped, by request or by failure."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the requests under way, run the lifespan's shutdown, join the thread."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)


def start_in_thread(
    settings: Settings,
    *,
    app: FastAPI | None = None,
    host: str | None = None,
    port: int | None = None,
    stop: threading.Event | None = None,
) -> ApiServer:
    """Serve ``app`` (default ``create_app(settings)``) on ``host``/``port`` (default
    ``settings.api``; port 0 picks a free one) until ``stop()`` is called or ``stop`` is
    set. Returns once requests are being served."""
    app = app if app is not None else create_app(settings)
    host = host if host is not None else settings.api.host
    port = port if port is not None else settings.api.port
    tls = _tls_files(settings)
    sock = _listen(host, port)
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_config=None, lifespan="on", server_header=False,
                            timeout_graceful_shutdown=5,
                            ssl_certfile=tls[0] if tls else None,
                            ssl_keyfile=tls[1] if tls else None)
    server = _Server(config, app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="linli-api", daemon=True)
    thread.start()
    running = ApiServer(server, thread, host, bound_port, tls=tls is not None)
    _wait_started(server, thread, sock)
    if stop is not None:
        threading.Thread(target=_stop_when_set, args=(stop, running),
                         name="linli-api-stop", daemon=True).start()
    log.info("API and UI on %s", running.url)
    return running


def _tls_files(settings: Settings) -> tuple[str, str] | None:
    """``api.tls_cert`` and ``api.tls_key``, checked now so that a bad pair is one clear line."""
    cert, key = settings.api.tls_cert, settings.api.tls_key
    if cert is None or key is None:
        return None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ServiceError(f"cannot use the TLS certificate {cert} with the key {key}: "
                           f"{exc.strerror or exc}") from exc
    return str(cert), str(key)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServiceError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def _wait_started(server: uvicorn.Server, thread: threading.Thread,
                  sock: socket.socket) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise ServiceError("the API did not start; see the log above")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise ServiceError(f"the API did not start within {STARTUP_TIMEOUT_S:g}s")
        time.sleep(0.02)


def _stop_when_set(stop: threading.Event, running: ApiServer) -> None:
    while not stop.wait(0.5):
        if not running.is_alive():
            return
    running.stop()
