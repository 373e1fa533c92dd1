"""Multi-person tracking: a constant-velocity Kalman filter per track, optimal assignment.

Each frame the tracks are predicted to the frame's time, detections are assigned to them by
the Hungarian method (``scipy.optimize.linear_sum_assignment``) on the distance between
prediction and detection, within two gates: ``VisionParams.gate_px`` (grown in proportion to
the frame interval beyond ``GATE_INTERVAL_S``), and ``GATE_SIGMAS`` standard deviations of
the track's own prediction (its filter's position uncertainty plus the detection's), but
never less than ``GATE_FLOOR`` of ``gate_px``. The second gate is what keeps people apart in
a crowd at a low frame rate: a steady walker's prediction is sharp and will not take a
neighbour within ``gate_px`` when their own blob is missed, while a new or coasting track,
whose prediction is vague, still reaches far. A detection outside every track's gates starts
a new track. A track is *tentative* until it has ``min_hits`` detections, then *confirmed*.
A tentative track that misses more than ``TENTATIVE_MISSES`` frames in a row is dropped
(noise; but a person in clothes the colour of the floor may be seen only every other frame);
a confirmed one survives ``max_missed_frames`` frames without detection, coasting on its
prediction. Everything is in pixels of the counting frame and seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from edge.camera.vision.config import VisionParams
from edge.camera.vision.detection import Detection

Box = tuple[float, float, float, float]
INFEASIBLE = 1e9
TENTATIVE_MISSES = 2
GATE_INTERVAL_S = 1 / 12.5
"""``gate_px`` holds for frames this far apart (or closer); over longer intervals people walk
farther between frames and the gate grows in proportion (half the frame rate, twice the gate)."""
GATE_SIGMAS = 3.5
"""Mahalanobis gate: a true match is farther than this from its prediction 0.2 % of the time
(two dimensions)."""
GATE_FLOOR = 0.75
"""Share of ``gate_px`` within which a detection is always a candidate, however sharp the
prediction: a blob's centre jumps by that much (45 px at the defaults, half a 90 px person)
when it splits or merges, or arms and a bag swing, more than a steady walker's filter
expects."""
INITIAL_SPEED_STD = 150.0
"""px/s: how fast a newly seen person may be walking before we know better."""


_EYE4 = np.eye(4)
_MEASURE = np.eye(2, 4)
"""The measurement picks x and y out of the state."""


@dataclass(eq=False)
class Track:
    """One person followed across frames (mutable; owned by the :class:`Tracker`)."""

    id: int
    state: np.ndarray
    """x, y, vx, vy (px, px/s)."""
    cov: np.ndarray
    t: float
    bbox: Box
    count: int = 1
    hits: int = 1
    missed: int = 0
    score_sum: float = 0.0
    observed: bool = True
    """Whether the last update gave this track a detection."""
    history: list[tuple[float, float]] = field(default_factory=list)

    @property
    def position(self) -> tuple[float, float]:
        """Filtered position (px)."""
        return float(self.state[0]), float(self.state[1])

    @property
    def velocity(self) -> tuple[float, float]:
        """Filtered velocity (px/s)."""
        return float(self.state[2]), float(self.state[3])

    @property
    def mean_score(self) -> float:
        """Mean detection score over the track's life."""
        return self.score_sum / max(self.hits, 1)


