"""The ``linli rules`` process: scheduled jobs plus evaluation on arriving events.

Jobs (APScheduler 3.x ``BackgroundScheduler``, each wrapped so an error is logged and the
next run still happens):

- every ``rules.interval_s``: evaluate every rule for every community, then escalate
  alerts whose timer ran out, then remind of overdue on-site feedback (``rules.feedback``);
- every ``push.poll_interval_s``: send due notifications.

A separate thread LISTENs on ``linli_events`` (ingest NOTIFYs the community in the
transaction that stores events) and evaluates that community after a short debounce, so
a resident seen again is resolved within seconds. Every evaluation takes the community's
advisory lock (``rules.engine``), so any number of rules processes can run: they never
double-alert. Job state lives in the database (alerts.escalate_at, alerts.feedback_due_at,
notifications.next_attempt_at), so nothing is lost across restarts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from linli.contract import utc_now
from linli.errors import ContractError, ServiceError
from linli.settings import Settings
from linli.topics import check_identifier
from rules.alerts import escalate_due
from rules.engine import default_rules, evaluate_all, evaluate_community
from rules.feedback import remind_overdue
from rules.framework import Rule
from rules.notifier import Notifier

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "linli_events"
URGENT_CHANNEL = "linli_urgent"
"""Ingest NOTIFYs here for alarms (duress, a forced door): evaluated at once, and what they
raise is pushed at once, not at the notifier's next poll."""
DEBOUNCE_S = 0.3
"""Quiet time after a community's last NOTIFY before it is evaluated."""
DEBOUNCE_MAX_S = 2.0
"""A community under steady traffic is still evaluated at least this often."""
_MAX_LOCK_RETRIES = 20
_URGENT_TRIES = 20
_URGENT_RETRY_S = 0.02


class Debouncer:
    """Which communities are due for evaluation, given when their notifications came."""

    def __init__(self, delay_s: float = DEBOUNCE_S, max_delay_s: float = DEBOUNCE_MAX_S) -> None:
        self._delay = delay_s
        self._max_delay = max_delay_s
        self._pending: dict[str, tuple[float, float]] = {}  # key -> (first, last) touch

    def touch(self, key: str, now: float) -> None:
        """Note activity for ``key`` at monotonic time ``now``."""
        first, _ = self._pending.get(key, (now, now))
        self._pending[key] = (first, now)

    def due(self, now: float) -> list[str]:
        """Keys quiet for ``delay_s`` or waiting ``max_delay_s``; they leave the queue."""
        ready = [key for key, (first, last) in self._pending.items()
                 if now - last >= self._delay or now - first >= self._max_delay]
        for key in ready:
            del self._pending[key]
        return sorted(ready)

    def __len__(self) -> int:
        return len(self._pending)


def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """Wrap a job so that an exception is logged and the scheduler carries on."""

    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("rules job %s failed; it runs again at its next time", name)

    return run


