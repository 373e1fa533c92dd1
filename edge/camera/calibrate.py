"""``linli camera calibrate``: watch a camera for a while and propose its configuration.

The camera's own motion pipeline (background subtraction, tracker, counter) runs over a
recorded clip or a few minutes of the live stream, with a blob detector that never splits a
blob (the person size is what is being measured). From the tracks it collects:

* **person size** in pixels of ``counting.frame_size``: ``person_width_px`` along the
  counting line and ``person_length_px`` across it, the robust median of single-person blobs
  (blobs touching the frame edge are cut off and left out; blobs much larger than the rest
  are groups or shadows and left out too). Where people are smaller far from the camera
  (perspective), the size is fitted against the image row (Theil–Sen on the log size) and
  both ends are reported; the value proposed is the one at the line, where counting happens.
* **line sanity**: how many tracks crossed the line; the angle between the main direction
  of motion and the line's normal (0° = people walk straight across); whether a person is
  fully in the picture on both sides of the line; which way most people went (information:
  which side is "in" is the installer's choice).
* **frame rate**: what the source delivers, the configured cap, what the counter processed,
  and how far people move between two processed frames.
* **lighting**: the picture's brightness over time, its sudden steps (auto-exposure, lights)
  and the background rebuilds they caused.

Nothing here publishes anything. :func:`collect` and :func:`analyse` are pure (frames in,
figures out); :mod:`edge.camera.calibrate_report` writes the text and the picture.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.stats import theilslopes

from edge.camera.rate import RateGate
from edge.camera.vision.config import CountingSpec, VisionParams
from edge.camera.vision.counting import band_px
from edge.camera.vision.detection import BlobDetector
from edge.camera.vision.geometry import CountingGeometry
from edge.camera.vision.pipeline import CountingPipeline

MIN_TRACKS = 5
"""Fewer usable single-person tracks than this: the sizes are a guess."""
MAX_SAMPLES_PER_TRACK = 40
"""A person standing about must not outweigh the people walking through."""
MAX_SAMPLES = 1500
"""Theil–Sen looks at every pair of samples: keep it to ~1M pairs."""
EDGE_PX = 3
"""A box this close to the frame's border is cut off by it (processing-frame pixels ~2)."""
INLIER = (0.65, 1.5)
"""A blob this much smaller/larger than the size fitted at its place is not one person."""
PERSPECTIVE_RATIO = 1.2
"""Sizes differing by this factor between the top and the bottom of the traffic = perspective."""
SPREAD_LIMIT = 0.35
"""Interquartile range of single-person sizes, as a share of the size, above which the
size is unsure (people of very different sizes, or blobs that are not people)."""
MIN_CROSSINGS = 3
ANGLE_WARN_DEG = 40.0
"""Main direction of motion this far from the line's normal: the line is badly placed."""
COHERENCE_MIN = 0.5
"""Below this resultant length the tracks have no main direction."""
STEP_SHARE = 0.08
"""A change of the picture's brightness by this share within STEP_WINDOW_S is a step
(auto-exposure, lights)."""
STEP_WINDOW_S = 1.0
KEEP_FRAMES = 24
"""Frames kept for the picture: their median is the background without the people."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One detection of a confirmed track, in counting-frame pixels."""

    track: int
    t: float
    x: float
    """Centre of the box."""
    y: float
    width: float
    """Extent along the counting line."""
    length: float
    """Extent across the counting line."""
    at_edge: bool
    """The box touches the frame's border (the person is cut off)."""


@dataclass
class Observations:
    """What :func:`collect` saw; the input of :func:`analyse`."""

    counting: CountingSpec
    frame_size: tuple[int, int] = (0, 0)
    """Of the stream's frames (original pixels)."""
    samples: list[Sample] = field(default_factory=list)
    paths: dict[int, list[tuple[float, float, float]]] = field(default_factory=dict)
    """Track id → (t, x, y) of its anchor, counting-frame pixels."""
    crossings: list[tuple[float, str, int]] = field(default_factory=list)
    """(t, direction, track id) as the counter counted them."""
    brightness: list[tuple[float, float]] = field(default_factory=list)
    """(t, median grey level 0..255) of each processed frame."""
    frames_read: int = 0
    frames_processed: int = 0
    first_t: float | None = None
    last_t: float | None = None
    wall_s: float = 0.0
    """Wall-clock time the frames took to arrive (live sources: gives their rate)."""
    cpu_s: float = 0.0
    """CPU time of the pipeline (information: frames per CPU-second)."""
    relearned: int = 0
    """Background rebuilds after a sudden change of the whole picture."""
    kept: list[np.ndarray] = field(default_factory=list)
    keep_every: int = 1


