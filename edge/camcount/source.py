"""What both counting cameras' sources share: the stream loop of the HTTP terminals
(``edge.vendors.terminal``), a ``CounterTracker`` whose state is the spool checkpoint, and
readings turned into ``camera`` passage events."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from edge.camcount.config import CountingSection
from edge.camcount.counters import CounterTracker, Delta, Reading, Verdict
from edge.rejects import RejectedLine
from edge.sources import SourceContext
from edge.vendors.records import TerminalRecord
from edge.vendors.terminal import TerminalSource
from linli.contract import Direction, Event, EventKind, Source, derived_event_id

__all__ = ["CountStats", "CountingCamera", "Window"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """People counted by the device within a closed time window (not running totals)."""

    stream: str
    start: dt.datetime
    end: dt.datetime
    entered: int
    exited: int
    attrs: dict[str, Any]


@dataclass
class CountStats:
    """What the counting source saw since the agent started."""

    reports: int = 0
    counted_in: int = 0
    counted_out: int = 0
    unchanged: int = 0
    stale: int = 0
    resets: int = 0
    jumps: int = 0
    baselines: int = 0


class CountingCamera(TerminalSource):
    """Base of the Hikvision and Dahua counting sources."""

    def __init__(self, config: CountingSection, context: SourceContext) -> None:
        super().__init__(config, context)
        self.counting = config
        self.counts = CountStats()
        self.tracker = CounterTracker.from_text(context.checkpoint(self.key), config.max_delta)
        self._last_report: float | None = None
        self._last_report_at: dt.datetime | None = None

    # -- what the base asks for and counting cameras do not have ---------------------------

    def search(self, start: dt.datetime, end: dt.datetime,
               stop: threading.Event) -> Iterator[Sequence[TerminalRecord]]:
        """Counting cameras keep totals, not a log: there is nothing to page through."""
        return iter(())

    def catch_up(self, stop: threading.Event) -> int:
        """Read what the device counted while the agent was away (``read_missed``) when the
        stream opens: totals whose difference to the stored state is what passed, or
        windows of it; both go through the same bookkeeping as the live reports."""
        if not self.counting.catch_up:
            return 0
        readings, windows = self.read_missed()
        self.stats.catch_ups += 1
        if readings or windows:
            self.count(readings, windows, channel="catch-up")
        self.stats.caught_up += len(readings) + len(windows)
        return len(readings) + len(windows)

    def read_missed(self) -> tuple[list[Reading], list[Window]]:
        """What the device counted meanwhile (by default: its totals now)."""
        return self.read_totals(), []

    def read_totals(self) -> list[Reading]:
        """The device's totals now (a vendor that can ask overrides it)."""
        return []

    # -- readings to events ----------------------------------------------------------------

    def count(self, readings: Sequence[Reading], windows: Sequence[Window],
              rejected: Sequence[RejectedLine] = (), *, channel: str) -> int:
        """Turn readings and windows into events and spool them with the new state."""
        with self._lock:
            events: list[Event] = []
            moved = False
            for reading in readings:
                verdict, deltas = self.tracker.observe(reading)
                moved = moved or verdict not in (Verdict.STALE,)
                self._note(verdict, reading, channel)
                events += [self._event(delta, reading, verdict) for delta in deltas]
            for window in windows:
                hour = window.start.astimezone(self.counting.zone).replace(
                    minute=0, second=0, microsecond=0)
                if self.tracker.observe_window(window.stream, window.start, window.end,
                                               window.entered, window.exited, hour):
                    moved = True
                    events += self._window_events(window)
                else:
                    self.counts.stale += 1
            if not events and not rejected and not moved:
                return 0
            spooled = self._context.spool_events(
                self.key, events, checkpoint=self.tracker.to_text() if moved else None,
                rejected=rejected)
            self.stats.events += spooled
            self.stats.rejected += len(rejected) + len(events) - spooled
            for event in events:
                if event.direction is Direction.IN:
                    self.counts.counted_in += event.count
                else:
                    self.counts.counted_out += event.count
            return spooled

    def _note(self, verdict: Verdict, reading: Reading, channel: str) -> None:
        self.counts.reports += 1
        self._last_report = time.monotonic()
        self._last_report_at = reading.at
        if verdict is Verdict.UNCHANGED:
            self.counts.unchanged += 1
        elif verdict is Verdict.STALE:
            self.counts.stale += 1
        elif verdict is Verdict.BASELINE:
            self.counts.baselines += 1
            log.info("%s: counter %s starts at in=%d out=%d (%s)", self.key, reading.stream,
                     reading.entered, reading.exited, channel)
        elif verdict is Verdict.RESET:
            self.counts.resets += 1
            log.info("%s: counter %s was reset (now in=%d out=%d)", self.key, reading.stream,
                     reading.entered, reading.exited)
        elif verdict is Verdict.JUMP:
            self.counts.jumps += 1
            self.raise_problem(
                "counter_jump",
                f"counter {reading.stream} jumped to in={reading.entered} "
                f"out={reading.exited}, more than max_delta={self.counting.max_delta} at "
                f"once: not counted, taken as the new base (a counter restored, or another "
                f"device at this address?)")

    def _event(self, delta: Delta, reading: Reading, verdict: Verdict) -> Event:
        attrs: dict[str, Any] = {"counter": "device", "vendor": self.vendor.split("-")[0],
                                 "stream": delta.stream, "entered_total": reading.entered,
                                 "exited_total": reading.exited, "epoch": delta.epoch,
                                 **reading.attrs}
        if verdict is Verdict.RESET:
            attrs["after_reset"] = True
        return self._make(derived_event_id(self.community, self.building, self.device,
                                           delta.record),
                          delta.at, delta.direction, delta.count, attrs)

    def _window_events(self, window: Window) -> list[Event]:
        events: list[Event] = []
        for direction, count in (("in", window.entered), ("out", window.exited)):
            if count <= 0:
                continue
            if count > self.counting.max_delta:
                self.counts.jumps += 1
                self.raise_problem("counter_jump", f"window {window.start.isoformat()}–"
                                   f"{window.end.isoformat()} of {window.stream} counts "
                                   f"{count} {direction}, more than max_delta="
                                   f"{self.counting.max_delta}: not counted")
                continue
            record = (f"window/{window.stream}/{int(window.start.timestamp())}-"
                      f"{int(window.end.timestamp())}/{direction}")
            attrs = {"counter": "device", "vendor": self.vendor.split("-")[0],
                     "stream": window.stream, "window_start": window.start.isoformat(),
                     **window.attrs}
            events.append(self._make(derived_event_id(self.community, self.building,
                                                      self.device, record),
                                     window.end, direction, count, attrs))
        return events

    def _make(self, event_id: Any, at: dt.datetime, direction: str, count: int,
              attrs: dict[str, Any]) -> Event:
        return Event(event_id=event_id, occurred_at=at, community=self.community,
                     building=self.building, device=self.device, kind=EventKind.PASSAGE,
                     direction=Direction(direction), count=count,
                     confidence=self.counting.confidence, source=Source.CAMERA, attrs=attrs)

    # -- health ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The terminal figures plus the counting ones."""
        last = self._last_report
        return {**super().health(), "counted_in": self.counts.counted_in,
                "counted_out": self.counts.counted_out, "resets": self.counts.resets,
                "jumps": self.counts.jumps, "stale": self.counts.stale,
                "last_report_s": None if last is None else round(time.monotonic() - last, 1)}

    def device_status(self) -> dict[str, Any] | None:
        """The camera's status document: the terminal's, as a camera counting by itself."""
        document = super().device_status() or {}
        with self._lock:
            streams = {name: {"in": s.entered, "out": s.exited, "at": s.at.isoformat()}
                       for name, s in self.tracker.streams.items()}
        last = self._last_report_at
        return {**document, "kind": "camera", "counting": "device",
                "counters": streams, "last_report": last.isoformat() if last else None,
                "count_stats": vars(self.counts).copy()}
