"""End-to-end helpers: Linli services run as real processes (``python -m linli.cli``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linli.webhook import WebhookReceiver


class Service:
    """One ``linli`` subcommand running as its own process, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "linli.cli", *self.args],
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to flush or say goodbye."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait for a clean exit; returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def services() -> Iterator[Callable[..., Service]]:
    """``services(name, args, env)`` starts a process; all are stopped after the test and
    their logs printed when it failed."""
    started: list[Service] = []
    log_dir = Path(tempfile.mkdtemp(prefix="linli-e2e-logs-"))

    def start(name: str, args: list[str], env: dict[str, str]) -> Service:
        full_env = {**os.environ, **env}
        service = Service(name, args, full_env, log_dir).start()
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        if service.running():
            service.stop()
    for service in started:
        print(f"----- {service.name} log -----\n{service.log()[-4000:]}")


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A local HTTP server standing in for grid workers' phones (Apprise ``json://``)."""
    server = WebhookReceiver().start()
    yield server
    server.stop()
