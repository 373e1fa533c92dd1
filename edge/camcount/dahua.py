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

With ``interface: event_manager`` the source instead attaches to
``/cgi-bin/eventManager.cgi?action=attach&codes=[NumberStat]&heartbeat=S`` (the same
multipart stream as the door terminals) and reads the people-counting rule's events::

    Code=NumberStat;action=Pulse;index=0;data={
       "Class" : "NumberStat", "Name" : "NumberStat", "AreaID" : 0,
       "EnteredNumber" : 1208, "ExitedNumber" : 1190, "Number" : 18,
       "Type" : "", "UTC" : 1615580510, "PTS" : 43380319830.0 }

``EnteredNumber``/``ExitedNumber`` are the rule's running totals (``Number`` who is
inside, ``Type`` ``EnterOver``/``ExitOver``/``InsideOver`` when a limit alarm fired), so
they go through the same tracker, in a counter stream of their own (``…/events``): they
are never mixed with the ``videoStatServer`` totals, which may be another of the rule's
counters. ``index`` is the channel from 0. Nothing is read when the stream opens: the
first event after an outage carries the totals, and their difference to the stored ones
is what passed meanwhile. ``ManNumDetection`` (people in an area, not passages) and
``CrossLineDetection`` (a tripwire alarm per object, not the camera's count) are not
attached; sent anyway, they are ignored.
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
from edge.dahua.parse import DahuaEvent, body_complete, read_body
from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.vendors.multipart import BadPart, Part
from edge.vendors.payload import BadPayload, as_int, as_text, epoch_time, parse_device_time, utf8
from edge.vendors.terminal import check_status

__all__ = ["DahuaCounting", "make_source", "read_number_stat", "read_summary",
           "summary_complete"]

VIDEO_STAT = "/cgi-bin/videoStatServer.cgi"
EVENT_MANAGER = "/cgi-bin/eventManager.cgi"
NUMBER_STAT = "NumberStat"
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


def read_number_stat(event: DahuaEvent, zone: Any, now: dt.datetime) -> Reading:
    """A ``NumberStat`` event's running totals (``now``: the device's time, for an event
    without one)."""
    data = event.data
    entered = _counter(data, "EnteredNumber")
    exited = _counter(data, "ExitedNumber")
    channel = event.index + 1
    rule = as_text(data.get("Name"), "Name") or NUMBER_STAT
    area = as_int(data.get("AreaID"), "AreaID")
    stream = f"ch{channel}/{rule[:32]}" + (f"/area{area}" if area is not None else "") + "/events"
    if data.get("UTC") not in (None, ""):
        at = epoch_time(data.get("UTC"), "UTC")
    elif data.get("LocaleTime") not in (None, ""):
        at = parse_device_time(str(data["LocaleTime"]).replace(" ", "T", 1), zone, "LocaleTime")
    else:
        at = now
    attrs: dict[str, Any] = {"channel": channel, "rule": rule[:64], "interface": "event_manager"}
    inside = as_int(data.get("Number"), "Number")
    if inside is not None:
        attrs["inside_total"] = inside
    alarm = as_text(data.get("Type"), "Type")
    if alarm:
        attrs["limit_alarm"] = alarm[:32]
    return Reading(stream, at.astimezone(dt.UTC), entered, exited, attrs)


class DahuaCounting(CountingCamera):
    """One Dahua counting camera."""

    vendor = "dahua-counting"

    def __init__(self, config: DahuaCountingSource, context: SourceContext) -> None:
        super().__init__(config, context)
        self.dahua = config

    @property
    def attach_url(self) -> str:
        """The stream's URL (brackets literal, as the devices expect)."""
        beat = max(1, round(self.dahua.heartbeat_s))
        if self.dahua.interface == "event_manager":
            return f"{EVENT_MANAGER}?action=attach&codes=[{NUMBER_STAT}]&heartbeat={beat}"
        return f"{VIDEO_STAT}?action=attach&channel={self.dahua.channel}&heartbeat={beat}"

    def session(self, stop: threading.Event) -> None:
        """One attach: the current totals, then the stream until it ends."""
        events = self.dahua.interface == "event_manager"
        with self.client() as client, self.stream(client, self.attach_url) as response:
            self.follow_stream(response, stop, what="eventManager" if events else "videoStatServer",
                               complete=body_complete if events else summary_complete)

    def read_totals(self) -> list[Reading]:
        """``getSummary``: the totals now (``video_stat`` only; see the module docstring)."""
        if self.dahua.interface == "event_manager":
            return []
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
            if self.dahua.interface == "event_manager":
                self._take_events(item, readings, rejected, where)
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

    def _take_events(self, item: Part, readings: list[Reading], rejected: list[RejectedLine],
                     where: str) -> None:
        try:
            events = read_body(item.body)
        except BadPayload as exc:
            rejected.append(RejectedLine(where, 0, item.body[:2048], str(exc)))
            return
        if not events:
            self.stats.heartbeats += 1
        for event in events:
            if event.code != NUMBER_STAT or event.index + 1 != self.dahua.channel:
                self.stats.ignored += 1
                continue
            try:
                readings.append(read_number_stat(event, self.dahua.zone, self.drift.device_now()))
            except BadPayload as exc:
                rejected.append(RejectedLine(where, 0, item.body[:2048], str(exc)))


def _counter(values: Mapping[str, Any], name: str) -> int:
    value = as_int(values.get(name), name)
    if value is None:
        raise BadPayload(f"counts without {name}")
    if not 0 <= value <= MAX_COUNTER:
        raise BadPayload(f"{name} {value} is out of range")
    return value


def make_source(config: DahuaCountingSource, context: SourceContext) -> DahuaCounting:
    """The source factory for ``type: dahua-counting``."""
    return DahuaCounting(config, context)
