"""The notifier: sends queued pushes through Apprise, retries with backoff, logs each attempt.

Apprise is the pluggable channel layer: a worker's ``notify_urls`` may be WeCom or
DingTalk robots (``wecombot://``, ``dingtalk://``), e-mail (``mailto://``), generic
webhooks (``json://``, ``form://``) or any other Apprise service. Each URL is its own
``notifications`` row and is sent on its own, so one dead channel does not hold back the
others.

At most once per notification, as far as the receiver can tell:

* **Recorded before sending.** ``Notifier.run_due`` claims a due row (``FOR UPDATE SKIP
  LOCKED``: replicas share the queue), counts the attempt, writes it to
  ``notification_attempts`` as ``sending`` and pushes the row's next attempt past the
  longest the send may take (a lease), and commits; then sends, with no lock held; then
  records the outcome. If the process dies in between, the row is due again when the lease
  ends: the interrupted attempt is marked "outcome unknown" (in the timeline too) and the
  push is sent again **with the same idempotency key**. For an elderly resident's alert a
  push lost to a crash is worse than a repeat its receiver can recognise, so an unknown
  outcome is retried, not given up.
* **One request per attempt.** Each request's connect and read timeouts are
  ``push.timeout_s`` (Apprise's own default is 4 s, so a receiver slower than that got the
  push again on every retry); Apprise's own retries are off, whatever the URL says; the
  whole Apprise call is a backstop of ``_CALL_LIMIT`` × the timeout.
* **A key in every push**: ``N-<notification id>`` (``linli.pushes.idempotency_key``).
  Webhooks (``json://``, ``form://``, ``xml://``) get it as the ``Idempotency-Key`` and
  ``X-Linli-Notification`` headers and as ``idempotency_key`` / ``notification_id`` in the
  body; every other channel gets it as the last line of the text (``编号 N-123``).

Success: status ``sent`` and a "notified" timeline row. Failure: the next attempt after an
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
from linli.pushes import idempotency_key, with_reference
from linli.settings import PushSettings
from rules import queries
from rules import texts as t
from rules.alerts import add_timeline
from rules.framework import Conn

log = logging.getLogger(__name__)

_ERROR_LIMIT = 500

SENDING = "sending"
"""``notification_attempts.error`` of an attempt whose send has not finished (yet)."""

_CALL_LIMIT = 3
"""The whole Apprise call is abandoned after this many ``push.timeout_s`` (a plugin may make
more than one request, and connect and read each get the full timeout)."""

_LEASE = _CALL_LIMIT + 1
"""A claimed row is due again after this many ``push.timeout_s``: the longest send plus a
margin to record it."""

WEBHOOK_KEY_HEADER = "Idempotency-Key"
WEBHOOK_ID_HEADER = "X-Linli-Notification"


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """One delivery attempt: ok or the (already scrubbed) error text."""

    ok: bool
    duration_ms: int
    error: str | None = None
    permanent: bool = False
    """True when retrying cannot help (no such URL, a URL Apprise does not understand)."""


@dataclass(frozen=True, slots=True)
class Push:
    """What one attempt sends: the same ``key`` on every attempt of one notification."""

    notification_id: int
    title: str
    body: str
    locale: str | None

    @property
    def key(self) -> str:
        return idempotency_key(self.notification_id)


Sender = Callable[[str, Push, float], SendOutcome]
"""``send(url, push, timeout_s)``: the channel seam; Apprise by default."""


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


def lease_s(timeout_s: float) -> float:
    """How long a claimed notification is not due again: the longest a send may take."""
    return _LEASE * timeout_s


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


def prepare_service(service: Any, push: Push, timeout_s: float) -> bool:
    """Set one Apprise service up for exactly one request per attempt, carrying the key.

    Returns True when the service carries the key outside the text (a webhook: headers and
    body fields); the caller then leaves the text as it is.
    """
    # Apprise's defaults (4 s read timeout, URL ``?rto=``/``?cto=``/``?retry=``) would make
    # one attempt several requests, or give up on a receiver we are still willing to wait for.
    service.socket_connect_timeout = timeout_s
    service.socket_read_timeout = timeout_s
    service.retry = 0
    headers = getattr(service, "headers", None)
    if isinstance(headers, dict):
        headers[WEBHOOK_KEY_HEADER] = push.key
        headers[WEBHOOK_ID_HEADER] = str(push.notification_id)
    extras = getattr(service, "payload_extras", None)
    if not isinstance(extras, dict):
        return False
    extras["idempotency_key"] = push.key
    extras["notification_id"] = str(push.notification_id)
    if hasattr(service, "xsd_url"):  # xml://: extra elements do not fit Apprise's schema
        service.xsd_url = None
    return True


def send_with_apprise(url: str, push: Push, timeout_s: float) -> SendOutcome:
    """Send one push to one Apprise URL; the error is Apprise's own words, scrubbed."""
    import apprise

    started = time.monotonic()
    with _apprise_kept_local():
        sender = apprise.Apprise()
        if not sender.add(url):
            return SendOutcome(False, 0, f"not a usable notify URL ({redact_channel(url)})",
                               permanent=True)
        keyed = all([prepare_service(service, push, timeout_s) for service in sender])
        body = push.body if keyed else with_reference(push.body, push.key, push.locale)
        capture = apprise.LogCapture(level=logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with capture as captured:
            try:
                ok = bool(sender.notify(title=push.title, body=body,
                                        timeout=_CALL_LIMIT * timeout_s))
                crash = ""
            except Exception as exc:  # a plugin bug must not stop the queue
                ok, crash = False, f"{type(exc).__name__}: {exc}"
        words = " ".join(filter(None, [captured.getvalue().strip(), crash]))
    duration_ms = int((time.monotonic() - started) * 1000)
    if ok:
        return SendOutcome(True, duration_ms)
    error = scrub(" ".join(words.split()) or "delivery failed", url)
    return SendOutcome(False, duration_ms, error[:_ERROR_LIMIT])


@dataclass(frozen=True, slots=True)
class _Claim:
    """A notification claimed for one attempt (committed before the send)."""

    row: dict[str, Any]
    attempt_id: int
    attempt: int
    """This attempt's number, 1-based, interrupted ones included."""
    interrupted: int
    """Earlier attempts of this row whose outcome is unknown (the sender stopped)."""


def _unknown_note(key: str) -> str:
    return (f"an earlier attempt's outcome is unknown (sending was interrupted); "
            f"sent again with the same key {key}")


class Notifier:
    """Sends due notifications; one instance per process, used from one thread."""

    def __init__(self, settings: PushSettings, *, sender: Sender = send_with_apprise,
                 rng: random.Random | None = None) -> None:
        self._settings = settings
        self._send = sender
        self._rng = rng or random.Random()

    def run_due(self, conn: Conn, now: dt.datetime | None = None, *,
                limit: int = 100) -> list[Delivery]:
        """Send up to ``limit`` notifications due at ``now``: each claimed and committed
        before its send, its outcome recorded in a transaction of its own after."""
        now = now or utc_now()
        started = time.monotonic()
        done: list[Delivery] = []
        for _ in range(limit):
            try:
                # A lease runs from the claim, not from the start of a run of slow sends.
                elapsed = dt.timedelta(seconds=time.monotonic() - started)
                with conn.transaction():
                    claim = self._claim(conn, now, now + elapsed)
                if claim is None:
                    break
                if isinstance(claim, Delivery):
                    done.append(claim)
                    continue
                outcome = self._send_claimed(claim)
                with conn.transaction():
                    done.append(self._record(conn, claim, outcome, now))
            except Exception:
                # A claimed row stays leased: it is due again (same key) when the lease ends.
                log.exception("notifier: a delivery failed unexpectedly; going on")
                break
        return done

    def _claim(self, conn: Conn, now: dt.datetime,
               clock: dt.datetime) -> _Claim | Delivery | None:
        row = conn.execute(queries.DUE_NOTIFICATION, {"now": now}).fetchone()
        if row is None:
            return None
        key = idempotency_key(row["id"])
        closed = conn.execute(queries.CLOSE_INTERRUPTED_ATTEMPTS, {
            "notification_id": row["id"], "sending": SENDING,
            "error": f"outcome unknown: sending was interrupted (key {key})"}).fetchall()
        for number in range(row["attempts"] - len(closed) + 1, row["attempts"] + 1):
            add_timeline(conn, row["alert_id"], "notify_unknown",
                         t.text("timeline.notify_unknown", row["community_locale"],
                                worker=row["worker_name"] or row["worker"],
                                channel=row["channel"], attempt=number, ref=key),
                         {"notification_id": row["id"], "worker": row["worker"],
                          "channel": row["channel"], "attempt": number, "key": key})
            log.warning("notification %d (alert %d) to %s via %s: attempt %d was interrupted "
                        "before its outcome was recorded; sending again with key %s",
                        row["id"], row["alert_id"], row["worker"], row["channel"], number, key)
        if row["attempts"] >= self._settings.max_attempts:
            # Only an interrupted last attempt leaves a pending row with no attempts left.
            error = f"outcome of the last attempt unknown (key {key})"
            conn.execute(queries.MARK_FAILED, {"notification_id": row["id"], "error": error,
                                               "attempt": row["attempts"]})
            self._failed_timeline(conn, row, row["attempts"], error)
            return Delivery(row["id"], row["alert_id"], "failed", error)
        started = conn.execute(queries.START_ATTEMPT, {
            "notification_id": row["id"], "now": now, "sending": SENDING}).fetchone()
        note = (_unknown_note(key) if closed else
                f"sending since {now.isoformat(timespec='seconds')}; no outcome recorded yet")
        claimed = conn.execute(queries.CLAIM_NOTIFICATION, {
            "notification_id": row["id"], "note": note,
            "lease_until": clock + dt.timedelta(seconds=lease_s(self._settings.timeout_s)),
        }).fetchone()
        assert started is not None and claimed is not None  # the row is locked by us
        return _Claim(row, started["id"], claimed["attempts"], len(closed))

    def _send_claimed(self, claim: _Claim) -> SendOutcome:
        row = claim.row
        url: str | None = row["url"]
        if url is None:
            return SendOutcome(False, 0, "notify URL no longer configured", permanent=True)
        push = Push(row["id"], row["title"], row["body"],
                    row["worker_locale"] or row["community_locale"])
        # A channel that raises is one failed attempt, not a stuck queue.
        started = time.monotonic()
        try:
            outcome = self._send(url, push, self._settings.timeout_s)
        except Exception as exc:
            outcome = SendOutcome(False, int((time.monotonic() - started) * 1000),
                                  f"{type(exc).__name__}: {exc}")
        if outcome.error:
            outcome = SendOutcome(outcome.ok, outcome.duration_ms,
                                  scrub(outcome.error, url)[:_ERROR_LIMIT], outcome.permanent)
        return outcome

    def _failed_timeline(self, conn: Conn, row: dict[str, Any], attempts: int,
                         error: str | None) -> None:
        who = row["worker_name"] or row["worker"]
        add_timeline(conn, row["alert_id"], "notify_failed",
                     t.text("timeline.notify_failed", row["community_locale"], worker=who,
                            channel=row["channel"], attempts=attempts, error=error),
                     {"notification_id": row["id"], "worker": row["worker"],
                      "channel": row["channel"], "attempts": attempts, "error": error})
        log.warning("notification %d (alert %d) to %s via %s failed for good after %d "
                    "attempts: %s", row["id"], row["alert_id"], row["worker"],
                    row["channel"], attempts, error)

    def _record(self, conn: Conn, claim: _Claim, outcome: SendOutcome,
                now: dt.datetime) -> Delivery:
        row, attempts = claim.row, claim.attempt
        conn.execute(queries.FINISH_ATTEMPT, {
            "attempt_id": claim.attempt_id, "ok": outcome.ok,
            "duration_ms": outcome.duration_ms, "error": outcome.error})
        who = row["worker_name"] or row["worker"]
        locale = row["community_locale"]
        base = {"notification_id": row["id"], "worker": row["worker"], "channel": row["channel"]}
        if outcome.ok:
            note = _unknown_note(idempotency_key(row["id"])) if claim.interrupted else None
            if conn.execute(queries.MARK_SENT, {"notification_id": row["id"], "now": now,
                                                "note": note}).fetchone():
                add_timeline(conn, row["alert_id"], "notified",
                             t.text("timeline.notified", locale, worker=who,
                                    channel=row["channel"]),
                             base | {"attempts": attempts})
            log.info("notification %d (alert %d) sent to %s via %s in %d ms", row["id"],
                     row["alert_id"], row["worker"], row["channel"], outcome.duration_ms)
            return Delivery(row["id"], row["alert_id"], "sent", None)
        if outcome.permanent or attempts >= self._settings.max_attempts:
            if conn.execute(queries.MARK_FAILED, {"notification_id": row["id"],
                                                  "error": outcome.error,
                                                  "attempt": attempts}).fetchone():
                self._failed_timeline(conn, row, attempts, outcome.error)
            return Delivery(row["id"], row["alert_id"], "failed", outcome.error)
        delay = backoff_delay(attempts, initial_s=self._settings.backoff_initial_s,
                              max_s=self._settings.backoff_max_s, rand=self._rng.random())
        conn.execute(queries.MARK_RETRY, {
            "notification_id": row["id"], "error": outcome.error, "attempt": attempts,
            "next_attempt_at": now + dt.timedelta(seconds=delay)})
        log.warning("notification %d (alert %d) to %s via %s failed (attempt %d/%d, retry in "
                    "%.1f s): %s", row["id"], row["alert_id"], row["worker"], row["channel"],
                    attempts, self._settings.max_attempts, delay, outcome.error)
        return Delivery(row["id"], row["alert_id"], "pending", outcome.error)