def measuring_params(params: VisionParams) -> VisionParams:
    """The camera's parameters with person sizes so large that no blob is ever split or
    refused for its size: merging fragments still needs them to touch (``merge_gap_px``)."""
    return params.model_copy(update={"person_width_px": 10_000.0, "person_length_px": 10_000.0})


def collect(frames: Iterable[tuple[np.ndarray, float]], counting: CountingSpec,
            params: VisionParams, fps_cap: float | None = None) -> Observations:
    """Run the motion pipeline over ``frames`` ((BGR image, stream time s) pairs) and record
    tracks, sizes, crossings and brightness. ``fps_cap`` processes at most that many frames
    per second of stream time, as the camera's worker would."""
    pipeline = CountingPipeline(counting, params)
    # the camera's own background and tracker settings, a detector that measures
    pipeline.detector = BlobDetector(measuring_params(params), counting.frame_size,
                                     pipeline.geometry.axis)
    geometry = pipeline.geometry
    gate = RateGate(fps_cap) if fps_cap else None
    obs = Observations(counting)
    fw, fh = counting.frame_size
    ux, uy = geometry.axis
    started = time.monotonic()
    for image, t in frames:
        obs.frames_read += 1
        if gate is not None:
            if not gate.due(t):
                continue
            gate.take(t)
        height, width = image.shape[:2]
        obs.frame_size = (width, height)
        sx, sy = fw / width, fh / height
        cpu = time.process_time()
        crossings = pipeline.process(image, t)
        obs.cpu_s += time.process_time() - cpu
        obs.frames_processed += 1
        obs.first_t = t if obs.first_t is None else obs.first_t
        obs.last_t = t
        for crossing in crossings:
            obs.crossings.append((crossing.t, crossing.direction, crossing.track_id))
        for track in pipeline.tracks:
            if not track.confirmed or track.missed:
                continue
            x, y, w, h = track.bbox
            at_edge = (x <= EDGE_PX or y <= EDGE_PX or x + w >= width - EDGE_PX
                       or y + h >= height - EDGE_PX)
            bw, bh = w * sx, h * sy
            obs.samples.append(Sample(
                track.id, t, (x + w / 2) * sx, (y + h / 2) * sy,
                abs(ux) * bw + abs(uy) * bh, abs(uy) * bw + abs(ux) * bh, at_edge))
            if track.trail:
                ax, ay = track.trail[-1]
                obs.paths.setdefault(track.id, []).append((t, ax * sx, ay * sy))
        obs.brightness.append((t, _brightness(image)))
        _keep(obs, image, counting.frame_size)
    for crossing in pipeline.flush():  # a clip shorter than the first background's window
        obs.crossings.append((crossing.t, crossing.direction, crossing.track_id))
    obs.wall_s = time.monotonic() - started
    obs.relearned = pipeline.health.background_rebuilds
    return obs


def _brightness(image: np.ndarray) -> float:
    # the median ignores the few pixels where people are; a small copy is enough for it
    small = cv2.resize(image, (80, 60), interpolation=cv2.INTER_AREA)
    grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return float(np.median(grey))


def _keep(obs: Observations, image: np.ndarray, size: tuple[int, int]) -> None:
    """Keep frames evenly spread over the whole run, however long it is."""
    if (obs.frames_processed - 1) % obs.keep_every:
        return
    frame = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if obs.kept and frame.shape[:2] != obs.kept[0].shape[:2]:
        frame = cv2.resize(frame, (obs.kept[0].shape[1], obs.kept[0].shape[0]))
    elif not obs.kept and frame.shape[1] > 2 * size[0]:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    obs.kept.append(frame.copy())
    if len(obs.kept) >= 2 * KEEP_FRAMES:
        obs.kept = obs.kept[::2]
        obs.keep_every *= 2


def background(obs: Observations) -> np.ndarray | None:
    """The median of the kept frames: the scene without the people who walked through."""
    if not obs.kept:
        return None
    return np.asarray(np.median(np.stack(obs.kept), axis=0), dtype=np.uint8)


