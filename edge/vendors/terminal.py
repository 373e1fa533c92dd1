"""The source loop every HTTP terminal runs on: connect, read, spool, reconnect.

A vendor subclass provides ``session(stop)`` — one connection's life: open the event
stream (or run the push listener), catch up on what was missed, read until the stream
ends — and ``search(start, end, stop)``, the paged search of the device's log. This base
class gives them:

- the loop around ``session`` with exponential back-off (reset once a session delivered
  data), and a watcher that shuts the open socket when the agent stops, so a stream that
  waits for its next heartbeat does not hold the agent's shutdown;
- ``accept(records)``: de-duplication (derived record ids remembered in a bounded set),
  replayed history older than the checkpoint skipped, and the events, rejects and new
  checkpoint stored in one spool transaction — thread-safe, as push handlers call it
  from their own threads;
- ``catch_up(stop)``: the device's log from the checkpoint (or ``backfill_hours`` back on
  a first start) to the device's now, through ``search``;
- health figures and the device's status document.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import httpx

from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.vendors.clock import ClockDrift
from edge.vendors.config import TerminalSection
from edge.vendors.multipart import BadPart, BodyComplete, MultipartReader, Part, boundary_of
from edge.vendors.payload import BadPayload
from edge.vendors.records import Checkpoint, RecentIds, TerminalRecord

__all__ = ["Stats", "TerminalError", "TerminalSource"]

log = logging.getLogger(__name__)

INITIAL_BACKOFF_S = 0.5
CATCH_UP_MARGIN = dt.timedelta(minutes=2)
"""A catch-up search ends this far past the device's now (clocks move while it runs)."""


class TerminalError(Exception):
    """The terminal answered, but not usefully (refused login, wrong content); the
    message says what to check."""


@dataclass
class Stats:
    """What a terminal's source counted since the agent started."""

    events: int = 0
    duplicates: int = 0
    history_skipped: int = 0
    ignored: int = 0
    rejected: int = 0
    heartbeats: int = 0
    pictures_skipped: int = 0
    reconnects: int = 0
    catch_ups: int = 0
    caught_up: int = 0


