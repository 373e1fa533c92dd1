"""Turning tracks into counted crossings, with hysteresis.

Each track has a side: "out" (more than ``hysteresis_px`` on the out side of the line), "in"
(more than ``hysteresis_px`` on the in side) or unknown (it was first seen within the band
around the line). A crossing is a change from one known side to the other; staying in the
band changes nothing, so a person who loiters on the line, or steps onto it and turns back,
is not counted, and a track counts once per crossing (back and forth = one in, one out).

The band is ``hysteresis_px`` wide on each side, or a fifth of a person's length across the
line (as configured, or as learned from the scene) when that is more: a blob's centre
wanders by a fraction of the person's size (arms, a bag, a blob that touches a passer-by and
lets go), so the band must grow with how big people look, whatever the resolution
(:func:`band_px`).

A crossing needs the person to have been seen on both sides, beyond the band: a track never
counts on a side it was only told about. Two ways a track can start without a known side:

* It continues a track that was lost nearby moments ago, *close to the line* (a person
  missed for too many frames while crossing): it takes over that track's side, so the
  crossing is neither lost nor counted twice; it is dated by interpolating between where
  the lost track was last seen and where the new one is. A track lost away from the line
  passes nothing on: a new track that appears near it (a ghost, someone else) has not been
  seen coming from anywhere.
* It is born in the band while the stream starts (someone already on the line in the first
  frames): it counts when it leaves the band on the side opposite to where it was first seen
  (its anchor went over the line), with a lower confidence. Later, something that appears
  on the line out of nowhere has no known origin and counts nothing.

The same holds within a track: when its anchor goes over the line between two sightings
and the earlier one was farther from the line than a lost track may hand its side on from,
the passage was not seen. Usually the tracker coasted the track on its last speed while
nothing was detected and the prediction landed on someone else on the other side. The track
then starts afresh where it is seen (``jumps`` counts these) and counts only its own next
passage.

One person seen as two tracks (a body split in two blobs, a blob and its ghost) would count
twice, often once each way: a crossing by a track whose box overlaps, by more than
``SAME_PERSON_OVERLAP`` of the smaller box, the box of another track that counted within
``SAME_PERSON_S`` is the same person's and is not counted again. People side by side or one
behind the other do not overlap that much.

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
WARMUP_S = 2.0
"""A track born in the band this soon after the stream started may be someone who was on
the line before the first frame; later, a track born in the band has no known origin."""
SAME_PERSON_S = 1.0
SAME_PERSON_OVERLAP = 0.4
BAND_PERSON_SHARE = 0.2
"""The hysteresis band is at least this share of a person's length across the line."""
NEAR_LINE_PERSONS = 0.75
"""A lost track passes its side on only when it was last seen within the band plus this
many person lengths of the line (it was crossing)."""


def band_px(hysteresis_px: float, person_length_px: float) -> float:
    """The hysteresis band (each side of the line) for people ``person_length_px`` long
    across it: the configured ``hysteresis_px``, or a fifth of a person when that is more."""
    return max(hysteresis_px, BAND_PERSON_SHARE * person_length_px)


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
    born_t: float = 0.0
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


@dataclass
class _Counted:
    t: float
    track: Track
    bbox: tuple[float, float, float, float]


