"""Pushes at most once as far as the receiver can tell: one request per attempt whatever
the receiver's speed, an idempotency key on every request, the attempt recorded before the
send so a crash mid-push is seen and re-sent with the same key (a real notifier process
killed with SIGKILL), and the delivery log saying what happened."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.faults_push import notifier_env, start_notifier, wait_for
from linli.pushes import with_reference
from linli.settings import Settings
from linli.webhook import WebhookReceiver
from rules.engine import evaluate_community
from rules.notifier import SENDING, Notifier, Push, lease_s, send_with_apprise
from tests.integration.test_rules_engine import NOW, Db, seed, timeline
from tests.integration.test_rules_notifier import attempts, notification_rows, push_settings


@pytest.fixture
def slow() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


class Crash(BaseException):
    """Stands in for the process dying: nothing after the send runs."""


def queued(db: Db, settings: Settings) -> dict[str, Any]:
    evaluate_community(db, "juxin", settings, NOW)
    [row] = notification_rows(db)
    return row


def test_a_receiver_slower_than_apprises_default_gets_one_request_with_the_key(
    db: Db, slow: WebhookReceiver, make_settings: Callable[..., Settings]
) -> None:
    # Answers in timeout_s - 2 s, past Apprise's own 4 s read timeout: before, every
    # attempt timed out while the receiver still took the push, and it got it again.
    slow.delay_s = 4.5
    seed(db, worker_urls=[slow.url("/w-01")])
    settings = push_settings(make_settings, timeout_s=6.5)
    row = queued(db, settings)
    assert [d.status for d in Notifier(settings.push).run_due(db, NOW)] == ["sent"]
    [got] = slow.deliveries
    key = f"N-{row['id']}"
    assert got.key == key
    assert got.headers["x-linli-notification"] == str(row["id"])
    assert (got.body["idempotency_key"], got.body["notification_id"]) == (key, str(row["id"]))
    assert got.body["message"] == row["body"]  # a webhook carries the key outside the text
    [attempt] = attempts(db, row["id"])
    assert (attempt["ok"], attempt["error"]) == (True, None)
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)


def test_a_receiver_that_never_answers_gets_max_attempts_requests_all_with_one_key(
    db: Db, slow: WebhookReceiver, make_settings: Callable[..., Settings]
) -> None:
    slow.hang = True
    # The URL asks Apprise for retries and long timeouts: ignored, one request per attempt.
    seed(db, worker_urls=[slow.url("/w-01?retry=3&rto=60&cto=60")])
    settings = push_settings(make_settings, timeout_s=0.5, max_attempts=3)
    row = queued(db, settings)
    notifier = Notifier(settings.push)
    statuses = [d.status for hour in range(5)
                for d in notifier.run_due(db, NOW + dt.timedelta(hours=hour))]
    assert statuses == ["pending", "pending", "failed"]
    assert slow.keys() == [f"N-{row['id']}"] * 3
    tries = attempts(db, row["id"])
    assert len(tries) == 3 and not any(a["ok"] or a["error"] == SENDING for a in tries)
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"]) == ("failed", 3)


def test_a_text_only_channel_gets_the_key_as_the_last_line(
    db: Db, slow: WebhookReceiver, make_settings: Callable[..., Settings]
) -> None:
    # ntfy posts the text as JSON: nowhere but the text to put a key.
    seed(db, worker_urls=[f"ntfy://127.0.0.1:{slow.port}/linli-w01"])
    settings = push_settings(make_settings)
    row = queued(db, settings)
    assert [d.status for d in Notifier(settings.push).run_due(db, NOW)] == ["sent"]
    [got] = slow.deliveries
    lines = got.body["message"].splitlines()
    assert lines[-1] == f"编号 N-{row['id']}"
    assert "\n".join(lines[:-1]) == row["body"]
    assert got.key is None


def test_the_reference_is_in_the_recipients_language() -> None:
    assert Push(7, "t", "body", "en").key == "N-7"
    assert with_reference("body", "N-7", "en") == "body\nRef. N-7"
    assert with_reference("body", "N-7", None) == "body\n编号 N-7"


def test_a_crash_between_send_and_record_is_sent_again_with_the_same_key(
    db: Db, slow: WebhookReceiver, make_settings: Callable[..., Settings]
) -> None:
    seed(db, worker_urls=[slow.url("/w-01")])
    settings = push_settings(make_settings, timeout_s=1.0)
    row = queued(db, settings)

    def send_then_die(url: str, push: Push, timeout_s: float) -> Any:
        send_with_apprise(url, push, timeout_s)
        raise Crash

    with pytest.raises(Crash):
        Notifier(settings.push, sender=send_then_die).run_due(db, NOW)
    # What the crash left: the attempt counted and marked as sending, the row leased.
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"].startswith("sending since")
    lease = dt.timedelta(seconds=lease_s(1.0))
    assert NOW + lease <= row["next_attempt_at"] < NOW + lease + dt.timedelta(seconds=1)
    assert [a["error"] for a in attempts(db, row["id"])] == [SENDING]
    notifier = Notifier(settings.push)
    assert notifier.run_due(db, NOW + dt.timedelta(seconds=lease_s(1.0) / 2)) == []  # leased
    later = NOW + lease + dt.timedelta(seconds=1)
    assert [d.status for d in notifier.run_due(db, later)] == ["sent"]
    assert slow.keys() == [f"N-{row['id']}"] * 2
    [first, second] = attempts(db, row["id"])
    assert first["error"].startswith("outcome unknown") and not first["ok"]
    assert second["ok"] and second["error"] is None
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert "unknown" in row["last_error"] and f"N-{row['id']}" in row["last_error"]
    actions = [entry["action"] for entry in timeline(db, row["alert_id"])]
    assert actions[-2:] == ["notify_unknown", "notified"]


def test_an_interrupted_last_attempt_fails_without_another_send(
    db: Db, slow: WebhookReceiver, make_settings: Callable[..., Settings]
) -> None:
    seed(db, worker_urls=[slow.url("/w-01")])
    settings = push_settings(make_settings, timeout_s=1.0, max_attempts=1)
    row = queued(db, settings)

    def die(url: str, push: Push, timeout_s: float) -> Any:
        raise Crash

    with pytest.raises(Crash):
        Notifier(settings.push, sender=die).run_due(db, NOW)
    [delivery] = Notifier(settings.push).run_due(db, NOW + dt.timedelta(minutes=1))
    assert delivery.status == "failed" and "unknown" in (delivery.error or "")
    assert slow.deliveries == []
    [row] = notification_rows(db)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    actions = [entry["action"] for entry in timeline(db, row["alert_id"])]
    assert actions[-2:] == ["notify_unknown", "notify_failed"]


def _log_item(api: httpx.Client, notification_id: int) -> dict[str, Any]:
    response = api.get("/api/v1/notifications")
    assert response.status_code == 200
    [item] = [i for i in response.json()["items"] if i["id"] == notification_id]
    return dict(item)


def test_a_notifier_process_killed_mid_push_sends_it_once_more_with_the_same_key(
    db: Db, db_url: str, api: httpx.Client, slow: WebhookReceiver,
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    slow.hang = True  # the first request stays in flight until the process is killed
    seed(db, worker_urls=[slow.url("/w-01")])
    timeout_s = 2.0
    row = queued(db, push_settings(make_settings, timeout_s=timeout_s))
    db.execute("UPDATE alerts SET escalate_at = NULL")  # only this push, no escalation
    env = notifier_env(db_url, timeout_s=timeout_s)
    log = tmp_path / "notifier.log"
    first = start_notifier(env, log)
    try:
        wait_for(lambda: len(slow.deliveries) == 1, 60, "the first request")
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
    key = f"N-{row['id']}"
    during = _log_item(api, row["id"])
    assert (during["status"], during["attempts"]) == ("pending", 1)
    assert during["last_error"].startswith("sending since")

    slow.hang = False
    second = start_notifier(env, log)
    try:
        def settled() -> bool:
            return bool(notification_rows(db)[0]["status"] != "pending")

        wait_for(settled, 60, "the push to be sent again")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
    time.sleep(0.2)
    assert slow.keys() == [key, key], log.read_text()
    after = _log_item(api, row["id"])
    assert (after["status"], after["attempts"]) == ("sent", 2)
    assert "unknown" in after["last_error"] and key in after["last_error"]
    stored = [(a["ok"], (a["error"] or "").split(":")[0]) for a in attempts(db, row["id"])]
    assert stored == [(False, "outcome unknown"), (True, "")]