class TerminalSource(ABC):
    """Base of the Hikvision and Dahua sources (see the module docstring)."""

    vendor: ClassVar[str]

    def __init__(self, config: TerminalSection, context: SourceContext) -> None:
        self.config = config
        self.key = f"{self.vendor}:{config.device}"
        self.community = context.community
        self.building = context.building
        self.drift = ClockDrift(config.drift_threshold_s)
        self.stats = Stats()
        self._context = context
        self._lock = threading.RLock()
        self._recent = RecentIds()
        stored = context.checkpoint(self.key)
        self._checkpoint = Checkpoint.from_text(stored)
        if stored and self._checkpoint.at is None:
            log.warning("%s: unreadable checkpoint %r; starting without one", self.key, stored)
        self._connected = False
        self._last_seen: float | None = None
        self._last_error: str | None = None
        self._socket: socket.socket | None = None
        self._stop = threading.Event()
        self._stopped = False
        self._problems: dict[str, str] = {}

    # -- what a vendor provides ------------------------------------------------------------

    @abstractmethod
    def session(self, stop: threading.Event) -> None:
        """One connection's life; return or raise when it ends (the loop reconnects)."""

    @abstractmethod
    def search(self, start: dt.datetime, end: dt.datetime,
               stop: threading.Event) -> Iterator[Sequence[TerminalRecord]]:
        """The device's log between ``start`` and ``end``, page by page."""

    @abstractmethod
    def take(self, items: Sequence[Part | BadPart], channel: str) -> None:
        """Map and spool the parts the device sent on ``channel``."""

    def is_online(self) -> bool:
        """Whether the device counts as reachable (a vendor's push mode overrides it)."""
        return self._connected

    # -- the EdgeSource protocol -----------------------------------------------------------

    @property
    def device(self) -> str:
        """The terminal's device id."""
        return self.config.device

    def run(self, stop: threading.Event) -> None:
        """Run sessions until ``stop`` is set, backing off after failures."""
        self._stop = stop
        threading.Thread(target=self._abort_on_stop, args=(stop,), daemon=True,
                         name=f"edge-abort-{self.device}").start()
        backoff = INITIAL_BACKOFF_S
        try:
            while not stop.is_set():
                started = time.monotonic()
                reason = self._one_session(stop)
                if stop.is_set():
                    break
                if self._last_seen is not None and self._last_seen > started:
                    backoff = INITIAL_BACKOFF_S
                self.stats.reconnects += 1
                log.warning("%s (%s): %s; reconnecting in %.1fs", self.key,
                            self.config.base_url, reason, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.config.reconnect_max_s)
        finally:
            self._stopped = True
            self._connected = False

    def health(self) -> dict[str, Any]:
        """Small figures for the agent's status."""
        state = ("stopped" if self._stopped else "online" if self.is_online() else "offline")
        return {"state": state, "events": self.stats.events,
                "duplicates": self.stats.duplicates, "rejected": self.stats.rejected,
                "ignored": self.stats.ignored, "caught_up": self.stats.caught_up,
                "reconnects": self.stats.reconnects, "drift_s": self.drift.notable(),
                "problems": self.problems()}

    def problems(self) -> list[dict[str, str]]:
        """What the agent found wrong with how this device is set up (a wrong profile),
        each as a stable ``code`` and an English ``message`` for the installer."""
        with self._lock:
            return [{"code": code, "message": text} for code, text in self._problems.items()]

    def raise_problem(self, code: str, message: str) -> None:
        """Note a set-up problem: logged once as a WARNING, kept in the health."""
        with self._lock:
            if self._problems.get(code) == message:
                return
            self._problems[code] = message
        log.warning("%s: %s", self.key, message)

    def device_status(self) -> dict[str, Any] | None:
        """The terminal's own status document (format 4, without version and time)."""
        drift = self.drift.drift_s
        seen = self._last_seen
        with self._lock:
            checkpoint = self._checkpoint
        return {
            "state": "online" if self.is_online() else "offline",
            "kind": "access-terminal",
            "vendor": self.vendor,
            "host": self.config.host,
            "last_seen_s": None if seen is None else round(time.monotonic() - seen, 1),
            "clock_drift_s": None if drift is None else round(drift, 1),
            "clock_drift_notable": self.drift.notable() is not None,
            "checkpoint": checkpoint.at.isoformat() if checkpoint.at else None,
            "last_error": self._last_error,
            "problems": self.problems(),
            **asdict(self.stats),
        }

    # -- for the vendors -------------------------------------------------------------------

    def accept(self, records: Sequence[TerminalRecord],
               rejected: Sequence[RejectedLine] = ()) -> int:
        """Spool what is new among ``records`` (plus ``rejected`` inputs and the moved
        checkpoint) in one transaction; returns how many events were spooled."""
        with self._lock:
            checkpoint = self._checkpoint
            fresh: list[TerminalRecord] = []
            batch: set[Any] = set()
            for record in records:
                if record.history and self._already_spooled(record):
                    self.stats.history_skipped += 1
                    continue
                if record.record_id in self._recent or record.record_id in batch:
                    self.stats.duplicates += 1
                    continue
                batch.add(record.record_id)
                fresh.append(record)
                checkpoint = checkpoint.advanced(record.at, record.number)
            events = [r.event for r in fresh if r.event is not None]
            refused = [*rejected, *(r.rejected for r in fresh if r.rejected is not None)]
            moved = checkpoint != self._checkpoint
            if not events and not refused and not moved:
                return 0
            spooled = self._context.spool_events(
                self.key, events, checkpoint=checkpoint.to_text() if moved else None,
                rejected=refused)
            self._recent.add(batch)
            self._checkpoint = checkpoint
            self.stats.events += spooled
            self.stats.rejected += len(refused) + len(events) - spooled
            self.stats.ignored += sum(1 for r in fresh if r.event is None and r.rejected is None)
            return spooled

    def catch_up(self, stop: threading.Event) -> int:
        """Fetch the device's log from the checkpoint to now; returns the records read."""
        if not self.config.catch_up:
            return 0
        device_now = self.drift.device_now()
        with self._lock:
            start = self._checkpoint.at
        first_window = device_now - dt.timedelta(hours=self.config.backfill_hours)
        if start is None:
            start = first_window
        elif start > device_now + CATCH_UP_MARGIN:
            log.warning("%s: checkpoint %s lies ahead of the device's clock (%s); the clock "
                        "was set back? searching from %s", self.key, start.isoformat(),
                        device_now.isoformat(), first_window.isoformat())
            start = first_window
        self.stats.catch_ups += 1
        read = 0
        for page in self.search(start, device_now + CATCH_UP_MARGIN, stop):
            read += len(page)
            self.accept(page)
            if stop.is_set():
                break
        self.stats.caught_up += read
        if read:
            log.info("%s: caught up %d records since %s", self.key, read, start.isoformat())
        return read

    def catch_up_quietly(self, stop: threading.Event) -> None:
        """``catch_up``; a terminal without the search (or refusing it) still streams, so a
        failure is only noted (log, status) and the session goes on."""
        try:
            self.catch_up(stop)
        except (httpx.HTTPError, TerminalError, BadPayload) as exc:
            self._last_error = f"catch-up failed: {exc}"
            log.warning("%s: catch-up failed: %s", self.key, exc)

    def follow_stream(self, response: httpx.Response, stop: threading.Event, *, what: str,
                      complete: BodyComplete) -> None:
        """Read a multipart event stream: catch up on the device's log once it is open (so
        nothing falls between the two), then ``take`` its parts until it ends or ``stop``.
        ``complete`` tells a whole body from a part whose stated length lies."""
        content_type = response.headers.get("content-type", "")
        boundary = boundary_of(content_type)
        if boundary is None:
            raise TerminalError(f"{what} answered {content_type!r}, not a multipart stream")
        self.saw_data()
        log.info("%s: %s open on %s", self.key, what, self.config.base_url)
        self.catch_up_quietly(stop)
        reader = MultipartReader(boundary, max_part_bytes=self.config.max_part_bytes,
                                 complete=complete)
        for chunk in response.iter_raw():
            self.saw_data()
            self.take(reader.feed(chunk), "stream")
            if stop.is_set():
                return
        self.take(reader.finish(), "stream")

    def client(self) -> httpx.Client:
        """An HTTP client for the device, with its digest credentials."""
        return httpx.Client(
            base_url=self.config.base_url,
            auth=httpx.DigestAuth(self.config.username, self.config.password.get_secret_value()),
            timeout=httpx.Timeout(self.config.timeout_s),
            verify=self.config.verify_tls,
            headers={"User-Agent": "linli-edge"},
        )

    @contextmanager
    def stream(self, client: httpx.Client, url: str) -> Iterator[httpx.Response]:
        """A long-lived GET whose socket the agent's stop can shut; the read timeout is
        the stream's allowed silence."""
        timeout = httpx.Timeout(self.config.timeout_s, read=self.config.silence_s)
        with client.stream("GET", url, timeout=timeout) as response:
            self.drift.observe_http_date(response.headers.get("date"))
            check_status(response)
            stream = response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            with self._lock:
                self._socket = sock if isinstance(sock, socket.socket) else None
            if self._stop.is_set():
                self._shutdown_socket()
            self._connected = True
            try:
                yield response
            finally:
                self._connected = False
                with self._lock:
                    self._socket = None

    def saw_data(self) -> None:
        """Note that the device just sent something (it is alive)."""
        self._last_seen = time.monotonic()

    def spool_rejects(self, rejected: Sequence[RejectedLine]) -> None:
        """Keep inputs that made no record at all (broken parts) aside."""
        if rejected:
            self.accept((), rejected)

    # -- internals -------------------------------------------------------------------------

    def _one_session(self, stop: threading.Event) -> str:
        try:
            self.session(stop)
            reason = "the device ended the connection"
        except httpx.ReadTimeout:
            reason = (f"no data for {self.config.silence_s:.0f}s "
                      f"({self.config.silent_heartbeats} heartbeats)")
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        except (TerminalError, OSError) as exc:
            reason = str(exc)
        except Exception as exc:
            log.exception("%s: session failed", self.key)
            reason = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            self._connected = False
        if not stop.is_set():
            self._last_error = reason
        return reason

    def _already_spooled(self, record: TerminalRecord) -> bool:
        """Whether replayed history lies at or before the checkpoint. The terminal replays
        its log in order, as the stream delivered it, so such a record was spooled (or
        skipped on purpose) before. Catch-up results are never judged so: a search may
        overlap pushes that arrived out of order, and ingest drops what is doubled."""
        checkpoint = self._checkpoint
        if checkpoint.at is None:
            window = dt.timedelta(hours=self.config.backfill_hours)
            return record.at < self.drift.device_now() - window
        if record.at != checkpoint.at:
            return record.at < checkpoint.at
        return (record.number is not None and checkpoint.number is not None
                and record.number <= checkpoint.number)

    def _abort_on_stop(self, stop: threading.Event) -> None:
        stop.wait()
        self._shutdown_socket()

    def _shutdown_socket(self) -> None:
        with self._lock:
            sock = self._socket
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to interrupt
                sock.shutdown(socket.SHUT_RDWR)


def check_status(response: httpx.Response) -> None:
    """TerminalError with a useful message for a response that is not a success."""
    if response.status_code == 401:
        raise TerminalError("the device refused the login (HTTP 401): check username and "
                            "password (repeated failures may lock the account for a while)")
    if response.status_code >= 400:
        raise TerminalError(f"the device answered HTTP {response.status_code} to "
                            f"{response.request.method} {response.request.url.path}")