class EventListener:
    """LISTEN on ``linli_events`` and evaluate each notified community, debounced."""

    def __init__(self, url: str, evaluate: Callable[[str], bool],
                 on_connect: Callable[[], object], *, tick_s: float = 0.1,
                 debouncer: Debouncer | None = None,
                 on_urgent: Callable[[], object] | None = None) -> None:
        self._url = url
        self._evaluate = evaluate  # returns False when the community lock was busy
        self._on_connect = on_connect
        self._on_urgent = on_urgent
        self._tick = tick_s
        self._debouncer = debouncer or Debouncer()
        self._retries: dict[str, int] = {}
        self.ready = threading.Event()
        """Set once LISTEN is in place (tests wait on it)."""

    def run(self, stop: threading.Event) -> None:
        """Listen until ``stop`` is set; reconnect after a lost connection."""
        backoff = 0.5
        while not stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    conn.execute(f"LISTEN {URGENT_CHANNEL}")
                    self.ready.set()
                    backoff = 0.5
                    # Notifications sent while we were away are gone: catch up once.
                    guarded("catch-up", self._on_connect)()
                    self._loop(conn, stop)
            except Exception as exc:  # a lost connection, or anything else: start over
                self.ready.clear()
                log.warning("rules listener: database connection lost (%s); retrying in %.1f s",
                            type(exc).__name__, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _loop(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        while not stop.is_set():
            for note in conn.notifies(timeout=self._tick):
                if note.channel == URGENT_CHANNEL:
                    self._urgent(note.payload)
                else:
                    self._accept(note.payload)
            for community in self._debouncer.due(time.monotonic()):
                self._run(community)

    def _accept(self, payload: str) -> None:
        try:
            self._debouncer.touch(check_identifier(payload.strip(), "community"),
                                  time.monotonic())
        except ContractError as exc:
            log.warning("rules listener: ignored NOTIFY payload %r: %s", payload[:80], exc)

    def _urgent(self, payload: str) -> None:
        """Evaluate now (retrying briefly while another evaluator holds the lock), then
        push what is due."""
        try:
            community = check_identifier(payload.strip(), "community")
        except ContractError as exc:
            log.warning("rules listener: ignored urgent payload %r: %s", payload[:80], exc)
            return
        for _ in range(_URGENT_TRIES):
            try:
                if self._evaluate(community):
                    break
            except Exception:
                log.exception("urgent evaluation of community %s failed; going on", community)
                break
            time.sleep(_URGENT_RETRY_S)
        else:
            self._debouncer.touch(community, time.monotonic())
        if self._on_urgent is not None:
            guarded("urgent push", self._on_urgent)()

    def _run(self, community: str) -> None:
        try:
            done = self._evaluate(community)
        except Exception:
            log.exception("evaluating community %s after events failed; going on", community)
            return
        if done:
            self._retries.pop(community, None)
            return
        # Another evaluator held the lock and may have read the state before these
        # events were committed: try again shortly rather than wait for the schedule.
        tries = self._retries.get(community, 0) + 1
        if tries <= _MAX_LOCK_RETRIES:
            self._retries[community] = tries
            self._debouncer.touch(community, time.monotonic())
        else:
            self._retries.pop(community, None)


class RulesService:
    """The jobs of one rules process, on a shared connection pool."""

    def __init__(self, settings: Settings, pool: ConnectionPool[Any],
                 rules: Sequence[Rule] | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.rules = list(rules) if rules is not None else default_rules(settings)
        self.notifier = Notifier(settings.push)

    def evaluate_all(self, now: dt.datetime | None = None) -> None:
        with self.pool.connection() as conn:
            evaluate_all(conn, self.settings, now, rules=self.rules)

    def evaluate_one(self, community: str) -> bool:
        with self.pool.connection() as conn:
            return evaluate_community(conn, community, self.settings, rules=self.rules).locked

    def escalate(self, now: dt.datetime | None = None) -> None:
        with self.pool.connection() as conn:
            escalate_due(conn, rules={r.name: r for r in self.rules}, settings=self.settings,
                         now=now or utc_now())

    def remind(self, now: dt.datetime | None = None) -> None:
        with self.pool.connection() as conn:
            remind_overdue(conn, settings=self.settings, now=now or utc_now())

    def notify(self, now: dt.datetime | None = None) -> None:
        with self.pool.connection() as conn:
            self.notifier.run_due(conn, now)

    def tick(self) -> None:
        """The periodic rules job: evaluate everything, escalate, remind of feedback."""
        guarded("evaluate", self.evaluate_all)()
        guarded("escalate", self.escalate)()
        guarded("remind", self.remind)()


def open_pool(settings: Settings, *, max_size: int = 4) -> ConnectionPool[Any]:
    """A small autocommit pool; a ServiceError when the database cannot be reached."""
    pool: ConnectionPool[Any] = ConnectionPool(
        settings.require_database_url(), min_size=1, max_size=max_size, open=True,
        kwargs={"autocommit": True, "row_factory": dict_row}, name="linli-rules")
    try:
        pool.wait(timeout=15.0)
    except PoolTimeout as exc:
        pool.close()
        raise ServiceError("rules: cannot connect to the database") from exc
    return pool


def run_rules(settings: Settings, stop: threading.Event, *,
              rules: Sequence[Rule] | None = None,
              started: threading.Event | None = None) -> None:
    """Run the rules service until ``stop`` is set (``started`` is set once listening)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    pool = open_pool(settings)
    service = RulesService(settings, pool, rules)
    scheduler = BackgroundScheduler(timezone=dt.UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    first = dt.datetime.now(dt.UTC)
    scheduler.add_job(service.tick, "interval", seconds=settings.rules.interval_s,
                      next_run_time=first, id="rules")
    scheduler.add_job(guarded("notify", service.notify), "interval",
                      seconds=settings.push.poll_interval_s, next_run_time=first, id="notify")
    listener = EventListener(settings.require_database_url(), service.evaluate_one,
                             lambda: service.evaluate_all(), on_urgent=service.notify)
    thread = threading.Thread(target=listener.run, args=(stop,), name="rules-listener",
                              daemon=True)
    try:
        scheduler.start()
        thread.start()
        log.info("rules service running: every %.0f s, push every %.1f s, listening on %s",
                 settings.rules.interval_s, settings.push.poll_interval_s, EVENTS_CHANNEL)
        if started is not None:
            listener.ready.wait(15.0)
            started.set()
        stop.wait()
    finally:
        log.info("rules service stopping")
        scheduler.shutdown(wait=True)
        thread.join(timeout=10.0)
        pool.close()
