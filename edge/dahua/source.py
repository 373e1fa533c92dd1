"""The Dahua source: the ``eventManager`` stream, and ``recordFinder`` to catch up.

Each session attaches to ``GET /cgi-bin/eventManager.cgi?action=attach&codes=[...]
&heartbeat=N`` with digest authentication (``multipart/x-mixed-replace;
boundary=myboundary``), catches up on the ``AccessControlCardRec`` log from the
checkpoint while the stream's first bytes wait, then reads parts until the stream ends
or stays silent for ``silent_heartbeats`` heartbeats.

The catch-up pages through ``recordFinder.cgi?action=find&name=AccessControlCardRec
&StartTime=..&EndTime=..&count=N`` by time: the ``find`` action has no offset, so each
next page starts at the last page's newest ``CreateTime`` and the records already read
(same time, lower or equal ``RecNo``) are left out.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator, Sequence

from edge.dahua.config import DahuaSource
from edge.dahua.mapping import map_event, record_as_event
from edge.dahua.parse import body_complete, read_body, read_records
from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.vendors.multipart import BadPart, Part
from edge.vendors.payload import BadPayload, as_int
from edge.vendors.records import TerminalRecord
from edge.vendors.terminal import TerminalSource, check_status
from linli.contract import utc_now

__all__ = ["DahuaTerminal", "make_source"]

log = logging.getLogger(__name__)

EVENT_MANAGER = "/cgi-bin/eventManager.cgi"
RECORD_FINDER = "/cgi-bin/recordFinder.cgi"
MAX_SEARCH_PAGES = 10_000


class DahuaTerminal(TerminalSource):
    """One Dahua terminal, read over its CGI."""

    vendor = "dahua"

    def __init__(self, config: DahuaSource, context: SourceContext) -> None:
        super().__init__(config, context)
        self.dahua = config

    @property
    def attach_url(self) -> str:
        """The stream's URL (brackets and commas literal, as the devices expect)."""
        codes = ",".join(self.dahua.events)
        return (f"{EVENT_MANAGER}?action=attach&codes=[{codes}]"
                f"&heartbeat={max(1, round(self.dahua.heartbeat_s))}")

    def session(self, stop: threading.Event) -> None:
        """One attach: catch up, then read the stream until it ends."""
        with self.client() as client, self.stream(client, self.attach_url) as response:
            self.follow_stream(response, stop, what="eventManager", complete=body_complete)

    def take(self, items: Sequence[Part | BadPart], channel: str) -> None:
        """Map and spool the parts the stream delivered."""
        where = f"{self.key}:{channel}"
        records: list[TerminalRecord] = []
        rejected: list[RejectedLine] = []
        received_at = utc_now()
        for item in items:
            if isinstance(item, BadPart):
                rejected.append(RejectedLine(where, 0, item.raw, item.reason))
                continue
            try:
                events = read_body(item.body)
            except BadPayload as exc:
                rejected.append(RejectedLine(where, 0, item.body[:2048], str(exc)))
                continue
            if not events:
                self.stats.heartbeats += 1
            for event in events:
                try:
                    record = map_event(event, self.dahua, community=self.community,
                                       building=self.building, where=where,
                                       received_at=received_at, drift_s=self.drift.notable(),
                                       device_clock=self.drift.device_now())
                except BadPayload as exc:
                    rejected.append(RejectedLine(where, 0, item.body[:2048], str(exc)))
                    continue
                if event.data.get("UTC") not in (None, ""):
                    self.drift.observe(record.at, received_at)
                records.append(record)
        if records or rejected:
            self.accept(records, rejected)

    def search(self, start: dt.datetime, end: dt.datetime,
               stop: threading.Event) -> Iterator[Sequence[TerminalRecord]]:
        """``AccessControlCardRec`` between ``start`` and ``end``, paged by time."""
        where = f"{self.key}:search"
        since, seen = int(start.timestamp()), (int(start.timestamp()), -1)
        until = int(end.timestamp())
        with self.client() as client:
            for _ in range(MAX_SEARCH_PAGES):
                if stop.is_set():
                    return
                response = client.get(RECORD_FINDER, params={
                    "action": "find", "name": "AccessControlCardRec", "StartTime": since,
                    "EndTime": until, "count": self.dahua.page_size})
                self.drift.observe_http_date(response.headers.get("date"))
                check_status(response)
                page = read_records(response.content)
                self.saw_data()
                records, newest = self._page_records(page.records, where, seen)
                yield records
                if len(page.records) < self.dahua.page_size or newest == seen:
                    if len(page.records) >= self.dahua.page_size:
                        log.warning("%s: more than %d records share the second %d; the rest "
                                    "of that second cannot be paged", self.key,
                                    self.dahua.page_size, newest[0])
                    return
                since, seen = newest[0], newest
        log.warning("%s: search stopped after %d pages", self.key, MAX_SEARCH_PAGES)

    def _page_records(self, rows: Sequence[dict[str, str]], where: str,
                      seen: tuple[int, int]) -> tuple[list[TerminalRecord], tuple[int, int]]:
        records: list[TerminalRecord] = []
        rejected: list[RejectedLine] = []
        newest = seen
        received_at = utc_now()
        for row in rows:
            try:
                position = (as_int(row.get("CreateTime"), "CreateTime") or 0,
                            as_int(row.get("RecNo"), "RecNo") or 0)
                if position <= seen:
                    continue  # the previous page ended inside this second
                newest = max(newest, position)
                records.append(map_event(record_as_event(row), self.dahua,
                                         community=self.community, building=self.building,
                                         where=where, received_at=received_at))
            except BadPayload as exc:
                rejected.append(RejectedLine(where, 0, repr(row)[:2048].encode(), str(exc)))
        self.spool_rejects(rejected)
        records.sort(key=lambda r: (r.at, r.number or 0))
        return records, newest


def make_source(config: DahuaSource, context: SourceContext) -> DahuaTerminal:
    """The source factory for ``type: dahua``."""
    return DahuaTerminal(config, context)
