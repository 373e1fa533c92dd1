"""Turning tracks into counted crossings, with hysteresis.

Each track has a side: "out" (more than ``hysteresis_px`` on the out side of the line), "in"
(more than ``hysteresis_px`` on the in side) or unknown (it was first seen within the band
around the line). A crossing is a change from one known side to the other; staying in the
band changes nothing, so a person who loiters on the line, or steps onto it and turns back,
is not counted, and a track counts once per crossing (back and forth = one in, one out).

Two ways a track can start without a known side, and what happens:

* It continues a track that was just lost nearby (a person missed for too many frames): it
  takes over that track's side, so the crossing is neither lost nor counted twice.
* It is born in the band (someone already on the line when the video starts): it counts
  when it leaves the band on the side opposite to where it was first seen (its anchor went
  over the line), with a lower confidence.

Only confirmed tracks count; a crossing seen while a track is still tentative is reported
when (if) it is confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from edge.camera.vision.geometry import CountingGeometry
from edge.camera.vision.tracking import Track, Tracker

LOST_MEMORY_S = 1.5
"""How long a lost track's side is kept for a new track that continues it."""
UNCERTAIN_ORIGIN = 0.6
"""Confidence factor of a crossing whose start side was not seen (born in the band)."""


@dataclass(frozen=True)
class Crossing:
    """One counted passage over the line."""

    t: float
    """Time (seconds, the stream's clock) when the person's anchor crossed the line."""
    direction: Literal["in", "out"]
    count: int
    """People this crossing stands for (≥ 1; 2 for a pair that could not be split)."""
    confidence: float
    """0..1: the detector's mean score for the track, times how long it was followed (full
    after min_hits + 5 detections), times 0.6 when it was first seen on the line (its start
    side is a guess)."""
    track_id: int
    bbox: tuple[int, int, int, int]
    """x, y, w, h of the person in the original frame's pixels."""


@dataclass
class _SideState:
    side: int  # -1 out, +1 in, 0 unknown
    first_f: float
    uncertain: bool = False
    inherited: bool = False
    prior_hits: int = 0  # detections of the lost tracks this one continues
    last_f: float | None = None
    last_t: float = 0.0
    t_zero: float | None = None
    count_at_zero: int = 1  # people the track stood for when it was on the line itself
    pending: list[tuple[float, int]] = field(default_factory=list)  # (t, +1/-1) while tentative


@dataclass
class _Lost:
    point: tuple[float, float]
    t: float
    state: _SideState


class CrossingCounter:
    """Keeps each track's side and reports crossings (bboxes in counting-frame pixels)."""

    def __init__(self, geometry: CountingGeometry, hysteresis_px: float, tracker: Tracker) -> None:
        self.geometry = geometry
        self.hysteresis = hysteresis_px
        self.tracker = tracker
        self._states: dict[int, _SideState] = {}
        self._lost: list[_Lost] = []

    def reset(self) -> None:
        """Forget every side (after a reconnect nothing seen before is continuous)."""
        self._states.clear()
        self._lost.clear()

    def update(self, t: float) -> list[Crossing]:
        """Crossings completed by the tracker's latest update at time ``t``."""
        self._forget(t)
        crossings: list[Crossing] = []
        for track in self.tracker.tracks:
            if track.observed:
                self._step(track, t)
            state = self._states.get(track.id)
            if state is not None and state.pending and self.tracker.confirmed(track):
                crossings.extend(self._crossing(track, state, when, sign)
                                 for when, sign in state.pending)
                state.pending.clear()
        return crossings

    def _forget(self, t: float) -> None:
        for track in self.tracker.removed:
            state = self._states.pop(track.id, None)
            # a tentative heir that dies hands its inheritance on (it may be noise)
            if state is not None and state.side != 0 and (
                    self.tracker.confirmed(track) or state.inherited):
                state.prior_hits += track.hits
                self._lost.append(_Lost(track.position, t, state))
        self._lost = [lost for lost in self._lost if t - lost.t <= LOST_MEMORY_S]

    def _step(self, track: Track, t: float) -> None:
        # the detection itself, not the filtered position: a Kalman filter overshoots when
        # someone stops short, which could carry them over the band
        f = self.geometry.signed_distance(track.history[-1])
        if f is None:
            return
        state = self._states.get(track.id)
        if state is None:
            state = self._states[track.id] = self._start(track, f)
            state.count_at_zero = track.count
        if state.last_f is not None and (f > 0) != (state.last_f > 0):
            # interpolate when the anchor was on the line itself
            share = state.last_f / (state.last_f - f) if state.last_f != f else 1.0
            state.t_zero = state.last_t + share * (t - state.last_t)
            # a blob may grow to two people's width later, when it touches a passer-by
            state.count_at_zero = track.count
        state.last_f, state.last_t = f, t
        side = 1 if f > self.hysteresis else -1 if f < -self.hysteresis else 0
        if side == 0 or side == state.side:
            return
        crossed = state.side == -side or (state.side == 0 and (state.first_f > 0) != (side > 0))
        if state.side == 0:
            state.uncertain = crossed
        state.side = side
        if crossed:
            state.pending.append((state.t_zero if state.t_zero is not None else t, side))

    def _start(self, track: Track, f: float) -> _SideState:
        side = 1 if f > self.hysteresis else -1 if f < -self.hysteresis else 0
        heir = self._heir(track)
        if heir is not None and (side == 0 or side == -heir.state.side):
            old = heir.state
            return _SideState(old.side, f, last_f=old.last_f, last_t=old.last_t, t_zero=old.t_zero,
                              inherited=True, prior_hits=old.prior_hits)
        return _SideState(side, f)

    def _heir(self, track: Track) -> _Lost | None:
        """The lost track this new one most likely continues, if any (taken once)."""
        reach = self.tracker.params.gate_px * 1.5
        x, y = track.position
        best: _Lost | None = None
        best_distance = reach
        for lost in self._lost:
            distance = ((lost.point[0] - x) ** 2 + (lost.point[1] - y) ** 2) ** 0.5
            if distance <= best_distance:
                best, best_distance = lost, distance
        if best is not None:
            self._lost.remove(best)
        return best

    def _crossing(self, track: Track, state: _SideState, when: float, sign: int) -> Crossing:
        seen = track.hits + state.prior_hits
        confidence = track.mean_score * min(1.0, seen / (self.tracker.params.min_hits + 5))
        if state.uncertain:
            confidence *= UNCERTAIN_ORIGIN
        x, y, w, h = track.bbox
        return Crossing(t=when, direction="in" if sign > 0 else "out", count=max(1, state.count_at_zero),
                        confidence=round(max(0.05, min(1.0, confidence)), 3), track_id=track.id,
                        bbox=(round(x), round(y), round(w), round(h)))
