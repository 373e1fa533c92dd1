"""Ingest loses nothing and doubles nothing across stops, crashes and database outages.

Failures are made real: PostgreSQL triggers that fail or stall once, a database that
refuses connections, an ingest process killed with SIGKILL or stopped with SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from ingest.service import run_ingest
from linli.errors import ServiceError
from linli.settings import Settings
from tests.integration.test_ingest_flow import (
    T0,
    count,
    ingest_settings,
    make_event,
    publisher,
    running_ingest,
    stored_ids,
    wait_for,
)

# Fails the first transaction that stores events, at COMMIT (a deferred constraint trigger),
# and succeeds afterwards: a sequence is not rolled back with the failed transaction.
FAIL_FIRST_COMMIT = """
CREATE SEQUENCE fail_once;
CREATE FUNCTION fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('fail_once') = 1 THEN
        RAISE EXCEPTION 'commit refused once, on purpose';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER fail_first_commit AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_first_commit();
"""

# Stalls the first statement that stores events, inside the transaction, before COMMIT.
STALL_FIRST_WRITE = """
CREATE SEQUENCE stall_once;
CREATE FUNCTION stall_first_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('stall_once') = 1 THEN
        PERFORM pg_sleep(60);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stall_first_write AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION stall_first_write();
"""


def events(n: int) -> list[Any]:
    return [make_event(occurred_at=T0 + dt.timedelta(seconds=i), person_id=f"r-{i % 7}")
            for i in range(n)]


def test_messages_published_while_ingest_is_stopped_arrive_after_start(
        db: Any, db_url: str, broker: Any, make_settings: Any) -> None:
    settings = ingest_settings(make_settings, db_url, broker.url)
    with running_ingest(settings):
        pass  # creates the persistent session and its subscriptions
    sent = events(300)
    with publisher(broker.url) as pub:
        pub.events(sent)
    assert count(db, "SELECT count(*) FROM events") == 0

    with running_ingest(settings) as ingest:
        wait_for(lambda: ingest.stats.snapshot().events_written == len(sent))
    assert stored_ids(db) == sorted(e.event_id for e in sent)


def test_session_survives_a_broker_restart(db: Any, db_url: str, broker: Any,
                                           make_settings: Any) -> None:
    settings = ingest_settings(make_settings, db_url, broker.url)
    with running_ingest(settings):
        pass
    sent = events(50)
    with publisher(broker.url) as pub:
        pub.events(sent)
    broker.restart()  # Mosquitto keeps sessions and queued messages in its persistence file
    with running_ingest(settings) as ingest:
        wait_for(lambda: ingest.stats.snapshot().events_written == len(sent))
    assert stored_ids(db) == sorted(e.event_id for e in sent)


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-paths", "stock-paho"])
def test_ingest_reconnects_after_a_broker_restart(db: Any, db_url: str, broker: Any,
                                                  make_settings: Any, fast_path: bool) -> None:
    before, after = events(100), [make_event() for _ in range(100)]
    with running_ingest(ingest_settings(make_settings, db_url, broker.url),
                        fast_path=fast_path) as ingest:
        with publisher(broker.url) as pub:
            pub.events(before)
        wait_for(lambda: ingest.stats.snapshot().events_written == len(before))
        broker.restart()
        with publisher(broker.url) as pub:
            # Mosquitto 2.0 does not restore a shared subscription from its persistence
            # file: until ingest has reconnected and subscribed again (paho's backoff, ~1 s),
            # events for it are dropped. Probe until one arrives, then send the real ones.
            wait_for(lambda: _probe(pub, db), timeout=20)
            pub.events(after)
        wait_for(lambda: count(db, "SELECT count(*) FROM events WHERE device <> 'probe'")
                 == len(before) + len(after), timeout=20)
    stored = {r['event_id'] for r in db.execute("SELECT event_id FROM events WHERE device <> 'probe'")}
    assert stored == {e.event_id for e in before + after}
    assert count(db, "SELECT count(*) - count(DISTINCT event_id) FROM events") == 0


def _probe(pub: Any, db: Any) -> int:
    """Publish a probe event; how many probes are stored once one has arrived, else 0."""
    pub.events([make_event(device="probe")])
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        stored = count(db, "SELECT count(*) FROM events WHERE device = 'probe'")
        if stored:
            return stored
        time.sleep(0.02)
    return 0


def test_a_commit_that_fails_once_is_retried_and_stored_once(
        db: Any, db_url: str, broker: Any, make_settings: Any) -> None:
    db.execute(FAIL_FIRST_COMMIT)
    sent = events(100)
    with running_ingest(ingest_settings(make_settings, db_url, broker.url)) as ingest, \
            publisher(broker.url) as pub:
        pub.events(sent)
        wait_for(lambda: ingest.stats.snapshot().events_written == len(sent))
        figures = ingest.stats.snapshot()
    assert figures.retries >= 1
    assert figures.acked == len(sent)
    assert stored_ids(db) == sorted(e.event_id for e in sent)
    assert count(db, "SELECT count(*) FROM presence") == 7


def test_database_outage_holds_messages_until_it_is_back(
        db: Any, db_url: str, broker: Any, make_settings: Any) -> None:
    name = db.info.dbname
    allow = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}")
    sent = events(200)
    with running_ingest(ingest_settings(make_settings, db_url, broker.url)) as ingest, \
            publisher(broker.url) as pub, \
            psycopg.connect(db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(allow.format(sql.Identifier(name), sql.SQL("false")))
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> %s", (name, db.info.backend_pid))
            pub.events(sent)
            wait_for(lambda: ingest.stats.snapshot().retries >= 2)
            assert count(db, "SELECT count(*) FROM events") == 0
            assert ingest.stats.snapshot().acked == 0
        finally:
            admin.execute(allow.format(sql.Identifier(name), sql.SQL("true")))
        wait_for(lambda: ingest.stats.snapshot().events_written == len(sent), timeout=20)
    assert stored_ids(db) == sorted(e.event_id for e in sent)


# --- ingest as a separate process --------------------------------------------------------

PROCESS = """
import argparse, sys
from ingest.cli import add_parser
from linli.logs import setup_logging
from linli.settings import load_settings
parser = argparse.ArgumentParser()
add_parser(parser.add_subparsers())
args = parser.parse_args(["ingest"])
settings = load_settings()
setup_logging(settings.log_level, name="ingest")
sys.exit(args.run(args, settings))
"""


class IngestProcess:
    """``linli ingest`` (its subcommand, as the CLI runs it) in a child process."""

    def __init__(self, settings: Settings) -> None:
        env = dict(os.environ)
        env.update({
            "LINLI_DATABASE_URL": settings.require_database_url(),
            "LINLI_MQTT_URL": settings.require_mqtt_url(),
            "LINLI_INGEST__CLIENT_ID": settings.ingest.client_id,
            "LINLI_INGEST__BATCH_WAIT_MS": str(settings.ingest.batch_wait_ms),
        })
        self.lines: list[str] = []
        self._subscribed = threading.Event()
        self.process = subprocess.Popen([sys.executable, "-c", PROCESS], env=env,
                                        stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(lambda: self._subscribed.is_set() or self.process.poll() is not None)
        assert self._subscribed.is_set(), "\n".join(self.lines)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip())
            if "subscribed to" in line:
                self._subscribed.set()

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)


@contextmanager
def ingest_process(settings: Settings) -> Iterator[IngestProcess]:
    child = IngestProcess(settings)
    try:
        yield child
    finally:
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait()


def test_a_process_killed_before_commit_gets_the_messages_again(
        db: Any, db_url: str, broker: Any, make_settings: Any) -> None:
    db.execute(STALL_FIRST_WRITE)
    settings = ingest_settings(make_settings, db_url, broker.url)
    sent = events(500)
    with ingest_process(settings) as child, publisher(broker.url) as pub:
        pub.events(sent)
        stalled = wait_for(lambda: db.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
            "AND datname = current_database()").fetchone())
        child.process.send_signal(signal.SIGKILL)
        child.wait()
    db.execute("SELECT pg_terminate_backend(%s)", (stalled["pid"],))
    wait_for(lambda: not db.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                    (stalled["pid"],)).fetchone())
    assert count(db, "SELECT count(*) FROM events") == 0

    with running_ingest(settings) as ingest:
        wait_for(lambda: count(db, "SELECT count(*) FROM events") == len(sent))
        figures = ingest.stats.snapshot()
    assert stored_ids(db) == sorted(e.event_id for e in sent)
    assert figures.messages >= len(sent)


def test_sigterm_stores_and_acknowledges_what_it_holds(
        db: Any, db_url: str, broker: Any, make_settings: Any) -> None:
    settings = ingest_settings(make_settings, db_url, broker.url)
    sent = events(3000)
    with ingest_process(settings) as child, publisher(broker.url) as pub:
        pub.events(sent)
        wait_for(lambda: count(db, "SELECT count(*) FROM events") > 0)
        child.process.send_signal(signal.SIGTERM)
        assert child.wait() == 0, "\n".join(child.lines)
    stored_before = count(db, "SELECT count(*) FROM events")
    assert any("ingest stopped" in line for line in child.lines)

    # Whatever was stored was acknowledged: the next run gets only the rest, once each.
    marker = make_event(event_id=uuid.uuid4())
    with running_ingest(settings) as ingest, publisher(broker.url) as pub:
        pub.events([marker])
        wait_for(lambda: count(db, "SELECT count(*) FROM events") == len(sent) + 1)
        figures = ingest.stats.snapshot()
    assert figures.messages == len(sent) - stored_before + 1
    assert figures.duplicates == 0
    assert stored_ids(db) == sorted(e.event_id for e in [*sent, marker])


def test_database_unreachable_at_start_is_one_clear_error(
        db_url: str, broker: Any, make_settings: Any) -> None:
    bad_url = db_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
    bad_url = bad_url.rsplit("/", 1)[0] + "/no_such_database"
    settings = ingest_settings(make_settings, bad_url, broker.url)
    with pytest.raises(ServiceError, match="cannot connect to the database") as caught:
        run_ingest(settings, threading.Event())
    assert "s3cret" not in str(caught.value)


def test_ingest_commits_durably_whatever_the_servers_default(db_url: str) -> None:
    """A commit lets the broker forget a message and the agent drop it (the storage
    receipt): it must survive a database crash, so ingest's connection asks for
    synchronous_commit even from a server that defaults to off (as the test server does)."""
    from ingest.writer import BatchWriter
    with psycopg.connect(db_url) as plain:
        server_default = plain.execute("SHOW synchronous_commit").fetchone()
    writer = BatchWriter(db_url)
    writer.connect()
    try:
        assert writer._conn is not None
        assert writer._conn.execute("SHOW synchronous_commit").fetchone() == {
            "synchronous_commit": "on"}
    finally:
        writer.close()
    assert server_default == ("off",), "the test server must default to off for this to show"
