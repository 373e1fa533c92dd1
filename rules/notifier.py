"""The notifier: sends queued pushes through Apprise, retries with backoff, logs each attempt.

Apprise is the pluggable channel layer: a worker's ``notify_urls`` may be WeCom or
DingTalk robots (``wecombot://``, ``dingtalk://``), e-mail (``mailto://``), generic
webhooks (``json://``, ``form://``) or any other Apprise service. Each URL is its own
``notifications`` row and is sent on its own, so one dead channel does not hold back the
others.

``Notifier.run_due`` takes due rows one at a time with ``FOR UPDATE SKIP LOCKED`` (replicas
share the queue), sends, and records the attempt in ``notification_attempts``. Success:
status ``sent`` and a "notified" timeline row. Failure: the next attempt after an
exponential backoff with jitter; after ``push.max_attempts`` the row is ``failed`` and the
timeline says so. URLs never leave ``grid_workers.notify_urls``: rows, errors and logs
carry the redacted channel only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from linli.channels import redact_channel, scrub
from linli.contract import utc_now
from linli.settings import PushSettings
from rules import queries
from rules import texts as t
from rules.alerts import add_timeline
from rules.framework import Conn

log = logging.getLogger(__name__)

_ERROR_LIMIT = 500


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """One delivery attempt: ok or the (already scrubbed) error text."""

    ok: bool
    duration_ms: int
    error: str | None = None
    permanent: bool = False
    """True when retrying cannot help (no such URL, a URL Apprise does not understand)."""


Sender = Callable[[str, str, str, float], SendOutcome]
"""``send(url, title, body, timeout_s)``: the channel seam; Apprise by default."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one notification in ``run_due``."""

    notification_id: int
    alert_id: int
    status: str  # sent | pending (will retry) | failed
    error: str | None


def backoff_delay(attempt: int, *, initial_s: float, max_s: float, rand: float) -> float:
    """Seconds before the next try after the ``attempt``-th failure (1-based).

    ``initial_s`` doubling per failure up to ``max_s``, then "equal jitter": a uniform
    draw in the upper half, so many failing pushes do not retry in lockstep.
    """
    base = min(max_s, initial_s * 2.0 ** min(attempt - 1, 60))
    return base / 2 + base / 2 * rand


# Apprise and the HTTP stack under it log request URLs (paths and queries hold tokens) at
# DEBUG; what we need of them is captured per send and scrubbed instead.
_CHATTY_LOGGERS = ("apprise", "urllib3", "requests")


@contextlib.contextmanager
def _apprise_kept_local() -> Iterator[None]:
    """Keep the senders' own log lines out of the process's logs while sending."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    previous = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.propagate = False
    try:
        yield
    finally:
        for logger, value in zip(loggers, previous, strict=True):
            logger.propagate = value


def send_with_apprise(url: str, title: str, body: str, timeout_s: float) -> SendOutcome:
    """Send one push to one Apprise URL; the error is Apprise's own words, scrubbed."""
    import apprise

    started = time.monotonic()
    with _apprise_kept_local():
        sender = apprise.Apprise()
        if not sender.add(url):
            return SendOutcome(False, 0, f"not a usable notify URL ({redact_channel(url)})",
                               permanent=True)
        capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with capture as captured:
            try:
                ok = bool(sender.notify(title=title, body=body, timeout=timeout_s))
                crash = ""
            except Exception as exc:  # a plugin bug must not stop the queue
                ok, crash = False, f"{type(exc).__name__}: {exc}"
        words = " ".join(filter(None, [captured.getvalue().strip(), crash]))
    duration_ms = int((time.monotonic() - started) * 1000)
    if ok:
        return SendOutcome(True, duration_ms)
    error = scrub(" ".join(words.split()) or "delivery failed", url)
    return SendOutcome(False, duration_ms, error[:_ERROR_LIMIT])


