"""Running ``linli rules replay`` on a private PostgreSQL, one fresh database per replay.

``Replayer`` starts one throw-away PostgreSQL (``linli.embedded``, as the tests and the demo
do) and, for each replay, creates a database from ``template0``, runs the command with
``LINLI_DATABASE_URL`` pointing at it and ``LINLI_RULES__SILENCE__DETECTOR`` set, reads the
alert lines from its stdout and drops the database. The command's stderr goes to a file
next to the replay's inputs; its tail is shown when the command fails.

The command defaults to this interpreter's ``python -m linli.cli rules replay``;
``--replay-command`` replaces it (a stand-in with the same arguments, or a ``linli`` of
another checkout). The detector ``default`` leaves ``LINLI_RULES__SILENCE__DETECTOR`` unset:
the replay's own default.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import psycopg

from bench.silence.metrics import AlertLine, parse_alert_lines
from linli.embedded import EmbeddedPostgres
from linli.errors import ServiceError

__all__ = ["DEFAULT_COMMAND", "DEFAULT_DETECTOR", "ReplayError", "Replayer", "replay_available"]

DEFAULT_COMMAND = (sys.executable, "-m", "linli.cli", "rules", "replay")
DEFAULT_DETECTOR = "default"
"""Not a detector: run the replay without choosing one."""


class ReplayError(RuntimeError):
    """The replay command failed or printed something that is not an alert line."""


def replay_available(command: Sequence[str]) -> str | None:
    """None when ``command --help`` works and knows ``--community``, else why not."""
    try:
        done = subprocess.run([*command, "--help"], capture_output=True, text=True,
                              timeout=120, check=False)
    except OSError as exc:
        return str(exc)
    if done.returncode == 0:
        # argparse prints the parent command's help when the subcommand does not exist
        return None if "--community" in done.stdout else "it has no --community option"
    said = (done.stderr or done.stdout).strip().splitlines()
    return said[-1] if said else f"exit status {done.returncode}"


class Replayer:
    """One private PostgreSQL; ``replay`` may be called from several threads at once."""

    def __init__(self, command: Sequence[str] = DEFAULT_COMMAND, *,
                 timeout_s: float = 3600.0) -> None:
        self.command = list(command)
        self.timeout_s = timeout_s
        self._server: EmbeddedPostgres | None = None
        self._names = itertools.count(1)
        self._lock = threading.Lock()

    def __enter__(self) -> Replayer:
        self._server = EmbeddedPostgres().start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._server is None:
            raise ServiceError("the replayer's PostgreSQL is not running")
        return psycopg.connect(self._server.url(), autocommit=True)

    def replay(self, *, community: Path, events: Sequence[Path], until: dt.datetime,
               detector: str, workdir: Path) -> list[AlertLine]:
        """Replay ``events`` for the directory ``community`` with ``detector``."""
        with self._lock:
            name = f"bench_{os.getpid()}_{next(self._names)}"
        assert self._server is not None
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            return self._run(name, community, events, until, detector, workdir)
        finally:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _run(self, name: str, community: Path, events: Sequence[Path], until: dt.datetime,
             detector: str, workdir: Path) -> list[AlertLine]:
        assert self._server is not None
        args = [*self.command, "--community", str(community)]
        for path in events:
            args += ["--events", str(path)]
        args += ["--until", until.isoformat()]
        env = {**os.environ, "LINLI_DATABASE_URL": self._server.url(name),
               "LINLI_RULES__SILENCE__DETECTOR": detector}
        if detector == DEFAULT_DETECTOR:
            del env["LINLI_RULES__SILENCE__DETECTOR"]
        stderr_path = workdir / f"replay-{detector}.stderr"
        with stderr_path.open("w", encoding="utf-8") as stderr:
            try:
                done = subprocess.run(args, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                      env=env, timeout=self.timeout_s, check=False)
            except subprocess.TimeoutExpired as exc:
                raise ReplayError(f"replay timed out after {self.timeout_s:.0f}s: "
                                  f"{shlex.join(args)}") from exc
        if done.returncode != 0:
            tail = stderr_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            hint = ("\n(this replay cannot choose its silence detector: try --detectors "
                    f"{DEFAULT_DETECTOR})" if "detector" in tail else "")
            raise ReplayError(f"replay exited with {done.returncode}: {shlex.join(args)}\n"
                              f"{tail}{hint}")
        lines, rejected = parse_alert_lines(done.stdout)
        if rejected:
            raise ReplayError(f"replay printed {len(rejected)} lines that are not alert lines, "
                              f"e.g. {rejected[0][:200]!r}")
        return lines