# --- analysis -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeFit:
    """One person dimension (width or length) as a function of the image row y."""

    at_line: float
    """Proposed value: the size at the line's row (the median where no perspective)."""
    median: float
    spread: float
    """Interquartile range / median of the sizes relative to the fit."""
    perspective: bool
    y_far: float
    """Row of the far end (smaller people) of the traffic, counting-frame pixels."""
    y_near: float
    at_far: float
    at_near: float
    slope: float
    """d log(size) / dy."""
    y_ref: float

    def at(self, y: float) -> float:
        """Size expected at row ``y`` (clipped to the rows where people were seen)."""
        low, high = sorted((self.y_far, self.y_near))
        return self.at_line * math.exp(self.slope * (min(max(y, low), high) - self.y_ref))


@dataclass(frozen=True)
class Proposal:
    """Everything :func:`analyse` found, for the report and the picture."""

    counting: CountingSpec
    params: VisionParams
    fps_cap: float
    tracks: int
    """Confirmed tracks seen."""
    size_tracks: int
    """Tracks that gave single-person, uncut samples."""
    samples: int
    outliers: float
    """Share of uncut samples that were not one person (groups, shadows, fragments)."""
    width: SizeFit | None
    length: SizeFit | None
    moving_tracks: int
    crossed_tracks: int
    crossings_in: int
    crossings_out: int
    motion_deg: float | None
    """Angle between the main direction of motion and the line's normal (lines only)."""
    coherence: float
    """0..1: how much the tracks agree on one direction (1 = all parallel)."""
    edge_room: float | None
    """Least room (px, counting frame) between the line and the frame's border, across it."""
    room_needed: float | None
    band_px: float
    """The hysteresis band the counter would use with the proposed size (each side)."""
    source_fps: float
    processed_fps: float
    px_per_frame: float | None
    """90th percentile of how far a person moves between processed frames (px)."""
    seconds: float
    frames_read: int
    frames_processed: int
    frames_per_cpu_s: float | None
    brightness_mean: float
    brightness_cv: float
    """Standard deviation / mean of the brightness."""
    brightness_range: tuple[float, float]
    steps: list[tuple[float, float]]
    """(t, relative change) of each sudden brightness step."""
    relearned: int
    unsure: list[str]
    """Keys of what the proposal is unsure of (see the report's catalogue)."""
    paths: dict[int, list[tuple[float, float]]]
    crossed: set[int]

    @property
    def min_blob_area(self) -> float | None:
        """Blobs smaller than a tenth of the smallest person are noise (the default keeps
        the same share: 500 px² of 60x90)."""
        if self.width is None or self.length is None:
            return None
        return 0.1 * min(self.width.at_far, self.width.at_near) * min(
            self.length.at_far, self.length.at_near)


