"""The Hikvision ISAPI source: the alertStream (or the terminal's HTTP push), and the
AcsEvent search to catch up on what was missed.

``mode: stream``: each session opens ``GET /ISAPI/Event/notification/alertStream`` with
digest authentication, then — while the stream's first bytes wait in the socket — runs
a catch-up search from the checkpoint to now, then reads parts until the stream ends or
stays silent for ``silent_heartbeats`` heartbeats, and the loop reconnects. History the
terminal replays on connect (``currentEvent: false``) that is older than the checkpoint
is skipped; the rest is de-duplicated by its derived record id.

``mode: push``: the terminal POSTs every event to the agent's listener; the session
runs the listener, catches up when it starts, when a terminal that had gone silent is
heard again, and every ``reconcile_s``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from edge.hikvision.config import HikvisionSource
from edge.hikvision.mapping import map_record, record_time
from edge.hikvision.parse import (
    AcsRecord,
    Heartbeat,
    Picture,
    body_complete,
    push_parts,
    read_envelope,
    read_part,
    read_search_page,
)
from edge.hikvision.wiring import ExitAfterLock
from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.vendors.config import parse_listen
from edge.vendors.digest import DigestVerifier
from edge.vendors.listener import PushListener, PushRequest
from edge.vendors.multipart import BadPart, Part
from edge.vendors.payload import BadPayload
from edge.vendors.records import TerminalRecord
from edge.vendors.terminal import TerminalSource, check_status

__all__ = ["HikvisionTerminal", "make_source"]

log = logging.getLogger(__name__)

ALERT_STREAM = "/ISAPI/Event/notification/alertStream"
ACS_EVENT = "/ISAPI/AccessControl/AcsEvent"
MAX_SEARCH_PAGES = 10_000
HEARTBEAT_TYPES = ("videoloss", "heartBeat", "heartbeat")
PUSH_BODY_MAX = 4 * 1024 * 1024
"""Largest push accepted (an event with a face picture is well under this)."""


class HikvisionTerminal(TerminalSource):
    """One Hikvision terminal, read over ISAPI."""

    vendor = "hikvision"

    def __init__(self, config: HikvisionSource, context: SourceContext) -> None:
        super().__init__(config, context)
        self.hik = config
        self._last_push: float | None = None
        self._heard_again = threading.Event()
        self.push_port: int | None = None
        """The port the push listener bound (push mode, once listening)."""
        self._wiring = ExitAfterLock(config.wiring_check, config.wiring_window_s)
        self._wiring_seen: set[uuid.UUID] = set()

    # -- sessions --------------------------------------------------------------------------

    def session(self, stop: threading.Event) -> None:
        """One alertStream connection, or the push listener's life."""
        if self.hik.mode == "push":
            self._push_session(stop)
        else:
            self._stream_session(stop)

    def _stream_session(self, stop: threading.Event) -> None:
        with self.client() as client, self.stream(client, ALERT_STREAM) as response:
            self.follow_stream(response, stop, what="alertStream", complete=body_complete)

    def _push_session(self, stop: threading.Event) -> None:
        assert self.hik.listen is not None  # the config's validator saw to it
        auth = None
        if self.hik.push_auth is not None:
            auth = DigestVerifier(f"linli-{self.device}", {
                self.hik.push_auth.username: self.hik.push_auth.password.get_secret_value()})
        listener = PushListener(parse_listen(self.hik.listen), self.hik.path, self._on_push,
                                auth=auth, max_body_bytes=PUSH_BODY_MAX, name=self.key).start()
        self.push_port = listener.port
        try:
            log.info("%s: listening for pushes on port %d%s", self.key, listener.port,
                     self.hik.path)
            self.catch_up_quietly(stop)
            reconcile_at = time.monotonic() + self.hik.reconcile_s
            while not stop.wait(0.2):
                if self._heard_again.is_set():
                    self._heard_again.clear()
                    self.catch_up_quietly(stop)
                elif self.hik.reconcile_s and time.monotonic() >= reconcile_at:
                    reconcile_at = time.monotonic() + self.hik.reconcile_s
                    self.catch_up_quietly(stop)
        finally:
            self.push_port = None
            listener.close()

    def _on_push(self, request: PushRequest) -> int:
        if not self.is_online():
            self._heard_again.set()  # it was silent: its log may hold what it could not push
        self._last_push = time.monotonic()
        self.saw_data()
        self.take(push_parts(request.headers.get("content-type", ""), request.body,
                             self.hik.max_part_bytes), "push")
        return 200

    def is_online(self) -> bool:
        """Stream: while the stream is open; push: heard within ``offline_after_s``."""
        if self.hik.mode == "stream":
            return super().is_online()
        last = self._last_push
        return last is not None and time.monotonic() - last < self.hik.offline_after_s

    def device_status(self) -> dict[str, Any] | None:
        """The base status plus the mode."""
        document = super().device_status() or {}
        return {**document, "mode": self.hik.mode}

    # -- parts and records -----------------------------------------------------------------

    def take(self, items: Sequence[Part | BadPart], channel: str) -> None:
        """Map and spool what the stream or a push delivered."""
        where = f"{self.key}:{channel}"
        records: list[TerminalRecord] = []
        rejected: list[RejectedLine] = []
        for item in items:
            if isinstance(item, BadPart):
                if item.content_type.startswith("image/"):
                    self.stats.pictures_skipped += 1
                else:
                    rejected.append(RejectedLine(where, 0, item.raw, item.reason))
                continue
            try:
                notice = read_part(item)
                if isinstance(notice, AcsRecord):
                    records.append(self._map(notice, where))
                elif isinstance(notice, Picture):
                    self.stats.pictures_skipped += 1
                elif isinstance(notice, Heartbeat) and notice.event_type in HEARTBEAT_TYPES:
                    self.stats.heartbeats += 1
                else:
                    self.stats.ignored += 1
            except BadPayload as exc:
                rejected.append(RejectedLine(where, 0, item.body[:2048], str(exc)))
        if records or rejected:
            self.accept(records, rejected)

    def _map(self, record: AcsRecord, where: str) -> TerminalRecord:
        if record.live is True:
            self.drift.observe(record_time(record, self.hik))
        mapped = map_record(record, self.hik, community=self.community,
                            building=self.building, where=where,
                            drift_s=self.drift.notable(), history=record.live is False)
        if record.live is not False and mapped.event is not None:
            self._check_wiring(mapped)
        return mapped

    def _check_wiring(self, mapped: TerminalRecord) -> None:
        assert mapped.event is not None
        with self._lock:
            if mapped.record_id in self._wiring_seen:
                return  # the same record pushed twice is one occurrence
            self._wiring_seen.add(mapped.record_id)
            if len(self._wiring_seen) > 1000:
                self._wiring_seen.clear()
            wrong = self._wiring.observe(mapped.event)
        if wrong:
            self.raise_problem(
                "exit_after_every_lock_open",
                f"{self._wiring.streak} lock openings in a row were each followed within "
                f"{self.hik.wiring_window_s:g}s by an exit-button event (5.23): this "
                f"terminal reports its door contact there; use a door-contact profile "
                f"(code_table: door-contact) for it")

    # -- catch-up --------------------------------------------------------------------------

    def search(self, start: dt.datetime, end: dt.datetime,
               stop: threading.Event) -> Iterator[Sequence[TerminalRecord]]:
        """``POST /ISAPI/AccessControl/AcsEvent?format=json``, page by page."""
        zone = self.hik.zone
        condition: dict[str, Any] = {
            "searchID": uuid.uuid4().hex, "maxResults": self.hik.page_size,
            "major": 0, "minor": 0,
            "startTime": start.astimezone(zone).isoformat(timespec="seconds"),
            "endTime": end.astimezone(zone).isoformat(timespec="seconds"),
        }
        where = f"{self.key}:search"
        with self.client() as client:
            position = 0
            for _ in range(MAX_SEARCH_PAGES):
                if stop.is_set():
                    return
                condition["searchResultPosition"] = position
                response = client.post(ACS_EVENT, params={"format": "json"},
                                       json={"AcsEventCond": condition})
                self.drift.observe_http_date(response.headers.get("date"))
                check_status(response)
                page = read_search_page(response.content)
                self.saw_data()
                yield self._page_records(page.items, where)
                if page.status != "MORE" or not page.items:
                    return
                position += len(page.items)
        log.warning("%s: search stopped after %d pages", self.key, MAX_SEARCH_PAGES)

    def _page_records(self, items: Sequence[Any], where: str) -> list[TerminalRecord]:
        records: list[TerminalRecord] = []
        rejected: list[RejectedLine] = []
        for item in items:
            try:
                notice = read_envelope(item)
                if not isinstance(notice, AcsRecord):
                    raise BadPayload("search item without major/minor")
                records.append(map_record(notice, self.hik, community=self.community,
                                          building=self.building, where=where,
                                          drift_s=self.drift.notable()))
            except BadPayload as exc:
                rejected.append(RejectedLine(where, 0, repr(item)[:2048].encode(), str(exc)))
        self.spool_rejects(rejected)
        records.sort(key=lambda r: (r.at, r.number or 0))
        return records


def make_source(config: HikvisionSource, context: SourceContext) -> HikvisionTerminal:
    """The source factory for ``type: hikvision-isapi``."""
    return HikvisionTerminal(config, context)
