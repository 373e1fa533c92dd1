"""The notifier through Apprise to a real local HTTP receiver: text, retries, failure, secrets."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from linli.settings import Settings
from rules.engine import evaluate_community
from rules.notifier import Notifier
from tests.integration.test_rules_engine import NOW, Db, seed, timeline


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: answers each POST with the next status code."""

    port: int
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"


@contextlib.contextmanager
def serve_receiver() -> Iterator[Receiver]:
    """Run a Receiver on a free loopback port for the length of the block."""
    state = Receiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append({"path": self.path, "json": json.loads(body)})
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_receiver() as state:
        yield state


def push_settings(make_settings: Callable[..., Settings], **push: Any) -> Settings:
    values = {"backoff_initial_s": 1.0, "backoff_max_s": 60.0, "timeout_s": 5.0} | push
    # The seeded resident was not seen today: the day rule alerts (tests/…/test_rules_engine).
    return make_settings(push=values, rules={"silence": {"detector": "day"}})


def notification_rows(db: Db) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM notifications ORDER BY id").fetchall()


def attempts(db: Db, notification_id: int) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM notification_attempts WHERE notification_id = %s"
                      " ORDER BY id", (notification_id,)).fetchall()


def test_push_reaches_a_real_receiver_in_chinese(
    db: Db, receiver: Receiver, make_settings: Callable[..., Settings]
) -> None:
    seed(db, worker_urls=[receiver.url("w-01")])
    settings = push_settings(make_settings)
    evaluate_community(db, "juxin", settings, NOW)
    deliveries = Notifier(settings.push).run_due(db, NOW)
    assert [d.status for d in deliveries] == ["sent"]
    [got] = receiver.received
    assert got["path"] == "/w-01"
    assert got["json"]["title"] == "【邻里】独居老人今日未出现"
    for expected in ("张桂英", "1栋1单元101室", "11月21日 22:30", "紧急联系人电话请点击下方链接查看",
                     "通过下方链接确认和反馈"):
        assert expected in got["json"]["message"]
    # No phone of the resident or their contacts; the link to the alert comes last.
    assert "13800000001" not in got["json"]["message"]
    assert "13900000002" not in got["json"]["message"]
    [token] = [r["token"] for r in db.execute("SELECT token FROM alert_links").fetchall()]
    assert got["json"]["message"].splitlines()[-1] == (
        f"查看详情并反馈：http://127.0.0.1:8000/go/{token}")
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 1, NOW)
    assert [a["ok"] for a in attempts(db, row["id"])] == [True]
    assert timeline(db, row["alert_id"])[-1]["action"] == "notified"
    assert Notifier(settings.push).run_due(db, NOW + dt.timedelta(hours=1)) == []


def test_a_receiver_failing_twice_gets_three_attempts_then_sent(
    db: Db, receiver: Receiver, make_settings: Callable[..., Settings]
) -> None:
    receiver.statuses = [500, 500]
    seed(db, worker_urls=[receiver.url()])
    settings = push_settings(make_settings)
    evaluate_community(db, "juxin", settings, NOW)
    notifier = Notifier(settings.push)
    assert [d.status for d in notifier.run_due(db, NOW)] == ["pending"]
    [row] = notification_rows(db)
    first_retry = row["next_attempt_at"] - NOW
    assert dt.timedelta(seconds=0.5) <= first_retry <= dt.timedelta(seconds=1)
    assert notifier.run_due(db, NOW) == []  # not due yet
    assert [d.status for d in notifier.run_due(db, NOW + dt.timedelta(seconds=1))] == ["pending"]
    [row] = notification_rows(db)
    second_retry = row["next_attempt_at"] - (NOW + dt.timedelta(seconds=1))
    assert dt.timedelta(seconds=1) <= second_retry <= dt.timedelta(seconds=2)
    assert [d.status for d in notifier.run_due(db, NOW + dt.timedelta(minutes=1))] == ["sent"]
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    tries = attempts(db, row["id"])
    assert [a["ok"] for a in tries] == [False, False, True]
    assert all("500" in a["error"] for a in tries[:2])
    assert all(a["duration_ms"] >= 0 for a in tries)
    assert len(receiver.received) == 3


