"""How many frames a camera worker processes, and how that is reported.

A camera delivers frames at its own rate (often 25 fps); the counting pipeline needs far
fewer (``fps`` in the camera's configuration, e.g. 8). The worker reads every frame — a
stream that is not read backs up and goes stale — but hands at most ``fps`` frames per
second of *stream time* to the pipeline (``RateGate``). When the pipeline is still busy
with the previous frame as a new one falls due, the new one is dropped rather than queued:
the count stays current and CPU stays bounded; such drops are "lagging" in the status.

Pure bookkeeping, no I/O: the decisions are unit-tested here and used by the worker.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

SLACK = 0.1
"""Share of a period by which a frame may come early and still be due: frame times of a
file (``n / fps``) and a summed schedule differ by rounding, which must not skip frames."""


class RateGate:
    """Says which frames are due so that at most ``fps`` per second are processed.

    The schedule advances by whole periods, so a 25 fps camera capped at 10 fps gives 10
    frames a second, not the 8.3 that "at least 0.1 s since the last one" would. After a gap
    (the first frame, a stall, a reconnect) the schedule restarts from the frame's time
    instead of bursting to catch up.
    """

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.period = 1.0 / fps
        self._next = -math.inf

    def due(self, t: float) -> bool:
        """Whether a frame taken at stream time ``t`` (seconds) should be processed."""
        return t >= self._next - SLACK * self.period

    def take(self, t: float) -> None:
        """Record that the frame at ``t`` is being processed."""
        on_schedule = t < self._next + self.period
        self._next = self._next + self.period if on_schedule else t + self.period

    def reset(self) -> None:
        """Forget the schedule (a new connection starts a new stream time)."""
        self._next = -math.inf


@dataclass(slots=True)
class FrameCounters:
    """Running totals of one worker; each field is written by one thread only."""

    frames_in: int = 0
    """Frames read from the camera."""
    processed: int = 0
    """Frames the counting pipeline processed."""
    skipped: int = 0
    """Frames read and not processed (over the rate cap, or dropped while lagging)."""
    lagged: int = 0
    """Of the skipped, frames that were due but found the pipeline still busy."""

    def copy(self) -> FrameCounters:
        """A snapshot of the totals."""
        return replace(self)


@dataclass(frozen=True, slots=True)
class Rates:
    """Figures over the last window: rates, and whether frames are being dropped."""

    fps_in: float
    fps_processed: float
    skip_ratio: float
    """Share of the frames read in the window that were not processed."""
    lagging: bool
    """Frames that were due were dropped because processing could not keep up."""

    @property
    def skipping(self) -> bool:
        """Frames were left out in the window (for whatever reason)."""
        return self.skip_ratio > 0


class RateWindow:
    """Rates over a sliding window of ``window_s`` seconds, from samples of the totals."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, FrameCounters]] = deque()

    def sample(self, now: float, totals: FrameCounters) -> Rates:
        """Add the totals at monotonic time ``now``; the rates since the window's start."""
        self._samples.append((now, totals.copy()))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        start, first = self._samples[0]
        elapsed = now - start
        read = totals.frames_in - first.frames_in
        if elapsed <= 0:
            return Rates(0.0, 0.0, 0.0, lagging=False)
        skipped = totals.skipped - first.skipped
        return Rates(
            fps_in=round(read / elapsed, 2),
            fps_processed=round((totals.processed - first.processed) / elapsed, 2),
            skip_ratio=round(skipped / read, 3) if read else 0.0,
            lagging=totals.lagged > first.lagged,
        )
