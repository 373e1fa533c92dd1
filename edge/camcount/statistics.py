"""A Hikvision camera's stored people-counting statistics, read to catch up after an outage.

``POST /ISAPI/System/Video/inputs/channels/<id>/counting/search`` with a
``CountingStatisticsDescription`` (``reportType`` ``daily``: one day, in hourly slots)
answers a ``CountingStatisticsResult``::

    <CountingStatisticsResult version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
      <responseStatus>OK</responseStatus>
      <responseStatusStrg>OK</responseStatusStrg>
      <matchList>
        <matchElement>
          <timeSpan><startTime>2017-01-30T00:00:00</startTime>
                    <endTime>2017-01-30T00:59:59</endTime></timeSpan>
          <enterCount>0</enterCount>
          <exitCount>0</exitCount>
        </matchElement>
        ...

Times are the camera's local time. The camera's real-time counter (what ``alertStream``
reports) restarts at midnight, so the sum of a day's slots up to the end of a slot is the
running total the camera would have reported at that moment. Catching up therefore
turns every *closed* slot after the last report the agent saw into a ``Reading`` of those
running totals, timed at the slot's end, and hands it to the same ``CounterTracker`` the
live stream feeds. That is what makes it count each person once:

- a slot that ended before the stored report adds nothing (stale), the slot holding it
  adds only what its end total exceeds the stored total by — the people live reports
  already gave are never given again;
- the live stream then goes on from the caught-up totals; a report re-sent from the outage
  (``isDataRetransmission``) is older and no higher, so stale; a later one counts only
  what lies beyond the slot totals;
- the day after a midnight within the outage starts low: a new epoch, as the live counter
  would have shown;
- the deltas' ids come from (device, counter, epoch, totals), so reading the same slots
  again — a second reconnect, a restart before the spool committed — makes the same ids.

The hour still open is left to the next live report (its count may still grow). Before
any slot is used the day of the stored report is checked against it: the slots that ended
before it must not add up to more than the stored totals, those up to its hour not to
less. A counter cleared by hand during the day, a reset time other than midnight, or a
camera that keeps no statistics fails that check; then nothing is caught up (the next
live report still counts the outage, at its own time) and ``counting_statistics``
is raised for the installer.

A camera reporting closed windows (``reports: time_range``) is caught up from the same
slots against its ``WindowMark``: the hour the last window counted started in gives only
what its slot holds beyond what the windows counted in it (from the mark to the hour's
end), each later closed hour all of its slot; every one of them is handed on as a window
(id from the stream and its bounds), and the mark moves to the hour's end, so a window the
camera re-sends from the outage (``isDataRetransmission``) ends at or before the mark and
is not counted again. An hour whose slot holds fewer people than the windows counted in
it is a mismatch: nothing is caught up.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from edge.camcount.counters import Reading, StreamState, WindowMark
from edge.camcount.source import Window
from edge.vendors.payload import BadPayload, as_int, load_xml, local_name, parse_device_time

__all__ = ["MAX_DAYS", "Slot", "catch_up_readings", "catch_up_windows", "read_statistics",
           "search_body", "search_days", "search_path"]

MAX_DAYS = 7
"""Days searched back at most (cameras keep more, an outage of a week is a visit)."""
MAX_SLOTS = 24 * 32
MAX_COUNT = 1_000_000


@dataclass(frozen=True, slots=True)
class Slot:
    """People counted in one statistics slot (camera local times, inclusive end)."""

    start: dt.datetime
    end: dt.datetime
    entered: int
    exited: int


def search_path(channel: int) -> str:
    """The search's URL path for a video channel."""
    return f"/ISAPI/System/Video/inputs/channels/{channel}/counting/search"


def search_body(day: dt.date) -> bytes:
    """The request for one day's hourly slots."""
    start = dt.datetime.combine(day, dt.time(0, 0, 0)).isoformat()
    end = dt.datetime.combine(day, dt.time(23, 59, 59)).isoformat()
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
            '<CountingStatisticsDescription version="2.0" '
            'xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
            "<reportType>daily</reportType>\r\n<timeSpanList>\r\n<timeSpan>\r\n"
            f"<startTime>{start}</startTime>\r\n<endTime>{end}</endTime>\r\n"
            "</timeSpan>\r\n</timeSpanList>\r\n</CountingStatisticsDescription>\r\n").encode()


def search_days(since: dt.datetime, now: dt.datetime, zone: ZoneInfo) -> list[dt.date]:
    """The camera-local days from the one holding ``since`` to today (at most MAX_DAYS,
    the most recent ones: older days can no longer be told apart from resets)."""
    first, last = since.astimezone(zone).date(), now.astimezone(zone).date()
    if last < first:
        return []
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return days[-MAX_DAYS:]


