"""Private PostgreSQL and Mosquitto servers on free loopback ports in temporary folders.

Used by ``linli demo`` when no database or broker is configured, and by the test suite.
Never touches the machine's shared servers. PostgreSQL refuses to run as root, so when we
are root the server runs as the ``postgres`` user in a folder it owns.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from linli.errors import ServiceError

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise ServiceError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s")


def _postgres_bindir() -> Path:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    raise ServiceError("PostgreSQL server binaries (initdb) not found: apt-get install postgresql")


def _version_key(path: str) -> int:
    digits = path.split("/")[4]
    return int(digits) if digits.isdigit() else 0


class EmbeddedPostgres:
    """A throw-away PostgreSQL cluster. ``start()``, ``url(dbname)``, ``stop()``."""

    def __init__(self, base_dir: Path | None = None, port: int | None = None) -> None:
        self.bindir = _postgres_bindir()
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="linli-pg-"))
        self.data_dir = self.base_dir / "data"
        self.port = port or free_port()
        self._as_postgres = os.geteuid() == 0
        self._user = "postgres" if self._as_postgres else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> None:
        kwargs: dict[str, Any] = {"capture_output": True, "text": True}
        if self._as_postgres:
            kwargs.update(user="postgres", group="postgres")
        result = subprocess.run([str(self.bindir / args[0]), *args[1:]], **kwargs, check=False)
        if result.returncode != 0:
            raise ServiceError(f"{args[0]} failed: {(result.stderr or result.stdout).strip()}")

    def start(self) -> EmbeddedPostgres:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.base_dir, "postgres", "postgres")
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync", "--locale=C")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base_dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data_dir), "-w", "-l", str(self.base_dir / "log"),
                  "-o", options, "start")
        log.info("private PostgreSQL on 127.0.0.1:%d (%s)", self.port, self.base_dir)
        return self

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(ServiceError):
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def cleanup(self) -> None:
        # The data is deleted next: no need for a shutdown checkpoint of every database
        # written (a test run's server holds hundreds).
        self.stop("immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)


class EmbeddedMosquitto:
    """A private Mosquitto broker with persistence, restartable on the same port."""

    def __init__(self, base_dir: Path | None = None, port: int | None = None,
                 extra_config: str = "") -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise ServiceError("mosquitto not found: apt-get install mosquitto")
        self.binary = binary
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="linli-mqtt-"))
        self.port = port or free_port()
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {self.base_dir}/",
            # The defaults drop QoS 1 messages to a subscriber that falls behind.
            "max_queued_messages 0",
            "max_inflight_messages 0",
            "autosave_interval 30",
            "log_type error",
            "log_type warning",
            f"log_dest file {self.base_dir}/mosquitto.log",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        config = self.base_dir / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n" + self.extra_config + "\n")
        return config

    def start(self) -> EmbeddedMosquitto:
        config = self._write_config()
        self.process = subprocess.Popen(
            [self.binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for_port(self.port)
        except ServiceError:
            self.process.kill()
            err = self.process.stderr.read().decode() if self.process.stderr else ""
            raise ServiceError(f"mosquitto did not start: {err.strip()}") from None
        log.info("private Mosquitto on 127.0.0.1:%d", self.port)
        return self

    def stop(self) -> None:
        """Stop gracefully: Mosquitto writes its persistence file on SIGTERM."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)
