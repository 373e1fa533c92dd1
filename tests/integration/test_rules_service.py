"""The rules process end to end: scheduler, LISTEN-triggered evaluation, two copies, CLI."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from linli.cli import build_parser
from linli.settings import Settings
from rules.service import run_rules
from tests.integration.test_rules_engine import Db, alerts, seed
from tests.integration.test_rules_notifier import serve_receiver


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def test_two_running_copies_alert_once_and_resolve_within_seconds_of_an_event(
    db_url: str, db: Db, make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture
) -> None:
    with serve_receiver() as receiver:
        # Check time 00:00: whoever has not been seen since local midnight is reported now.
        real_now = dt.datetime.now(dt.UTC)
        seed(db, worker_urls=[receiver.url("w-01")], check_at="00:00",
             last_seen=real_now - dt.timedelta(hours=30),
             registered=real_now - dt.timedelta(days=30))
        # The schedule is hourly: only the start-up run and the NOTIFY path can act here.
        settings = make_settings(database_url=db_url,
                                 rules={"interval_s": 3600, "silence": {"detector": "24h"}},
                                 push={"poll_interval_s": 0.2})
        stop = threading.Event()
        copies = []
        for _ in range(2):
            started = threading.Event()
            thread = threading.Thread(target=run_rules, args=(settings, stop),
                                      kwargs={"started": started})
            thread.start()
            copies.append((thread, started))
        try:
            for _, started in copies:
                assert started.wait(20)
            wait_for(lambda: receiver.received)
            [alert] = alerts(db)
            assert alert["status"] == "open"
            # Ingest stores a passage and notifies in the same transaction; a bad payload
            # before it is logged and ignored.
            db.execute("NOTIFY linli_events, 'Not An Id!'")
            with db.transaction():
                db.execute("UPDATE presence SET last_seen_at = now() WHERE resident = 'r-0001'")
                db.execute("NOTIFY linli_events, 'juxin'")
            # The schedule is an hour away: resolving at all proves the NOTIFY path (no
            # assertion on how fast: that would depend on the machine).
            wait_for(lambda: alerts(db)[0]["status"] == "resolved", timeout=60)
        finally:
            stop.set()
            for thread, _ in copies:
                thread.join(20)
        assert not any(thread.is_alive() for thread, _ in copies)
        assert len(alerts(db)) == 1
        # One push about the alert from the two copies; the all-clear ("no need to visit")
        # may follow it if the notifier polled again before the copies stopped.
        titles = [r["json"]["title"] for r in receiver.received]
        assert titles[0] == "【邻里】独居老人超过24小时未出现", titles
        assert titles[1:] in ([], ["【邻里·已解除】独居老人超过24小时未出现：张桂英"]), titles
        assert "ignored NOTIFY payload 'Not An Id!'" in caplog.text


def test_cli_once_evaluates_and_pushes(
    db_url: str, db: Db, make_settings: Callable[..., Settings]
) -> None:
    with serve_receiver() as receiver:
        real_now = dt.datetime.now(dt.UTC)
        seed(db, worker_urls=[receiver.url()], last_seen=real_now - dt.timedelta(hours=25),
             registered=real_now - dt.timedelta(days=30))
        args = build_parser().parse_args(["rules", "--once"])
        assert args.run(args, make_settings(database_url=db_url,
                                                rules={"silence": {"detector": "24h"}})) == 0
        [alert] = alerts(db)
        assert alert["details"]["reason"] == "not_seen_hours"
        assert [r["json"]["title"] for r in receiver.received] == [
            "【邻里】独居老人超过24小时未出现"]


def test_evaluation_survives_a_lost_listener_connection(
    db_url: str, db: Db, make_settings: Callable[..., Settings]
) -> None:
    real_now = dt.datetime.now(dt.UTC)
    seed(db, check_at="00:00", last_seen=real_now - dt.timedelta(hours=30),
         registered=real_now - dt.timedelta(days=30))
    settings = make_settings(database_url=db_url, rules={"interval_s": 3600, "silence": {"detector": "24h"}},
                             push={"poll_interval_s": 60})
    stop, started = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_rules, args=(settings, stop),
                              kwargs={"started": started})
    thread.start()
    try:
        assert started.wait(20)
        wait_for(lambda: alerts(db))
        # Kill the LISTEN session: the listener reconnects (and catches up) on its own.
        killed = db.execute(
            "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity"
            " WHERE query ILIKE 'LISTEN%%' AND datname = current_database()").fetchall()
        assert killed
        time.sleep(0.1)

        def notify_seen() -> bool:
            with db.transaction():
                db.execute("UPDATE presence SET last_seen_at = now() WHERE resident = 'r-0001'")
                db.execute("NOTIFY linli_events, 'juxin'")
            return True

        notify_seen()
        wait_for(lambda: alerts(db)[0]["status"] == "resolved", timeout=15)
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()