def read_statistics(body: bytes, zone: ZoneInfo) -> list[Slot]:
    """The slots of a ``CountingStatisticsResult`` (BadPayload for anything else)."""
    root = load_xml(body, "counting statistics")
    if local_name(root.tag) != "CountingStatisticsResult":
        raise BadPayload(f"expected CountingStatisticsResult, got {local_name(root.tag)[:40]}")
    status = (_child_text(root, "responseStatusStrg") or _child_text(root, "responseStatus")
              or "OK")
    if status.upper() not in ("OK", "TRUE", "MORE", "NO MATCH", "NO MATCHES"):
        raise BadPayload(f"the camera refused the counting search: {status[:80]}")
    slots: list[Slot] = []
    for element in root.iter():
        if local_name(element.tag) != "matchElement":
            continue
        if len(slots) >= MAX_SLOTS:
            raise BadPayload(f"more than {MAX_SLOTS} statistics slots")
        span = _child(element, "timeSpan")
        if span is None:
            raise BadPayload("statistics slot without timeSpan")
        start = parse_device_time(_child_text(span, "startTime"), zone, "slot startTime")
        end = parse_device_time(_child_text(span, "endTime"), zone, "slot endTime")
        if end < start:
            raise BadPayload(f"statistics slot ends before it starts ({start}–{end})")
        slots.append(Slot(start, end, _count(element, "enterCount"),
                          _count(element, "exitCount")))
    return sorted(slots, key=lambda s: s.start)


def catch_up_readings(stream: str, state: StreamState, slots: Sequence[Slot],
                      now: dt.datetime, zone: ZoneInfo,
                      attrs: dict[str, Any]) -> tuple[list[Reading], str | None]:
    """The running totals at the end of each closed slot after ``state`` (see the module
    docstring), or no readings and the reason the slots cannot be trusted."""
    stored_day = state.at.astimezone(zone).date()
    by_day: dict[dt.date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    before = _sum(s for s in by_day.get(stored_day, []) if s.end < state.at)
    upto = _sum(s for s in by_day.get(stored_day, []) if s.start <= state.at)
    stored = (state.entered, state.exited)
    if any(b > t for b, t in zip(before, stored, strict=True)) or any(
            u < t for u, t in zip(upto, stored, strict=True)):
        return [], (f"the camera's statistics for {stored_day} ({before[0]}/{before[1]} in/out "
                    f"before {state.at.astimezone(zone):%H:%M}, {upto[0]}/{upto[1]} to the end "
                    f"of that hour) do not match its counter (in={state.entered} "
                    f"out={state.exited}): counter cleared by hand, or not reset at midnight?")
    readings: list[Reading] = []
    for day in sorted(by_day):
        if day < stored_day:
            continue
        entered = exited = 0
        for slot in by_day[day]:
            entered, exited = entered + slot.entered, exited + slot.exited
            if slot.end <= state.at or slot.end >= now:
                continue
            readings.append(Reading(stream, slot.end.astimezone(dt.UTC), entered, exited,
                                    {**attrs, "caught_up": True,
                                     "slot_start": slot.start.isoformat()}))
    return readings, None


def catch_up_windows(stream: str, mark: WindowMark, slots: Sequence[Slot], now: dt.datetime,
                     attrs: dict[str, Any]) -> tuple[list[Window], str | None]:
    """The closed hours after ``mark`` as windows of what the windows did not count (see
    the module docstring), or none and the reason the slots cannot be trusted."""
    windows: list[Window] = []
    second = dt.timedelta(seconds=1)
    for slot in slots:
        boundary = slot.end + second
        if boundary > now or slot.start < mark.hour or mark.until >= boundary:
            continue
        if slot.start == mark.hour:
            entered, exited = slot.entered - mark.entered, slot.exited - mark.exited
            if entered < 0 or exited < 0:
                return [], (f"the camera's statistics for the hour from "
                            f"{slot.start:%Y-%m-%d %H:%M} ({slot.entered}/{slot.exited} in/out) "
                            f"hold fewer people than its windows reported in it "
                            f"({mark.entered}/{mark.exited})")
            start = mark.until
        elif slot.start < mark.until:
            continue  # the last window ran into this hour: it cannot be split, leave it
        else:
            entered, exited, start = slot.entered, slot.exited, slot.start
        if entered == 0 and exited == 0:
            continue  # nobody passed: nothing to count, and nothing a re-sent window could double
        windows.append(Window(stream, start.astimezone(dt.UTC), boundary.astimezone(dt.UTC),
                              entered, exited, {**attrs, "caught_up": True,
                                                "slot_start": slot.start.isoformat()}))
    return windows, None


def _sum(slots: Any) -> tuple[int, int]:
    entered = exited = 0
    for slot in slots:
        entered, exited = entered + slot.entered, exited + slot.exited
    return entered, exited


def _count(element: ET.Element, name: str) -> int:
    value = as_int(_child_text(element, name), name)
    if value is None:
        raise BadPayload(f"statistics slot without {name}")
    if not 0 <= value <= MAX_COUNT:
        raise BadPayload(f"statistics {name} {value} is out of range")
    return value


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if local_name(c.tag) == name), None)


def _child_text(element: ET.Element, name: str) -> str | None:
    child = _child(element, name)
    return None if child is None else (child.text or "").strip()