class CrossingCounter:
    """Keeps each track's side and reports crossings (bboxes in counting-frame pixels)."""

    def __init__(self, geometry: CountingGeometry, hysteresis_px: float, tracker: Tracker) -> None:
        self.geometry = geometry
        self.hysteresis = hysteresis_px
        """The band each side of the line (the owner widens it with people's size)."""
        self.tracker = tracker
        self._states: dict[int, _SideState] = {}
        self._lost: list[_Lost] = []
        self._counted: list[_Counted] = []
        self._started: float | None = None
        self.tracks_lost = 0
        """Confirmed tracks dropped while away from the picture's edges (missed people)."""
        self.merged = 0
        """Crossings not counted because another track of the same person had counted."""
        self.jumps = 0
        """Tracks seen on the other side of the line with no sighting near it in between
        (not counted: the passage was not seen)."""

    def reset(self) -> None:
        """Forget every side (after a reconnect nothing seen before is continuous)."""
        self._states.clear()
        self._lost.clear()
        self._counted.clear()
        self._started = None

    def update(self, t: float) -> list[Crossing]:
        """Crossings completed by the tracker's latest update at time ``t``."""
        if self._started is None:
            self._started = t
        self._forget(t)
        self._counted = [c for c in self._counted if t - c.t <= SAME_PERSON_S]
        crossings: list[Crossing] = []
        for track in self.tracker.tracks:
            if track.observed:
                self._step(track, t)
            state = self._states.get(track.id)
            if state is not None and state.pending and self.tracker.confirmed(track):
                for when, sign in state.pending:
                    if self._same_person_counted(track):
                        self.merged += 1
                        continue
                    crossings.append(self._crossing(track, state, when, sign))
                    self._counted.append(_Counted(t, track, track.bbox))
                state.pending.clear()
        crossings.sort(key=lambda c: c.t)
        return crossings

    def finish(self) -> list[Crossing]:
        """Crossings cut short by the end of the stream (a file's end, a dropped stream):
        a confirmed track whose anchor was last seen over the line from its known side, but
        not yet beyond the band, counts, with the confidence of a guessed side. Nothing will
        come after to tell a step back; it must be at least half the band over, so someone
        standing on the line counts nothing."""
        crossings: list[Crossing] = []
        for track in self.tracker.tracks:
            state = self._states.get(track.id)
            if state is None or state.side == 0 or state.last_f is None or (
                    not self.tracker.confirmed(track)):
                continue
            over = -state.last_f if state.side > 0 else state.last_f
            if over < self.hysteresis / 2 or self._same_person_counted(track):
                continue
            state.side = -state.side
            state.uncertain = True
            when = state.t_zero if state.t_zero is not None else state.last_t
            crossings.append(self._crossing(track, state, when, state.side))
            self._counted.append(_Counted(state.last_t, track, track.bbox))
        return sorted(crossings, key=lambda c: c.t)

    def _same_person_counted(self, track: Track) -> bool:
        """Whether another track overlapping this one counted a moment ago."""
        alive = {id(other) for other in self.tracker.tracks}
        for counted in self._counted:
            if counted.track is track:
                continue
            other = counted.track.bbox if id(counted.track) in alive else counted.bbox
            if _overlap(track.bbox, other) > SAME_PERSON_OVERLAP:
                return True
        return False

    def _forget(self, t: float) -> None:
        width, height = self.tracker.frame_size
        margin = self.tracker.params.person_length_px / 2
        for track in self.tracker.removed:
            x, y = track.position
            if self.tracker.confirmed(track) and margin < x < width - margin and (
                    margin < y < height - margin):
                self.tracks_lost += 1
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
            state = self._states[track.id] = self._start(track, f, t)
            state.count_at_zero = track.count
        if state.last_f is not None and (f > 0) != (state.last_f > 0) and (
                abs(state.last_f) > self._near()):
            # over the line between two sightings from farther than a lost track may hand
            # its side on from: the tracker's prediction, coasting, carried the track onto
            # someone else, or the passage was not seen; either way it starts afresh here
            self.jumps += 1
            pending = state.pending
            state = self._states[track.id] = _SideState(0, f, born_t=t, pending=pending)
            state.count_at_zero = track.count
        elif state.last_f is not None and (f > 0) != (state.last_f > 0):
            # interpolate when the anchor was on the line itself
            share = state.last_f / (state.last_f - f) if state.last_f != f else 1.0
            state.t_zero = state.last_t + share * (t - state.last_t)
            # a blob may grow to two people's width later, when it touches a passer-by
            state.count_at_zero = track.count
        state.last_f, state.last_t = f, t
        side = 1 if f > self.hysteresis else -1 if f < -self.hysteresis else 0
        if side == 0 or side == state.side:
            return
        crossed = state.side == -side or (
            state.side == 0 and (state.first_f > 0) != (side > 0)
            and state.born_t - (self._started or 0.0) <= WARMUP_S)
        if state.side == 0:
            state.uncertain = crossed
        state.side = side
        if crossed:
            state.pending.append((state.t_zero if state.t_zero is not None else t, side))

    def _start(self, track: Track, f: float, t: float) -> _SideState:
        side = 1 if f > self.hysteresis else -1 if f < -self.hysteresis else 0
        heir = self._heir(track)
        if heir is not None and (side == 0 or side == -heir.state.side):
            old = heir.state
            # no t_zero: the new track's own passage over the line is dated when it happens,
            # or between the two when the line lies between the lost track and this one
            return _SideState(old.side, f, last_f=old.last_f, last_t=old.last_t,
                              inherited=True, prior_hits=old.prior_hits, born_t=t)
        return _SideState(side, f, born_t=t)

    def _heir(self, track: Track) -> _Lost | None:
        """The lost track this new one most likely continues, if any (taken once)."""
        reach = self.tracker.params.gate_px * 1.5
        near = self._near()
        x, y = track.position
        best: _Lost | None = None
        best_distance = reach
        for lost in self._lost:
            if lost.state.last_f is None or abs(lost.state.last_f) > near:
                continue
            distance = ((lost.point[0] - x) ** 2 + (lost.point[1] - y) ** 2) ** 0.5
            if distance <= best_distance:
                best, best_distance = lost, distance
        if best is not None:
            self._lost.remove(best)
        return best

    def _near(self) -> float:
        """How close to the line a track must last have been seen for what follows on the
        other side to be the same person's passage."""
        return self.hysteresis + NEAR_LINE_PERSONS * self.tracker.params.person_length_px

    def _crossing(self, track: Track, state: _SideState, when: float, sign: int) -> Crossing:
        seen = track.hits + state.prior_hits
        confidence = track.mean_score * min(1.0, seen / (self.tracker.params.min_hits + 5))
        if state.uncertain:
            confidence *= UNCERTAIN_ORIGIN
        x, y, w, h = track.bbox
        return Crossing(t=when, direction="in" if sign > 0 else "out", count=max(1, state.count_at_zero),
                        confidence=round(max(0.05, min(1.0, confidence)), 3), track_id=track.id,
                        bbox=(round(x), round(y), round(w), round(h)))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection of two boxes (x, y, w, h) over the smaller one's area."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(min(a[2] * a[3], b[2] * b[3]), 1e-6)
