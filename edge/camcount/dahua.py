"""The ``dahua-counting`` source: a Dahua camera's own people counting (the ``NumberStat``
rule), read from ``videoStatServer.cgi``.

``GET /cgi-bin/videoStatServer.cgi?action=attach&channel=N&heartbeat=S`` holds a
``multipart/x-mixed-replace; boundary=myboundary`` stream open: a ``text/plain`` part of
``summary.*`` lines each time the counts change (and one when it opens), ``Heartbeat``
between. ``action=getSummary&channel=N`` answers the same lines once; it is read when the
stream opens, so what passed during an outage is counted at once. The lines::

    summary.Channel=0
    summary.RuleName=NumberStat
    summary.EnteredSubtotal.Hour=2
    summary.EnteredSubtotal.Today=31
    summary.EnteredSubtotal.Total=1208
    summary.ExitedSubtotal.Today=29
    summary.ExitedSubtotal.Total=1190
    summary.InsideSubtotal.Total=2
    summary.UTC=1615580510

``Total`` is cleared only by hand (``clearSectionStat``), ``Today`` every midnight; both
are running totals that ``CounterTracker`` turns into deltas.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from edge.camcount.config import DahuaCountingSource
from edge.camcount.counters import Reading
from edge.camcount.source import CountingCamera
from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.vendors.multipart import BadPart, Part
from edge.vendors.payload import BadPayload, as_int, as_text, epoch_time, utf8
from edge.vendors.terminal import check_status

__all__ = ["DahuaCounting", "make_source", "read_summary", "summary_complete"]

VIDEO_STAT = "/cgi-bin/videoStatServer.cgi"
HEARTBEAT = b"Heartbeat"
MAX_COUNTER = 10_000_000
_LINE = re.compile(r"^summary\.([A-Za-z][A-Za-z0-9.]{0,63})=(.*)$")


def read_summary(body: bytes) -> dict[str, str] | None:
    """The ``summary.*`` values of a part or a ``getSummary`` answer; None for a heartbeat."""
    text = utf8(body, "summary").strip()
    if text.encode() == HEARTBEAT:
        return None
    if text.lower().startswith("error"):
        raise BadPayload(f"the device refused: {' '.join(text.split())[:200]}")
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise BadPayload(f"summary line {line[:80]!r} is not summary.Key=value")
        values[match.group(1)] = match.group(2).strip()
    if not values:
        raise BadPayload("empty summary")
    return values


def summary_complete(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a part's body is whole: a heartbeat, or exactly as long as its
    ``Content-Length`` says (give or take the line end stripped before this is asked).
    A body one digit short would read as a smaller total, a false reset, so anything else
    waits for the next boundary (at most a heartbeat later)."""
    if body == HEARTBEAT:
        return True
    declared = (headers.get("content-length") or "").strip()
    return declared.isdigit() and 0 <= int(declared) - len(body) <= 2


class DahuaCounting(CountingCamera):
    """One Dahua counting camera."""

    vendor = "dahua-counting"

    def __init__(self, config: DahuaCountingSource, context: SourceContext) -> None:
        super().__init__(config, context)
        self.dahua = config

    @property
    def attach_url(self) -> str:
        """The stream's URL."""
        return (f"{VIDEO_STAT}?action=attach&channel={self.dahua.channel}"
                f"&heartbeat={max(1, round(self.dahua.heartbeat_s))}")

    def session(self, stop: threading.Event) -> None:
        """One attach: the current totals, then the stream until it ends."""
        with self.client() as client, self.stream(client, self.attach_url) as response:
            self.follow_stream(response, stop, what="videoStatServer", complete=summary_complete)

    def read_totals(self) -> list[Reading]:
        """``getSummary``: the totals now."""
        with self.client() as client:
            response = client.get(VIDEO_STAT, params={"action": "getSummary",
                                                      "channel": self.dahua.channel})
            self.drift.observe_http_date(response.headers.get("date"))
            check_status(response)
        values = read_summary(response.content)
        self.saw_data()
        return [] if values is None else [self.reading(values)]

    def reading(self, values: Mapping[str, str]) -> Reading:
        """The configured counter out of a summary."""
        suffix = "Total" if self.dahua.counter == "total" else "Today"
        entered = _counter(values, f"EnteredSubtotal.{suffix}")
        exited = _counter(values, f"ExitedSubtotal.{suffix}")
        rule = as_text(values.get("RuleName"), "RuleName") or "NumberStat"
        area = as_int(values.get("AreaID"), "AreaID")
        stream = f"ch{self.dahua.channel}/{rule}" + (f"/area{area}" if area is not None else "")
        at = epoch_time(values["UTC"]) if values.get("UTC") else self.drift.device_now()
        attrs: dict[str, Any] = {"channel": self.dahua.channel, "rule": rule,
                                 "counter_kind": self.dahua.counter}
        inside = as_int(values.get("InsideSubtotal.Total"), "InsideSubtotal.Total")
        if inside is not None:
            attrs["inside_total"] = inside
        return Reading(stream, at.astimezone(dt.UTC), entered, exited, attrs)

    def take(self, items: Sequence[Part | BadPart], channel: str) -> None:
        """Readings out of the stream's parts."""
        where = f"{self.key}:{channel}"
        readings: list[Reading] = []
        rejected: list[RejectedLine] = []
        for item in items:
            if isinstance(item, BadPart):
                rejected.append(RejectedLine(where, 0, item.raw, item.reason))
                continue
            try:
                values = read_summary(item.body)
                if values is None:
                    self.stats.heartbeats += 1
                    continue
                readings.append(self.reading(values))
            except BadPayload as exc:
                rejected.append(RejectedLine(where, 0, item.body[:2048], str(exc)))
        if readings or rejected:
            self.count(readings, (), rejected, channel=channel)


def _counter(values: Mapping[str, str], name: str) -> int:
    value = as_int(values.get(name), name)
    if value is None:
        raise BadPayload(f"summary without {name}")
    if not 0 <= value <= MAX_COUNTER:
        raise BadPayload(f"summary {name} {value} is out of range")
    return value


def make_source(config: DahuaCountingSource, context: SourceContext) -> DahuaCounting:
    """The source factory for ``type: dahua-counting``."""
    return DahuaCounting(config, context)
