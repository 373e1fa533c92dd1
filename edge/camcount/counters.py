"""Cumulative people counters turned into deltas, robustly and idempotently.

A counting camera reports running totals ("entered 70, exited 75 today"), not crossings.
The agent keeps, per counter stream (channel, rule or region), the last totals it turned
into events and the *epoch* they belong to, and makes each new report a delta:

- totals unchanged (a heartbeat-like re-report, a duplicate): nothing;
- a report older than the last one (re-sent history) that does not raise the totals, or
  that is older than the epoch (the day before a reset the agent already saw): stale,
  nothing;
- a total that went down (the daily reset at midnight, a reboot, a cleared counter): a new
  epoch begins at that report, and what it shows was counted from zero within it;
- a delta larger than ``max_delta`` (a counter restored from elsewhere, a device swapped
  behind the same address): a warning, the totals taken as the new base, no events;
- the first report ever seen (no state stored): the base, no events — the day's total
  before the agent started is not a burst of people passing now.

Event ids are derived from (device, stream, epoch, direction, totals before → after): the
epoch is named by the device time of the report that opened it, so the same report read
twice (a restart before its events were spooled, a replay) gives the same ids, and a new
epoch never reuses an old one's ids. The state is stored as the source's checkpoint in the
same spool transaction as the events it produced.

A camera reporting closed windows (not running totals) keeps a ``WindowMark`` per stream
instead: the end of the last window counted, and what the windows counted within the
statistics hour the last one started in — what a catch-up from the hourly statistics needs
to leave out (``edge.camcount.statistics``). A window ending at or before the mark was
counted (or caught up) already.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["CounterTracker", "Delta", "Reading", "StreamState", "Verdict", "WindowMark"]

MAX_STREAMS = 64
"""Counter streams kept per device (channels × rules); more is a confused device."""


class Verdict(StrEnum):
    """What a report did to its counter stream."""

    BASELINE = "baseline"
    COUNTED = "counted"
    UNCHANGED = "unchanged"
    STALE = "stale"
    RESET = "reset"
    JUMP = "jump"


@dataclass(frozen=True, slots=True)
class Reading:
    """One report of a counter stream's totals at a device time."""

    stream: str
    at: dt.datetime
    entered: int
    exited: int
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delta:
    """People counted in one direction by one report."""

    stream: str
    at: dt.datetime
    direction: str
    count: int
    before: int
    after: int
    epoch: int
    """Device time (UTC epoch seconds) of the report that opened the epoch."""

    @property
    def record(self) -> str:
        """What names this delta on its device for good (for ``derived_event_id``)."""
        return f"count/{self.stream}/e{self.epoch}/{self.direction}/{self.before}-{self.after}"


@dataclass(frozen=True, slots=True)
class StreamState:
    """Where one counter stream got to."""

    epoch: int
    entered: int
    exited: int
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class WindowMark:
    """Where one window-reporting stream got to."""

    until: dt.datetime
    """The end of the last window counted (or hour caught up)."""
    hour: dt.datetime
    """The start of the camera's statistics hour the last window started in."""
    entered: int
    exited: int
    """People the windows (or the catch-up) counted within that hour."""