def analyse(obs: Observations, params: VisionParams, fps_cap: float,
            source_fps: float) -> Proposal:
    """Turn what was seen into a proposed configuration and what it is unsure of."""
    counting = obs.counting
    geometry = CountingGeometry(counting)
    uncut = _per_track(obs.samples)
    width = _fit([(s.y, s.width) for s in uncut], _line_row(counting))
    length = _fit([(s.y, s.length) for s in uncut], _line_row(counting))
    singles = _singles(uncut, width, length)
    size_tracks = len({s.track for s in singles})
    if width is not None and length is not None and singles:
        width = _fit([(s.y, s.width) for s in singles], _line_row(counting))
        length = _fit([(s.y, s.length) for s in singles], _line_row(counting))
    outliers = 1.0 - len(singles) / len(uncut) if uncut else 0.0

    paths = {k: [(x, y) for _, x, y in v] for k, v in obs.paths.items()}
    person = length.at_line if length is not None else params.person_length_px
    band = band_px(counting.hysteresis_px, person)
    moving = {k for k, p in paths.items() if len(p) > 1 and math.dist(p[0], p[-1]) >= person}
    crossed = {track for _, _, track in obs.crossings}
    basis = crossed if len(crossed) >= MIN_CROSSINGS else moving
    direction, coherence = _main_direction([paths[k] for k in basis if k in paths])
    motion_deg: float | None = None
    room: float | None = None
    needed: float | None = None
    if geometry.is_line and counting.line is not None:
        nx, ny = geometry.in_normal()
        if direction is not None:
            cos = abs(direction[0] * nx + direction[1] * ny)
            motion_deg = math.degrees(math.acos(min(1.0, cos)))
        room = _room(counting, (nx, ny))
        needed = band + person

    seconds = (obs.last_t - obs.first_t) if obs.first_t is not None and obs.last_t is not None \
        else 0.0
    processed_fps = (obs.frames_processed - 1) / seconds if seconds > 0 else 0.0
    steps_px = _steps_per_frame(obs.paths)
    levels = np.array([b for _, b in obs.brightness]) if obs.brightness else np.zeros(1)
    mean = float(levels.mean())
    steps = _brightness_steps(obs.brightness)

    unsure: list[str] = []
    if size_tracks < MIN_TRACKS:
        unsure.append("few_tracks")
    if width is not None and length is not None and max(width.spread, length.spread) > SPREAD_LIMIT:
        unsure.append("spread")
    if outliers > 0.4:
        unsure.append("outliers")
    if geometry.is_line and len(crossed) < MIN_CROSSINGS:
        unsure.append("rarely_crossed")
    if motion_deg is not None and motion_deg > ANGLE_WARN_DEG:
        unsure.append("angle")
    if direction is not None and coherence < COHERENCE_MIN:
        unsure.append("no_direction")
    if room is not None and needed is not None and room < needed:
        unsure.append("edge")
    if steps_px is not None and steps_px > 0.5 * params.gate_px:
        unsure.append("fast")
    if steps or obs.relearned:
        unsure.append("lighting")
    if width is not None and length is not None and width.perspective:
        unsure.append("perspective")

    return Proposal(
        counting=counting, params=params, fps_cap=fps_cap,
        tracks=len(obs.paths), size_tracks=size_tracks, samples=len(singles), outliers=outliers,
        width=width, length=length, moving_tracks=len(moving), crossed_tracks=len(crossed),
        crossings_in=sum(1 for _, d, _ in obs.crossings if d == "in"),
        crossings_out=sum(1 for _, d, _ in obs.crossings if d == "out"),
        motion_deg=motion_deg, coherence=coherence, edge_room=room, room_needed=needed,
        band_px=band,
        source_fps=source_fps, processed_fps=processed_fps, px_per_frame=steps_px,
        seconds=seconds, frames_read=obs.frames_read, frames_processed=obs.frames_processed,
        frames_per_cpu_s=obs.frames_processed / obs.cpu_s if obs.cpu_s > 0 else None,
        brightness_mean=mean, brightness_cv=float(levels.std()) / mean if mean > 0 else 0.0,
        brightness_range=(float(levels.min()), float(levels.max())), steps=steps,
        relearned=obs.relearned, unsure=unsure, paths=paths, crossed=crossed)


def _per_track(samples: list[Sample]) -> list[Sample]:
    """Uncut samples, at most MAX_SAMPLES_PER_TRACK per track spread over its life, and at
    most MAX_SAMPLES in all."""
    by_track: dict[int, list[Sample]] = {}
    for sample in samples:
        if not sample.at_edge:
            by_track.setdefault(sample.track, []).append(sample)
    picked: list[Sample] = []
    for track_samples in by_track.values():
        if len(track_samples) < 3:
            continue  # a glimpse: often a fragment or noise
        step = max(1, math.ceil(len(track_samples) / MAX_SAMPLES_PER_TRACK))
        picked.extend(track_samples[::step])
    if len(picked) > MAX_SAMPLES:
        picked = picked[::math.ceil(len(picked) / MAX_SAMPLES)]
    return picked


def _line_row(counting: CountingSpec) -> float:
    if counting.line is not None:
        return (counting.line.a[1] + counting.line.b[1]) / 2
    assert counting.zone is not None
    return sum(y for _, y in counting.zone.polygon) / len(counting.zone.polygon)


