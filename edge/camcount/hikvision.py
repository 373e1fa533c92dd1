"""The ``hikvision-counting`` source: a Hikvision camera's own people counting, read from
its ISAPI ``alertStream``.

The camera sends an ``EventNotificationAlert`` with ``eventType`` ``PeopleCounting`` (XML;
JSON on firmware asked for it) holding ``peopleCounting``:

- ``statisticalMethods: realTime`` with ``RealTime/time``: ``enter``/``exit`` (and ``pass``)
  are running totals since the counter's last reset (daily by default), sent on every
  crossing — turned into deltas by ``CounterTracker``;
- ``timeRange`` (or ``signalTrigger``) with ``TimeRange/startTime``/``endTime``: the totals
  of that window only, once per upload cycle — counted as a window with an id of its own.

``isDataRetransmission: true`` marks a report the camera re-sends after a network outage;
the tracker drops it when it adds nothing, the window id when it was counted already.
Times may come with a one-digit offset (``-5:00``), which is read as ``-05:00``.

When the stream opens after an outage or a restart, the channels' counters are caught up
from the camera's stored statistics (``counting/search``, hourly slots): what passed while
the agent was away is counted once, timed at the end of its hour (see
``edge.camcount.statistics`` for why nothing is counted twice).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from edge.camcount.config import HikvisionCountingSource
from edge.camcount.counters import Reading, StreamState, WindowMark
from edge.camcount.source import CountingCamera, Window
from edge.camcount.statistics import (
    MAX_DAYS,
    Slot,
    catch_up_readings,
    catch_up_windows,
    read_statistics,
    search_body,
    search_days,
    search_path,
)
from edge.hikvision.parse import body_complete
from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.vendors.multipart import BadPart, Part
from edge.vendors.payload import (
    BadPayload,
    as_int,
    load_json,
    load_xml,
    local_name,
    parse_device_time,
)
from edge.vendors.terminal import check_status

__all__ = ["HikvisionCounting", "make_source", "read_counting"]

ALERT_STREAM = "/ISAPI/Event/notification/alertStream"
COUNTING = "peoplecounting"
_STREAM = re.compile(r"^ch(\d{1,3})$")
_SHORT_OFFSET = re.compile(r"([+-])(\d):(\d\d)$")
MAX_COUNTER = 10_000_000


def read_counting(part: Part, zone: Any) -> Reading | Window | str:
    """A part's people counting as a reading (running totals) or a window; for any other
    notification its ``eventType`` (a heartbeat, another alarm)."""
    envelope = _envelope(part)
    event_type = str(envelope.get("eventType") or "")
    counting = envelope.get("peopleCounting")
    if event_type.lower() != COUNTING:
        return event_type[:64] or "unknown"
    if not isinstance(counting, dict):
        raise BadPayload("PeopleCounting notification without peopleCounting")
    channel = as_int(envelope.get("channelID") or envelope.get("dynChannelID"), "channelID") or 1
    region = as_int(counting.get("regionsID"), "regionsID")
    stream = f"ch{channel}" + (f"/region{region}" if region is not None else "")
    entered, exited = _counter(counting, "enter"), _counter(counting, "exit")
    attrs: dict[str, Any] = {"channel": channel}
    if region is not None:
        attrs["region"] = region
    passed = as_int(counting.get("pass"), "pass")
    if passed is not None:
        attrs["passed_total"] = passed
    if str(envelope.get("isDataRetransmission", "")).lower() == "true":
        attrs["retransmitted"] = True
    method = str(counting.get("statisticalMethods") or "realTime")
    if method == "realTime":
        real = counting.get("RealTime")
        when = (real.get("time") if isinstance(real, dict) else None) or envelope.get("dateTime")
        return Reading(stream, _time(when, zone), entered, exited, attrs)
    window = counting.get("TimeRange")
    if not isinstance(window, dict):
        raise BadPayload(f"{method} people counting without TimeRange")
    return Window(stream, _time(window.get("startTime"), zone), _time(window.get("endTime"), zone),
                  entered, exited, {**attrs, "method": method[:32]})


def _envelope(part: Part) -> dict[str, Any]:
    body = part.body
    if not body:
        raise BadPayload("empty part")
    if "json" in part.content_type or body[:1] == b"{":
        payload = load_json(body, "JSON part")
        if not isinstance(payload, dict):
            raise BadPayload("JSON part is not an object")
        return payload
    root = load_xml(body, "XML part")
    envelope = _as_dict(root)
    if not isinstance(envelope, dict):
        raise BadPayload("XML part without elements")
    envelope.setdefault("eventType", local_name(root.tag))
    return envelope


def _as_dict(element: ET.Element) -> dict[str, Any] | str:
    if len(element) == 0:
        return (element.text or "").strip()
    return {local_name(child.tag): _as_dict(child) for child in element}


def _counter(counting: Mapping[str, Any], name: str) -> int:
    value = as_int(counting.get(name), name)
    if value is None:
        raise BadPayload(f"people counting without {name}")
    if not 0 <= value <= MAX_COUNTER:
        raise BadPayload(f"people counting {name} {value} is out of range")
    return value


def _time(value: Any, zone: Any) -> dt.datetime:
    if isinstance(value, str):
        value = _SHORT_OFFSET.sub(r"\g<1>0\2:\3", value.strip())
    return parse_device_time(value, zone, "counting time")


class HikvisionCounting(CountingCamera):
    """One Hikvision counting camera."""

    vendor = "hikvision-counting"

    def __init__(self, config: HikvisionCountingSource, context: SourceContext) -> None:
        super().__init__(config, context)
        self.hik = config

    def session(self, stop: threading.Event) -> None:
        """One alertStream connection."""
        with self.client() as client, self.stream(client, ALERT_STREAM) as response:
            self.follow_stream(response, stop, what="alertStream", complete=body_complete)

    def read_missed(self) -> tuple[list[Reading], list[Window]]:
        """What the camera counted while the agent was away, from its hourly statistics,
        for every channel counter with a stored state: running totals at the end of each
        missed hour (``real_time``), or the missed hours as windows (``time_range``)."""
        real_time = self.hik.reports == "real_time"
        with self._lock:
            marks: dict[str, StreamState | WindowMark] = dict(
                self.tracker.streams if real_time else self.tracker.windows)
        now = self.drift.device_now()
        readings: list[Reading] = []
        windows: list[Window] = []
        with self.client() as client:
            for name, mark in sorted(marks.items()):
                match = _STREAM.match(name)
                channel = int(match.group(1)) if match else 0
                if not match or (self.hik.channels and channel not in self.hik.channels):
                    continue  # the search is per channel: a region's counter has none
                since = mark.at if isinstance(mark, StreamState) else mark.until
                slots = self._statistics(client, name, channel, since, now)
                if slots is None:
                    continue
                attrs: dict[str, Any] = {"channel": channel}
                if isinstance(mark, StreamState):
                    found, reason = catch_up_readings(name, mark, slots, now, self.hik.zone,
                                                      attrs)
                    readings += found
                else:
                    missed, reason = catch_up_windows(name, mark, slots, now, attrs)
                    windows += missed
                if reason is not None:
                    self.raise_problem("counting_statistics", f"counter {name}: {reason}; "
                                       "not caught up from them")
        self.saw_data()
        return readings, windows

    def _statistics(self, client: httpx.Client, name: str, channel: int, since: dt.datetime,
                    now: dt.datetime) -> list[Slot] | None:
        days = search_days(since, now, self.hik.zone)
        if days and days[0] > since.astimezone(self.hik.zone).date():
            self.raise_problem("counting_statistics", f"counter {name}: last report "
                               f"{since.isoformat()} lies more than {MAX_DAYS} days back; "
                               "not caught up from the camera's statistics")
            return None
        slots: list[Slot] = []
        for day in days:
            response = client.post(search_path(channel), content=search_body(day),
                                   headers={"Content-Type": "application/xml"})
            check_status(response)
            slots += read_statistics(response.content, self.hik.zone)
        return slots

    def take(self, items: Sequence[Part | BadPart], channel: str) -> None:
        """Readings and windows out of the stream's parts."""
        where = f"{self.key}:{channel}"
        readings: list[Reading] = []
        windows: list[Window] = []
        rejected: list[RejectedLine] = []
        wanted = "real_time" if self.hik.reports == "real_time" else "time_range"
        for item in items:
            if isinstance(item, BadPart):
                if item.content_type.startswith("image/"):
                    self.stats.pictures_skipped += 1
                else:
                    rejected.append(RejectedLine(where, 0, item.raw, item.reason))
                continue
            if item.content_type.startswith("image/"):
                self.stats.pictures_skipped += 1
                continue
            try:
                found = read_counting(item, self.hik.zone)
            except BadPayload as exc:
                rejected.append(RejectedLine(where, 0, item.body[:2048], str(exc)))
                continue
            if isinstance(found, str):
                if found in ("videoloss", "heartBeat", "heartbeat"):
                    self.stats.heartbeats += 1
                else:
                    self.stats.ignored += 1
                continue
            if self.hik.channels and found.attrs.get("channel") not in self.hik.channels:
                self.stats.ignored += 1
            elif isinstance(found, Reading) and wanted == "real_time":
                readings.append(found)
            elif isinstance(found, Window) and wanted == "time_range":
                windows.append(found)
            else:
                self.stats.ignored += 1
        if readings or windows or rejected:
            self.count(readings, windows, rejected, channel=channel)


def make_source(config: HikvisionCountingSource, context: SourceContext) -> HikvisionCounting:
    """The source factory for ``type: hikvision-counting``."""
    return HikvisionCounting(config, context)