class Notifier:
    """Sends due notifications; one instance per process, used from one thread."""

    def __init__(self, settings: PushSettings, *, sender: Sender = send_with_apprise,
                 rng: random.Random | None = None) -> None:
        self._settings = settings
        self._send = sender
        self._rng = rng or random.Random()

    def run_due(self, conn: Conn, now: dt.datetime | None = None, *,
                limit: int = 100) -> list[Delivery]:
        """Send up to ``limit`` notifications due at ``now``; each in its own transaction."""
        now = now or utc_now()
        done: list[Delivery] = []
        for _ in range(limit):
            try:
                with conn.transaction():
                    row = conn.execute(queries.DUE_NOTIFICATION, {"now": now}).fetchone()
                    if row is None:
                        break
                    done.append(self._deliver(conn, row, now))
            except Exception:
                log.exception("notifier: a delivery failed unexpectedly; going on")
                break  # the row is unlocked again; the next run retries it
        return done

    def _send_safely(self, url: str, title: str, body: str) -> SendOutcome:
        # A channel that raises is one failed attempt, not a stuck queue.
        started = time.monotonic()
        try:
            return self._send(url, title, body, self._settings.timeout_s)
        except Exception as exc:
            return SendOutcome(False, int((time.monotonic() - started) * 1000),
                               f"{type(exc).__name__}: {exc}")

    def _deliver(self, conn: Conn, row: dict[str, Any], now: dt.datetime) -> Delivery:
        url: str | None = row["url"]
        if url is None:
            outcome = SendOutcome(False, 0, "notify URL no longer configured", permanent=True)
        else:
            outcome = self._send_safely(url, row["title"], row["body"])
            if outcome.error:
                outcome = SendOutcome(outcome.ok, outcome.duration_ms,
                                      scrub(outcome.error, url)[:_ERROR_LIMIT], outcome.permanent)
        conn.execute(queries.RECORD_ATTEMPT, {
            "notification_id": row["id"], "now": now, "ok": outcome.ok,
            "duration_ms": outcome.duration_ms, "error": outcome.error})
        attempts = row["attempts"] + 1
        who = row["worker_name"] or row["worker"]
        locale = row["community_locale"]
        base = {"notification_id": row["id"], "worker": row["worker"], "channel": row["channel"]}
        if outcome.ok:
            conn.execute(queries.MARK_SENT, {"notification_id": row["id"], "now": now})
            add_timeline(conn, row["alert_id"], "notified",
                         t.text("timeline.notified", locale, worker=who, channel=row["channel"]),
                         base | {"attempts": attempts})
            log.info("notification %d (alert %d) sent to %s via %s in %d ms", row["id"],
                     row["alert_id"], row["worker"], row["channel"], outcome.duration_ms)
            return Delivery(row["id"], row["alert_id"], "sent", None)
        if outcome.permanent or attempts >= self._settings.max_attempts:
            conn.execute(queries.MARK_FAILED, {"notification_id": row["id"],
                                               "error": outcome.error})
            add_timeline(conn, row["alert_id"], "notify_failed",
                         t.text("timeline.notify_failed", locale, worker=who,
                                channel=row["channel"], attempts=attempts, error=outcome.error),
                         base | {"attempts": attempts, "error": outcome.error})
            log.warning("notification %d (alert %d) to %s via %s failed for good after %d "
                        "attempts: %s", row["id"], row["alert_id"], row["worker"],
                        row["channel"], attempts, outcome.error)
            return Delivery(row["id"], row["alert_id"], "failed", outcome.error)
        delay = backoff_delay(attempts, initial_s=self._settings.backoff_initial_s,
                              max_s=self._settings.backoff_max_s, rand=self._rng.random())
        conn.execute(queries.MARK_RETRY, {
            "notification_id": row["id"], "error": outcome.error,
            "next_attempt_at": now + dt.timedelta(seconds=delay)})
        log.warning("notification %d (alert %d) to %s via %s failed (attempt %d/%d, retry in "
                    "%.1f s): %s", row["id"], row["alert_id"], row["worker"], row["channel"],
                    attempts, self._settings.max_attempts, delay, outcome.error)
        return Delivery(row["id"], row["alert_id"], "pending", outcome.error)
