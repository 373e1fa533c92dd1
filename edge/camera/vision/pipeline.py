"""The people-counting pipeline: frames in, counted crossings out.

    pipeline = CountingPipeline(counting_spec)            # VisionParams() by default
    for frame, t in stream:                               # BGR uint8, seconds (monotonic)
        for crossing in pipeline.process(frame, t):
            ...                                           # Crossing(t, direction, count, ...)
    pipeline.reset()                                      # after a reconnect

Per frame: downscale to ``process_width``; photometric normalisation (exposure and gain
changes undone) and background subtraction (OpenCV MOG2, shadows detected and dropped); when
the normalised frame still changes as a whole (one of several lights switched) the background
is rebuilt without the people being tracked and the frame skipped (``health`` counts both); the
detector (motion blobs by default) runs only when something moves; the tracker follows
people across frames; the counter turns side changes into crossings. The first ~2 s of a
stream (and after ``reset``) are held back until the first background is learned from them
(``bootstrap.py``: whoever is in view then is not learned as floor), then counted in order.

Three coordinate systems: the original frame (whatever the stream delivers), the counting
frame (``CountingSpec.frame_size``: the line, the zone, every size in ``VisionParams``) and
the processing frame (``process_width`` wide, what the detector sees). Crossings and tracks
are reported in original-frame pixels. Not thread-safe: one pipeline per stream and thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np

from edge.camera.vision.background import Background
from edge.camera.vision.bootstrap import Bootstrap, Learned
from edge.camera.vision.config import CountingSpec, VisionParams
from edge.camera.vision.counting import Crossing, CrossingCounter, band_px
from edge.camera.vision.detection import BlobDetector, Detection, Detector
from edge.camera.vision.geometry import CountingGeometry
from edge.camera.vision.health import VisionHealth
from edge.camera.vision.overlay import draw_overlay
from edge.camera.vision.size import PersonSize
from edge.camera.vision.tracking import Tracker

__all__ = ["CountingPipeline", "Crossing", "Detection", "Detector", "TrackView", "VisionHealth"]

log = logging.getLogger(__name__)
DEFAULT_PARAMS = VisionParams()
"""Frozen, so one shared default instance is safe."""


@dataclass(frozen=True)
class TrackView:
    """A tracked person as the outside sees it, in original-frame pixels."""

    id: int
    bbox: tuple[int, int, int, int]
    """x, y, w, h (predicted when ``missed`` > 0)."""
    confirmed: bool
    missed: int
    """Frames since the person was last detected."""
    count: int
    trail: tuple[tuple[int, int], ...]
    """Recent anchor points, oldest first."""


class CountingPipeline:
    """Counts people crossing a line (or a zone boundary) in one video stream."""

    def __init__(self, counting: CountingSpec, params: VisionParams = DEFAULT_PARAMS,
                 detector: Detector | None = None) -> None:
        self.counting = counting
        self.params = params
        self.geometry = CountingGeometry(counting)
        self.sizes = PersonSize(params, self.geometry)
        self.detector: Detector = detector if detector is not None else BlobDetector(
            params, counting.frame_size, self.geometry.axis, self.sizes.at)
        self._tracker = Tracker(params, counting.frame_size)
        self._counter = CrossingCounter(self.geometry, self._band(), self._tracker)
        self._background = Background(params, 1)  # replaced once the frame size is known
        self._rebuilds_before = 0  # by backgrounds replaced since
        self._lighting_before = 0
        self._original: tuple[int, int] | None = None  # (w, h) of the stream's frames
        self._process: tuple[int, int] = (0, 0)
        self._last_t: float | None = None
        self._bootstrap = Bootstrap()  # the first background: see bootstrap.py
        self.frames = 0
        """Frames processed since construction."""

    def process(self, frame: np.ndarray, t: float) -> list[Crossing]:
        """Feed one frame (BGR uint8 or grey) taken at ``t`` seconds; crossings it completes.

        ``t`` must not go backwards within a stream (it is clamped if it does); its gaps may
        vary (dropped frames are fine). A frame of another size than the previous one resets
        the pipeline first.
        """
        frame = self._checked(frame)
        if self._last_t is not None and t < self._last_t:
            t = self._last_t
        self._last_t = t
        self.frames += 1
        small = cv2.resize(frame, self._process, interpolation=cv2.INTER_AREA)
        if self._bootstrap.pending:
            return self._count_window(self._bootstrap.add(small, t))
        return self._step(small, t)

    def flush(self) -> list[Crossing]:
        """The end of a stream (call at a file's end, and before ``reset`` when the stream is
        replaced): the frames still held back for the first background are counted, and
        people caught over the line by the end count (:meth:`CrossingCounter.finish`)."""
        held = self._count_window(self._bootstrap.finish()) if self._bootstrap.pending else []
        return held + self._in_original(self._counter.finish())

    def _count_window(self, learned: Learned | None) -> list[Crossing]:
        if learned is None:
            return []  # held back until the first background is learned
        self._background.seed(learned.background, learned.samples)
        log.debug("first background learned from %d frames", len(learned.frames))
        return [c for held, ht in learned.frames for c in self._step(held, ht)]

    def _step(self, small: np.ndarray, t: float) -> list[Crossing]:
        """One processing-size frame through background, detector, tracker and counter."""
        foreground = self._background.apply(small, self._covered())
        if foreground is None:
            return []  # the tracks coast through the relearning frame
        detections: list[Detection] = []
        if cv2.countNonZero(foreground) >= self._min_pixels():
            detections = self.detector.detect(small, foreground)
        self._tracker.update([self._to_counting(d) for d in detections], t)
        if detections and isinstance(self.detector, BlobDetector):
            self._learn_size(self.detector.blobs)
            self.detector.learned = self.sizes.learned
            self._counter.hysteresis = self._band()
        return self._in_original(self._counter.update(t))

    def reset(self) -> None:
        """Forget tracks, sides and background (after a reconnect: nothing is continuous).
        Frames still held back are dropped: ``flush`` first to count them."""
        self._tracker.reset()
        self._counter.reset()
        self._background.reset()
        self._bootstrap.reset()
        self._last_t = None

    @property
    def health(self) -> VisionHealth:
        """What the pipeline has been through since it was built (totals)."""
        return VisionHealth(
            background_rebuilds=self._rebuilds_before + self._background.rebuilds,
            lighting_changes=self._lighting_before + self._background.lighting_changes,
            tracks_lost=self._counter.tracks_lost,
            merged_crossings=self._counter.merged,
            line_jumps=self._counter.jumps,
            person_width_px=round(self.sizes.at_line()[0], 1),
            person_length_px=round(self.sizes.at_line()[1], 1),
            person_size_learned=self.sizes.learned,
            band_px=round(self._counter.hysteresis, 1))

    def _band(self) -> float:
        """The hysteresis band for people of the size seen (or configured) on the line."""
        return band_px(self.counting.hysteresis_px, self.sizes.at_line()[1])

    def _learn_size(self, blobs: list[tuple[float, float, float, float]]) -> None:
        """Whole blobs that hold a confirmed track and do not touch the picture's edge."""
        width, height = self._process
        fx = self.counting.frame_size[0] / width
        fy = self.counting.frame_size[1] / height
        ax, ay = self.geometry.axis
        tracks = [(track.id, *track.position) for track in self._tracker.tracks
                  if track.observed and self._tracker.confirmed(track)]
        if not tracks:
            return
        for x, y, w, h in blobs:
            if x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1:
                continue
            x0, y0, x1, y1 = x * fx, y * fy, (x + w) * fx, (y + h) * fy
            inside = [track for track, tx, ty in tracks if x0 <= tx <= x1 and y0 <= ty <= y1]
            if inside:
                along = abs(ax) * (x1 - x0) + abs(ay) * (y1 - y0)
                across = abs(ay) * (x1 - x0) + abs(ax) * (y1 - y0)
                # one vote per blob, whatever the tracks in it: one person the detector cut
                # in two (sizes guessed too small) must still teach their true size
                self.sizes.observe(((x0 + x1) / 2, (y0 + y1) / 2), along, across, min(inside))

    def _covered(self) -> list[tuple[float, float, float, float]]:
        """The tracked people's boxes in processing-frame pixels."""
        fx = self._process[0] / self.counting.frame_size[0]
        fy = self._process[1] / self.counting.frame_size[1]
        return [(x * fx, y * fy, w * fx, h * fy)
                for x, y, w, h in (track.bbox for track in self._tracker.tracks)]

    @property
    def tracks(self) -> list[TrackView]:
        """Current tracks in the stream's frame pixels (tentative ones too: a snapshot must
        blur every face)."""
        return self._views(self._original or self.counting.frame_size)

    def draw_overlay(self, frame: np.ndarray) -> np.ndarray:
        """A copy of ``frame`` (of any size: the stream's or a resized one) with the line or
        zone, its hysteresis band, the "in" arrow and the tracks drawn."""
        height, width = frame.shape[:2]
        fw, fh = self.counting.frame_size
        return draw_overlay(frame, self.geometry, (width / fw, height / fh),
                            self._views((width, height)), self._counter.hysteresis)

    def _checked(self, frame: np.ndarray) -> np.ndarray:
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or min(frame.shape[:2]) < 16:
            raise ValueError(f"expected a BGR uint8 frame, got {frame.dtype} {frame.shape}")
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        elif frame.shape[2] != 3:
            raise ValueError(f"expected 3 colour channels, got {frame.shape[2]}")
        size = (frame.shape[1], frame.shape[0])
        if size != self._original:
            if self._original is not None:
                log.warning("frame size changed from %s to %s: resetting", self._original, size)
                self.reset()
            self._set_size(size)
        return frame

    def _set_size(self, size: tuple[int, int]) -> None:
        self._original = size
        width = min(self.params.process_width, size[0])
        self._process = (width, max(1, round(size[1] * width / size[0])))
        fill = round(self.params.person_width_px / 4 * width / self.counting.frame_size[0])
        self._rebuilds_before += self._background.rebuilds
        self._lighting_before += self._background.lighting_changes
        self._background = Background(self.params, fill)
        fw, fh = self.counting.frame_size
        if abs(size[0] / size[1] - fw / fh) > 0.02 * fw / fh:
            log.warning("frames are %dx%d but the counting frame_size is %dx%d: "
                        "scaling each axis on its own", size[0], size[1], fw, fh)

    def _min_pixels(self) -> float:
        scale = self._process[0] / self.counting.frame_size[0]
        return self.params.min_blob_area_px * scale * scale

    def _to_counting(self, detection: Detection) -> tuple[Detection, tuple[float, float]]:
        fx = self.counting.frame_size[0] / self._process[0]
        fy = self.counting.frame_size[1] / self._process[1]
        x, y, w, h = detection.bbox
        px, py = detection.point
        scaled = Detection((x * fx, y * fy, w * fx, h * fy), (px * fx, py * fy), detection.score,
                           detection.count)
        if self.params.anchor == "bottom":
            return scaled, ((x + w / 2) * fx, (y + h) * fy)
        return scaled, scaled.point

    def _in_original(self, crossings: list[Crossing]) -> list[Crossing]:
        """``crossings`` with their boxes in the stream's frame pixels."""
        factors = self._factors(self._original or self.counting.frame_size)
        return [replace(c, bbox=_scaled_box(c.bbox, factors)) for c in crossings]

    def _factors(self, size: tuple[int, int]) -> tuple[float, float]:
        """Counting-frame pixels → pixels of a frame of ``size``."""
        return size[0] / self.counting.frame_size[0], size[1] / self.counting.frame_size[1]

    def _views(self, size: tuple[int, int]) -> list[TrackView]:
        fx, fy = self._factors(size)
        return [TrackView(track.id, _scaled_box(track.bbox, (fx, fy)), self._tracker.confirmed(track),
                          track.missed, track.count,
                          tuple((round(x * fx), round(y * fy)) for x, y in track.history[-20:]))
                for track in self._tracker.tracks]


def _scaled_box(box: tuple[float, float, float, float],
                factors: tuple[float, float]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    fx, fy = factors
    return round(x * fx), round(y * fy), round(w * fx), round(h * fy)
