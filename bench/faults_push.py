"""Fault scenario: a slow push receiver and a rules crash (SIGKILL) in the middle of a push.

Starts its own PostgreSQL (``linli.embedded``), a webhook receiver (``linli.webhook``) that
answers every push only after ``--delay`` seconds (longer than Apprise's own 4 s default read
timeout, shorter than ``push.timeout_s``), queues ``--pushes`` notifications to it and runs
the rules service's notifier as a real process. While the receiver holds the
``--crash-at``-th push unanswered, the process is killed with SIGKILL; it is started again and
runs until every push is sent or failed. Then prints one line::

    fault=push-crash sent=<n> received=<n> distinct_keys=<n> doubled=<n> lost=<n> repeats=<n> unknown=<n>

``sent``: notifications the database says were sent; ``received``: requests that reached the
receiver; ``distinct_keys``: distinct ``Idempotency-Key`` headers among them; ``doubled``:
repeats the receiver could not recognise (a request with no key whose push it already had);
``lost``: queued pushes whose key never arrived; ``repeats``: requests carrying a key already
seen (the one in flight at the crash is sent again, same key: a receiver drops it);
``unknown``: attempts the restarted notifier found unfinished and marked "outcome unknown".
Exit status 1 when anything was lost or doubled.

    python -m bench.faults_push [--pushes 4] [--timeout 6] [--delay 5] [--crash-at 2]

``python -m bench.faults_push --notifier`` is the process it kills: the rules service
(``rules.service.run_rules``, as ``linli rules`` runs it) with no rules, so only the notifier
acts; settings from the ``LINLI_`` environment. The integration tests run it too.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from linli.db import migrate
from linli.embedded import EmbeddedPostgres
from linli.webhook import Delivery, WebhookReceiver

COMMUNITY = "faults"
WORKER = "w-push"
ROOT = Path(__file__).resolve().parents[1]


def run_notifier() -> None:
    """The rules service without rules until SIGTERM (``--notifier``)."""
    from linli.logs import setup_logging
    from linli.settings import load_settings
    from rules.service import run_rules

    settings = load_settings(None)
    setup_logging(settings.log_level)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_rules(settings, stop, rules=[])


def notifier_env(database_url: str, *, timeout_s: float, max_attempts: int = 6,
                 backoff_s: float = 0.5) -> dict[str, str]:
    """The environment of a ``--notifier`` process."""
    return os.environ | {
        "LINLI_DATABASE_URL": database_url, "LINLI_PUSH__TIMEOUT_S": str(timeout_s),
        "LINLI_PUSH__MAX_ATTEMPTS": str(max_attempts),
        "LINLI_PUSH__BACKOFF_INITIAL_S": str(backoff_s),
        "LINLI_PUSH__BACKOFF_MAX_S": str(backoff_s * 4),
        "LINLI_PUSH__POLL_INTERVAL_S": "0.2", "LINLI_RULES__INTERVAL_S": "3600",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def start_notifier(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A ``--notifier`` process, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bench.faults_push", "--notifier"],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def seed(conn: psycopg.Connection[Any], url: str, pushes: int) -> list[int]:
    """A community, one worker whose notify URL is ``url``, ``pushes`` alerts each with one
    queued notification; returns the notification ids."""
    conn.execute("INSERT INTO communities (id, name) VALUES (%s, '故障演练小区')", (COMMUNITY,))
    conn.execute("INSERT INTO grid_workers (community, id, name, role, notify_urls)"
                 " VALUES (%s, %s, '演练网格员', 'grid_worker', %s)", (COMMUNITY, WORKER, [url]))
    ids = []
    for n in range(pushes):
        alert = conn.execute(
            "INSERT INTO alerts (community, rule, subject, severity, title)"
            " VALUES (%s, 'silent_resident', %s, 'critical', %s) RETURNING id",
            (COMMUNITY, f"r-{n:04d}", f"独居老人{n}今日未出现")).fetchone()
        assert alert is not None
        row = conn.execute(
            "INSERT INTO notifications (alert_id, community, worker, url_index, channel, title,"
            " body, next_attempt_at) VALUES (%s, %s, %s, 0, 'json://127.0.0.1', %s, %s,"
            " now() + %s * interval '1 millisecond') RETURNING id",
            (alert["id"], COMMUNITY, WORKER, f"【邻里】独居老人{n}今日未出现",
             f"演练推送 {n}", n)).fetchone()
        assert row is not None
        ids.append(int(row["id"]))
    return ids


@dataclass(frozen=True, slots=True)
class Counts:
    sent: int
    received: int
    distinct_keys: int
    doubled: int
    lost: int
    repeats: int
    unknown: int

    def line(self, fault: str) -> str:
        return (f"fault={fault} sent={self.sent} received={self.received} "
                f"distinct_keys={self.distinct_keys} doubled={self.doubled} lost={self.lost} "
                f"repeats={self.repeats} unknown={self.unknown}")


def count(deliveries: list[Delivery], expected_keys: set[str], sent: int,
          unknown: int) -> Counts:
    """What the receiver saw against what was queued."""
    keys = [d.key for d in deliveries if d.key]
    unkeyed = Counter((d.path, d.body.get("title"), d.body.get("message"))
                      for d in deliveries if not d.key)
    return Counts(sent=sent, received=len(deliveries), distinct_keys=len(set(keys)),
                  doubled=sum(n - 1 for n in unkeyed.values()),
                  lost=len(expected_keys - set(keys)), repeats=len(keys) - len(set(keys)),
                  unknown=unknown)


def scenario(work: Path, *, pushes: int, timeout_s: float, delay_s: float,
             crash_at: int) -> Counts:
    pg = EmbeddedPostgres().start()
    receiver = WebhookReceiver(delay_s=delay_s).start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with psycopg.connect(pg.url(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE faults")
        url = pg.url("faults")
        migrate(url)
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            ids = seed(conn, receiver.url(f"/{WORKER}"), pushes)
            expected = {f"N-{i}" for i in ids}
            env = notifier_env(url, timeout_s=timeout_s)
            log = work / "notifier.log"
            procs.append(start_notifier(env, log))
            if 0 < crash_at <= pushes:
                # The crash_at-th request has arrived and is not answered yet: kill mid-push.
                wait_for(lambda: len(receiver.deliveries) >= crash_at,
                         30 + crash_at * (delay_s + timeout_s), "the push to crash in")
                procs[-1].send_signal(signal.SIGKILL)
                procs[-1].wait()
                procs.append(start_notifier(env, log))

            def settled() -> bool:
                row = conn.execute("SELECT count(*) AS n FROM notifications"
                                   " WHERE status = 'pending'").fetchone()
                return row is not None and row["n"] == 0

            wait_for(settled, 60 + pushes * (delay_s + 2 * timeout_s) + 5 * timeout_s,
                     "every push to be sent")
            procs[-1].send_signal(signal.SIGTERM)
            procs[-1].wait(timeout=30)
            sent = conn.execute("SELECT count(*) AS n FROM notifications"
                                " WHERE status = 'sent'").fetchone()
            unknown = conn.execute("SELECT count(*) AS n FROM notification_attempts"
                                   " WHERE error LIKE 'outcome unknown%'").fetchone()
            assert sent is not None and unknown is not None
        time.sleep(min(delay_s, 1.0))  # a request still held by the receiver is counted
        return count(list(receiver.deliveries), expected, sent["n"], unknown["n"])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        receiver.stop()
        pg.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifier", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pushes", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=6.0, help="push.timeout_s")
    parser.add_argument("--delay", type=float, default=5.0,
                        help="seconds the receiver takes to answer")
    parser.add_argument("--crash-at", type=int, default=2,
                        help="SIGKILL the notifier while this push is in flight (0: never)")
    args = parser.parse_args(argv)
    if args.notifier:
        run_notifier()
        return 0
    import tempfile

    with tempfile.TemporaryDirectory(prefix="linli-faults-push-") as tmp:
        counts = scenario(Path(tmp), pushes=args.pushes, timeout_s=args.timeout,
                          delay_s=args.delay, crash_at=args.crash_at)
    print(counts.line("push-crash" if args.crash_at else "push-slow"), flush=True)
    return 1 if counts.lost or counts.doubled else 0


if __name__ == "__main__":
    sys.exit(main())