class Tracker:
    """Tracks detections (anchor points in counting-frame pixels) across frames."""

    def __init__(self, params: VisionParams, frame_size: tuple[int, int]) -> None:
        self.params = params
        self.frame_size = frame_size
        self.tracks: list[Track] = []
        self.removed: list[Track] = []
        """Tracks dropped by the last update (confirmed or not)."""
        self._next_id = 1
        self._gate = params.gate_px
        self._last_t: float | None = None
        r = params.measurement_noise_px
        self._meas_cov = np.eye(2) * r * r
        self._step: tuple[float, np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        """Forget every track (ids keep increasing, so they stay unique in a stream)."""
        self.tracks = []
        self.removed = []
        self._last_t = None

    def confirmed(self, track: Track) -> bool:
        """Whether ``track`` has had enough detections to count."""
        return track.hits >= self.params.min_hits

    def update(self, detections: list[tuple[Detection, tuple[float, float]]], t: float) -> None:
        """Advance to time ``t`` with this frame's detections (each with its anchor point)."""
        self.removed = []
        if self._last_t is not None:
            interval = t - self._last_t
            self._gate = self.params.gate_px * max(1.0, interval / GATE_INTERVAL_S)
        self._last_t = t
        for track in self.tracks:
            self._predict(track, t)
        # every track's innovation covariance inverted in one call: for the gate and the
        # correction alike
        inverses = (np.linalg.inv(np.array([track.cov[:2, :2] for track in self.tracks])
                                  + self._meas_cov) if self.tracks and detections else None)
        pairs, lonely = self._assign(detections, inverses)
        for track in self.tracks:
            track.observed = False
        if pairs:
            assert inverses is not None
            for track_index, det_index in pairs:
                self._correct(self.tracks[track_index], *detections[det_index],
                              inverses[track_index])
        kept: list[Track] = []
        for track in self.tracks:
            if not track.observed:
                track.missed += 1
            if self._alive(track):
                kept.append(track)
            else:
                self.removed.append(track)
        self.tracks = kept
        for det_index in lonely:
            self._start(*detections[det_index], t)

    def _alive(self, track: Track) -> bool:
        if track.observed:
            return True
        if not self.confirmed(track):
            return track.missed <= TENTATIVE_MISSES
        x, y = track.position
        width, height = self.frame_size
        margin = self._gate
        inside = -margin <= x <= width + margin and -margin <= y <= height + margin
        return inside and track.missed <= self.params.max_missed_frames

    def _assign(self, detections: list[tuple[Detection, tuple[float, float]]],
                inverses: np.ndarray | None) -> tuple[list[tuple[int, int]], list[int]]:
        if not self.tracks or not detections or inverses is None:
            return [], list(range(len(detections)))
        predicted = np.array([track.state[:2] for track in self.tracks])
        points = np.array([point for _, point in detections])
        offsets = points[None, :, :] - predicted[:, None, :]
        cost = np.linalg.norm(offsets, axis=2)
        sigmas2 = np.einsum("tdi,tij,tdj->td", offsets, inverses, offsets)
        unlikely = (sigmas2 > GATE_SIGMAS ** 2) & (cost > GATE_FLOOR * self.params.gate_px)
        cost[unlikely | (cost > self._gate)] = INFEASIBLE
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)
                 if cost[r, c] < INFEASIBLE]
        taken = {c for _, c in pairs}
        return pairs, [i for i in range(len(detections)) if i not in taken]

    def _start(self, detection: Detection, point: tuple[float, float], t: float) -> None:
        r2 = self.params.measurement_noise_px ** 2
        state = np.array([point[0], point[1], 0.0, 0.0])
        cov = np.diag([r2, r2, INITIAL_SPEED_STD ** 2, INITIAL_SPEED_STD ** 2])
        self.tracks.append(Track(self._next_id, state, cov, t, detection.bbox,
                                 count=detection.count, score_sum=detection.score,
                                 history=[point]))
        self._next_id += 1

    def _predict(self, track: Track, t: float) -> None:
        dt = max(t - track.t, 1e-3)
        transition, noise = self._motion(dt)
        moved = transition @ track.state
        x, y, w, h = track.bbox
        track.bbox = (x + moved[0] - track.state[0], y + moved[1] - track.state[1], w, h)
        track.state = moved
        track.cov = transition @ track.cov @ transition.T + noise
        track.t = t

    def _motion(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Transition and process noise of a constant-velocity step of ``dt`` seconds (most
        tracks step by the same ``dt`` each frame: built once for it)."""
        if self._step is not None and self._step[0] == dt:
            return self._step[1], self._step[2]
        transition = np.eye(4)
        transition[0, 2] = transition[1, 3] = dt
        q = self.params.accel_noise_px_s2 ** 2
        noise = np.zeros((4, 4))
        noise[0, 0] = noise[1, 1] = dt ** 4 / 4 * q
        noise[0, 2] = noise[2, 0] = noise[1, 3] = noise[3, 1] = dt ** 3 / 2 * q
        noise[2, 2] = noise[3, 3] = dt ** 2 * q
        self._step = (dt, transition, noise)
        return transition, noise

    def _correct(self, track: Track, detection: Detection, point: tuple[float, float],
                 inverse: np.ndarray) -> None:
        """``inverse``: of the innovation covariance (the track's position covariance plus
        the measurement's)."""
        innovation = np.array(point) - track.state[:2]
        gain = track.cov[:, :2] @ inverse
        track.state = track.state + gain @ innovation
        track.cov = (_EYE4 - gain @ _MEASURE) @ track.cov
        track.bbox = detection.bbox
        track.count = detection.count
        track.hits += 1
        track.missed = 0
        track.score_sum += detection.score
        track.observed = True
        track.history.append(point)
        del track.history[:-50]  # enough for drawing a trail