def test_after_max_attempts_the_notification_fails_with_a_timeline_entry(
    db: Db, receiver: Receiver, make_settings: Callable[..., Settings]
) -> None:
    receiver.statuses = [500] * 10
    seed(db, worker_urls=[receiver.url()])
    settings = push_settings(make_settings, max_attempts=3)
    evaluate_community(db, "juxin", settings, NOW)
    notifier = Notifier(settings.push)
    statuses = [d.status for hour in range(5)
                for d in notifier.run_due(db, NOW + dt.timedelta(hours=hour))]
    assert statuses == ["pending", "pending", "failed"]
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert len(attempts(db, row["id"])) == 3
    last = timeline(db, row["alert_id"])[-1]
    assert last["action"] == "notify_failed" and "3" in last["note"]


def test_one_bad_url_does_not_stop_the_others(
    db: Db, receiver: Receiver, make_settings: Callable[..., Settings]
) -> None:
    seed(db, worker_urls=["nosuchscheme://whatever", "json://127.0.0.1:1/closed",
                          receiver.url("good")])
    settings = push_settings(make_settings)
    evaluate_community(db, "juxin", settings, NOW)
    # An unknown scheme fails for good, a closed port is retried later, the good one is sent.
    deliveries = Notifier(settings.push).run_due(db, NOW)
    assert [d.status for d in deliveries] == ["failed", "pending", "sent"]
    assert "not a usable notify URL" in (deliveries[0].error or "")
    assert [r["path"] for r in receiver.received] == ["/good"]


def test_a_removed_url_fails_for_good(
    db: Db, receiver: Receiver, make_settings: Callable[..., Settings]
) -> None:
    seed(db, worker_urls=[receiver.url()])
    settings = push_settings(make_settings)
    evaluate_community(db, "juxin", settings, NOW)
    db.execute("UPDATE grid_workers SET notify_urls = '{}' WHERE id = 'w-01'")
    [delivery] = Notifier(settings.push).run_due(db, NOW)
    assert delivery.status == "failed" and delivery.error == "notify URL no longer configured"
    assert receiver.received == []


def test_the_url_secret_never_reaches_the_database_or_the_logs(
    db: Db, receiver: Receiver, make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ("S3cretPw", "T0KEN-9f8e7d", "QWERTY123")
    good = f"json://admin:{secrets[0]}@127.0.0.1:{receiver.port}/{secrets[1]}?token={secrets[2]}"
    refused = f"json://admin:{secrets[0]}@127.0.0.1:1/{secrets[1]}?token={secrets[2]}"
    receiver.statuses = [500]
    seed(db, worker_urls=[good, refused])
    settings = push_settings(make_settings, max_attempts=2)
    evaluate_community(db, "juxin", settings, NOW)
    notifier = Notifier(settings.push)
    for minute in range(4):
        notifier.run_due(db, NOW + dt.timedelta(minutes=minute))
    rows = notification_rows(db)
    assert [r["status"] for r in rows] == ["sent", "failed"]
    assert len(receiver.received) == 2  # the secret path was really used
    stored = json.dumps([rows, db.execute("SELECT * FROM notification_attempts").fetchall(),
                         db.execute("SELECT * FROM alert_timeline").fetchall(),
                         db.execute("SELECT details FROM alerts").fetchall()], default=str)
    assert "Connection" in stored or "connection" in stored  # the refused error was kept
    for secret in secrets:
        assert secret not in stored
        assert secret not in caplog.text
    assert {r["channel"] for r in rows} == {f"json://127.0.0.1:{receiver.port}",
                                            "json://127.0.0.1:1"}
    assert "failed" in caplog.text  # the failures were logged, only without the secret