def _fit(points: list[tuple[float, float]], y_line: float) -> SizeFit | None:
    """Robust fit of log(size) against the row; perspective only if clear."""
    if len(points) < 6:
        return None
    ys = np.array([p[0] for p in points])
    sizes = np.maximum(np.array([p[1] for p in points]), 1.0)
    logs = np.log(sizes)
    y_low, y_high = (float(v) for v in np.percentile(ys, [10, 90]))
    slope, intercept, low_slope, high_slope = theilslopes(logs, ys, alpha=0.95)
    ratio = math.exp(abs(slope) * (y_high - y_low))
    perspective = bool(ratio >= PERSPECTIVE_RATIO and (low_slope > 0 or high_slope < 0)
                       and y_high - y_low > 20)
    if not perspective:
        slope = 0.0
        intercept = float(np.median(logs))
    y_ref = min(max(y_line, y_low), y_high)
    residual = sizes / np.exp(intercept + slope * ys)
    q25, q50, q75 = np.percentile(residual, [25, 50, 75])
    at_low = math.exp(intercept + slope * y_low)
    at_high = math.exp(intercept + slope * y_high)
    far_low = at_low <= at_high
    return SizeFit(
        at_line=math.exp(intercept + slope * y_ref), median=float(np.median(sizes)),
        spread=float((q75 - q25) / q50) if q50 > 0 else 0.0, perspective=perspective,
        y_far=y_low if far_low else y_high, y_near=y_high if far_low else y_low,
        at_far=min(at_low, at_high), at_near=max(at_low, at_high), slope=float(slope),
        y_ref=y_ref)


def _singles(samples: list[Sample], width: SizeFit | None,
             length: SizeFit | None) -> list[Sample]:
    if width is None or length is None:
        return []
    low, high = INLIER
    return [s for s in samples
            if low <= s.width / width.at(s.y) <= high and low <= s.length / length.at(s.y) <= high]


def _main_direction(paths: list[list[tuple[float, float]]]
                    ) -> tuple[tuple[float, float] | None, float]:
    """Undirected main axis of the tracks' displacements (weighted by their length), and
    how much they agree (resultant length of the doubled angles, 0..1)."""
    c = s = total = 0.0
    for path in paths:
        if len(path) < 2:
            continue
        dx, dy = path[-1][0] - path[0][0], path[-1][1] - path[0][1]
        weight = math.hypot(dx, dy)
        if weight < 1.0:
            continue
        angle = 2 * math.atan2(dy, dx)
        c += weight * math.cos(angle)
        s += weight * math.sin(angle)
        total += weight
    if total <= 0:
        return None, 0.0
    axis = math.atan2(s, c) / 2
    return (math.cos(axis), math.sin(axis)), math.hypot(c, s) / total


def _room(counting: CountingSpec, normal: tuple[float, float]) -> float:
    """Least distance, across the line (both ways), from a point of it to the frame edge."""
    assert counting.line is not None
    (ax, ay), (bx, by) = counting.line.a, counting.line.b
    width, height = counting.frame_size
    least = math.inf
    for share in (0.1, 0.5, 0.9):  # the very ends of a line may lie on the border
        px, py = ax + share * (bx - ax), ay + share * (by - ay)
        for sign in (1.0, -1.0):
            nx, ny = normal[0] * sign, normal[1] * sign
            reach = math.inf
            if nx > 1e-9:
                reach = min(reach, (width - px) / nx)
            elif nx < -1e-9:
                reach = min(reach, -px / nx)
            if ny > 1e-9:
                reach = min(reach, (height - py) / ny)
            elif ny < -1e-9:
                reach = min(reach, -py / ny)
            least = min(least, reach)
    return least


def _steps_per_frame(paths: dict[int, list[tuple[float, float, float]]]) -> float | None:
    steps = [math.dist(p[1:], q[1:]) for path in paths.values()
             for p, q in itertools.pairwise(path)]
    return float(np.percentile(steps, 90)) if len(steps) >= 10 else None


def _brightness_steps(series: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sudden changes of the brightness: by more than STEP_SHARE against the darkest or
    brightest frame of the STEP_WINDOW_S before (one step reported per window)."""
    steps: list[tuple[float, float]] = []
    start = 0
    quiet_until = -math.inf
    for i, (t, level) in enumerate(series):
        while series[start][0] < t - STEP_WINDOW_S:
            start += 1
        before = [b for _, b in series[start:i]]
        if not before or t < quiet_until:
            continue
        up = level / max(min(before), 1.0) - 1.0
        down = level / max(max(before), 1.0) - 1.0
        change = up if abs(up) >= abs(down) else down
        if abs(change) >= STEP_SHARE:
            steps.append((t, change))
            quiet_until = t + STEP_WINDOW_S
    return steps