class CounterTracker:
    """The counter streams of one device (see the module docstring); not thread-safe."""

    def __init__(self, max_delta: int, streams: Mapping[str, StreamState] | None = None,
                 windows: Mapping[str, WindowMark] | None = None) -> None:
        self.max_delta = max_delta
        self.streams: dict[str, StreamState] = dict(streams or {})
        self.windows: dict[str, WindowMark] = dict(windows or {})

    def observe_window(self, stream: str, start: dt.datetime, end: dt.datetime,
                       entered: int, exited: int, hour: dt.datetime) -> bool:
        """Whether a closed window is new (then the mark moves past it); ``hour``: the start
        of the camera's statistics hour holding ``start``. A window that ends at or before
        the mark, or starts before it (it overlaps what was counted), is not new."""
        mark = self.windows.get(stream)
        if mark is not None and (end <= mark.until or start < mark.until):
            return False
        if mark is None and len(self.windows) >= MAX_STREAMS:
            return False
        if mark is not None and mark.hour == hour:
            entered, exited = mark.entered + entered, mark.exited + exited
        self.windows[stream] = WindowMark(end, hour, entered, exited)
        return True

    def observe(self, reading: Reading) -> tuple[Verdict, list[Delta]]:
        """The verdict on ``reading`` and the deltas it produced; the state moves on."""
        if reading.entered < 0 or reading.exited < 0:
            raise ValueError("counters are never negative")
        state = self.streams.get(reading.stream)
        if state is None:
            if len(self.streams) >= MAX_STREAMS:
                return Verdict.STALE, []
            self.streams[reading.stream] = _state(reading, _seconds(reading.at))
            return Verdict.BASELINE, []
        d_in, d_out = reading.entered - state.entered, reading.exited - state.exited
        if reading.at < state.at and (
                (d_in <= 0 and d_out <= 0) or reading.at.timestamp() < state.epoch):
            # a re-sent report from before the epoch began (yesterday's, after midnight was
            # seen) shows the old epoch's totals: higher, and counted there already
            return Verdict.STALE, []
        if d_in == 0 and d_out == 0:
            if reading.at > state.at:
                self.streams[reading.stream] = _state(reading, state.epoch)
            return Verdict.UNCHANGED, []
        verdict, epoch, before = Verdict.COUNTED, state.epoch, (state.entered, state.exited)
        if d_in < 0 or d_out < 0:
            verdict, epoch, before = Verdict.RESET, _seconds(reading.at), (0, 0)
            if epoch <= state.epoch:
                epoch = state.epoch + 1  # two resets within a second still differ
            d_in, d_out = reading.entered, reading.exited
        if d_in > self.max_delta or d_out > self.max_delta:
            self.streams[reading.stream] = _state(reading, epoch)
            return Verdict.JUMP, []
        self.streams[reading.stream] = _state(reading, epoch)
        deltas = [Delta(reading.stream, reading.at, direction, count, start, start + count, epoch)
                  for direction, count, start in (("in", d_in, before[0]),
                                                  ("out", d_out, before[1])) if count > 0]
        return verdict, deltas

    # -- the checkpoint --------------------------------------------------------------------

    def to_text(self) -> str:
        """The spool's form: JSON with the newest report time as ``at`` (as every
        terminal checkpoint has) and each stream's epoch and totals."""
        newest = max([*(s.at for s in self.streams.values()),
                      *(w.until for w in self.windows.values())], default=None)
        document: dict[str, Any] = {
            "at": newest.isoformat() if newest else None,
            "streams": {name: {"epoch": s.epoch, "in": s.entered, "out": s.exited,
                               "at": s.at.isoformat()} for name, s in self.streams.items()},
        }
        if self.windows:
            document["windows"] = {
                name: {"until": w.until.isoformat(), "hour": w.hour.isoformat(),
                       "in": w.entered, "out": w.exited} for name, w in self.windows.items()}
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_text(cls, text: str | None, max_delta: int) -> CounterTracker:
        """A tracker with the stored state; an unreadable one starts empty (every stream
        takes its next report as its base)."""
        streams: dict[str, StreamState] = {}
        windows: dict[str, WindowMark] = {}
        try:
            document = json.loads(text or "{}")
            for name, values in (document.get("streams") or {}).items():
                streams[str(name)] = StreamState(int(values["epoch"]), int(values["in"]),
                                                 int(values["out"]), _aware(values["at"]))
            for name, values in (document.get("windows") or {}).items():
                windows[str(name)] = WindowMark(_aware(values["until"]), _aware(values["hour"]),
                                                int(values["in"]), int(values["out"]))
        except (ValueError, TypeError, KeyError, AttributeError):
            streams, windows = {}, {}
        return cls(max_delta, streams, windows)


def _aware(text: Any) -> dt.datetime:
    at = dt.datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _state(reading: Reading, epoch: int) -> StreamState:
    return StreamState(epoch, reading.entered, reading.exited, reading.at)


def _seconds(at: dt.datetime) -> int:
    return int(at.timestamp())
