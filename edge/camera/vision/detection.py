"""Person detection: the :class:`Detector` protocol and the motion blob detector.

A detector gets the processing frame (BGR, downscaled to ``VisionParams.process_width``) and
its foreground mask (uint8, 255 = moving, shadows already removed) and returns the people it
sees, in pixels of that processing frame. The pipeline only calls it when something moves.

:class:`BlobDetector` needs no model: it cleans the mask (opening, closing), takes connected
components, merges fragments of one body and splits blobs that hold several people side by
side (or one behind the other) at the valleys of their pixel profile. A DNN detector (an
installer-supplied ONNX model through ``cv2.dnn``) can replace it by implementing
:class:`Detector`; none ships here, because there is no model we could test honestly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from edge.camera.vision.config import VisionParams

Box = tuple[float, float, float, float]
LEARNED_SPLIT = 1.5
"""Blob extent, in learned person sizes, past which it holds several people."""
VALLEY_RATIO = 0.7
"""A cut is a real gap between people when the profile there is below this share of the
smaller of the two peaks it separates."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected person (or a group that cannot be split), in detector-frame pixels."""

    bbox: Box
    """x, y, w, h."""
    point: tuple[float, float]
    """Centre of the person (blob centroid; a DNN box's centre)."""
    score: float = 1.0
    """0..1: how much this looks like a person."""
    count: int = 1
    """People this detection stands for (a blob wide enough for two with no gap between)."""


class Detector(Protocol):
    """Finds people in a processing frame; ``fg_mask`` is 255 where something moves."""

    def detect(self, frame: np.ndarray, fg_mask: np.ndarray) -> list[Detection]:
        """People in ``frame`` (BGR uint8), in its pixels."""
        ...


@dataclass(slots=True)
class _Blob:
    labels: list[int]
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int
    area: int  # pixels of its labels

    def extent(self, axis: tuple[float, float]) -> float:
        return abs(axis[0]) * (self.x1 - self.x0) + abs(axis[1]) * (self.y1 - self.y0)

    def gap(self, other: _Blob) -> int:
        dx = max(other.x0 - self.x1, self.x0 - other.x1, 0)
        dy = max(other.y0 - self.y1, self.y0 - other.y1, 0)
        return max(dx, dy)

    def union(self, other: _Blob) -> _Blob:
        return _Blob(self.labels + other.labels, min(self.x0, other.x0), min(self.y0, other.y0),
                     max(self.x1, other.x1), max(self.y1, other.y1), self.area + other.area)


class BlobDetector:
    """Connected components of the foreground, merged and split to one blob per person.

    ``frame_size`` is the counting frame the sizes in ``params`` refer to; ``axis`` the unit
    vector along the counting line (people side by side stand along it). ``sizes``, when
    given, says how big one person is at a point of the counting frame (width along the
    line, length across it: see :mod:`edge.camera.vision.size`); else the configured sizes.
    """

    def __init__(self, params: VisionParams, frame_size: tuple[int, int],
                 axis: tuple[float, float] = (1.0, 0.0),
                 sizes: Callable[[tuple[float, float]], tuple[float, float]] | None = None
                 ) -> None:
        self.params = params
        self.frame_size = frame_size
        self.axis = axis
        self.normal = (-axis[1], axis[0])
        self.sizes = sizes
        self.learned = False
        """Whether ``sizes`` are learned from the scene (else the configured guess)."""
        self.blobs: list[Box] = []
        """The last frame's blobs (x, y, w, h) after merging fragments, before splitting."""
        self._scale = (1.0, 1.0)
        self._along = np.array(axis, dtype=np.float32)
        self._across = np.array(self.normal, dtype=np.float32)
        self._aligned = abs(axis[0]) == 1.0 or abs(axis[1]) == 1.0
        """A horizontal or vertical line: a blob's extents along and across it are its box's."""
        self._sums: tuple[np.ndarray, np.ndarray] | None = None

    def _factor(self) -> float:
        """How many times one person's size a blob must be to hold several. A learned size
        is the median extent of whole blobs of one person (arms and all), so half-way to two
        people is the natural cut; the configured one is a guess, ``split_factor`` tunes it."""
        return LEARNED_SPLIT if self.learned else self.params.split_factor

    def _person(self, x: float, y: float) -> tuple[float, float]:
        """(width, length) of one person at processing-frame point (x, y), in its pixels."""
        sx, sy = self._scale
        if self.sizes is None:
            width, length = self.params.person_width_px, self.params.person_length_px
        else:
            width, length = self.sizes((x / sx, y / sy))
        return width * sx, length * sx

    def detect(self, frame: np.ndarray, fg_mask: np.ndarray) -> list[Detection]:
        """People in the foreground mask (``frame`` is not needed by this detector)."""
        scale = fg_mask.shape[1] / self.frame_size[0]
        self._scale = (scale, fg_mask.shape[0] / self.frame_size[1])
        size = max(3, round(10 * scale) | 1)
        mask = cv2.morphologyEx(fg_mask, cv2.MORPH_OPEN, _kernel(3))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _kernel(size))
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = self.params.min_blob_area_px * scale * scale
        blobs = [
            _Blob([i], x, y, x + w, y + h, area)
            for i, (x, y, w, h, area) in enumerate(stats.tolist()[1:count], start=1)
            if area >= min_area / 4  # fragments kept to merge
        ]
        self._sums = None
        if self._aligned and blobs:
            # each component's coordinate sums (whole numbers: OpenCV's centroid is the
            # sum over the area, in double)
            sums = np.rint(centroids * stats[:, 4:5])
            self._sums = (sums[:, 0], sums[:, 1])
        detections: list[Detection] = []
        merged = self._merge(blobs, scale)
        self.blobs = [(float(b.x0), float(b.y0), float(b.x1 - b.x0), float(b.y1 - b.y0))
                      for b in merged]
        for blob in merged:
            detections.extend(self._split(blob, labels, scale, min_area))
        return detections

    def _merge(self, blobs: list[_Blob], scale: float) -> list[_Blob]:
        """Join fragments that are close and together still fit one person."""
        gap = self.params.merge_gap_px * scale
        merged = True
        while merged:
            merged = False
            for i in range(len(blobs)):
                a = blobs[i]
                for j in range(i + 1, len(blobs)):
                    b = blobs[j]
                    # a.gap(b), inlined: this pair loop runs hundreds of times a frame
                    if (b.x0 - a.x1 > gap or a.x0 - b.x1 > gap or b.y0 - a.y1 > gap
                            or a.y0 - b.y1 > gap):
                        continue
                    joined = a.union(b)
                    width, length = self._person((joined.x0 + joined.x1) / 2,
                                                 (joined.y0 + joined.y1) / 2)
                    if (joined.extent(self.axis) <= width * 1.3
                            and joined.extent(self.normal) <= length * 1.3):
                        blobs[i] = joined
                        del blobs[j]
                        merged = True
                        break
                if merged:
                    break
        return blobs

    def _split(self, blob: _Blob, labels: np.ndarray, scale: float,
               min_area: float) -> list[Detection]:
        if blob.area < min_area:
            return []
        person: tuple[float, float] | None = None
        if self._sums is not None:
            whole, person = self._whole(blob)
            if whole is not None:
                return [whole]
        roi = labels[blob.y0:blob.y1, blob.x0:blob.x1]
        ys, xs = np.nonzero(roi == blob.labels[0] if len(blob.labels) == 1
                            else np.isin(roi, blob.labels))
        points = np.empty((len(xs), 2), np.float32)
        points[:, 0] = xs + blob.x0
        points[:, 1] = ys + blob.y0
        if person is None:
            centre = points.mean(axis=0)
            person = self._person(float(centre[0]), float(centre[1]))
            # most blobs are one person: when neither extent calls for a cut (what _cut
            # checks first), the detection is built from what is known, without a second pass
            factor = self._factor()
            along = points @ self._along
            across = points @ self._across
            if (float(along.max()) - float(along.min()) + 1 <= factor * person[0]
                    and float(across.max()) - float(across.min()) + 1 <= factor * person[1]):
                return [self._build((float(blob.x0), float(blob.y0), float(blob.x1 - blob.x0),
                                     float(blob.y1 - blob.y0)),
                                    (float(centre[0]), float(centre[1])),
                                    float(along.max() - along.min()) + 1, len(points))]
        parts = [points]
        # side by side (along the line) people may be pressed together; one behind the
        # other (across it) a long blob is more often one person's stride and shadow
        for axis, extent, valleys_only in ((self.axis, person[0], False),
                                           (self.normal, person[1], True)):
            parts = [piece for part in parts
                     for piece in _cut(part, axis, extent, self._factor(),
                                       min_area, valleys_only)]
        return [self._detection(part) for part in parts]

    def _whole(self, blob: _Blob) -> tuple[Detection | None, tuple[float, float]]:
        """The blob as one detection when neither extent calls for a cut, from its box and
        its components' sums (a horizontal or vertical line only: then the projected extents
        are the box's). The centre is what ``points.mean`` gives: the sums are exact, and
        numpy divides a float32 sum by the count in float64. Also one person's size there."""
        assert self._sums is not None
        n = blob.area
        cx = float(np.float32(sum(float(self._sums[0][i]) for i in blob.labels) / n))
        cy = float(np.float32(sum(float(self._sums[1][i]) for i in blob.labels) / n))
        person = self._person(cx, cy)
        factor = self._factor()
        w, h = blob.x1 - blob.x0, blob.y1 - blob.y0
        along, across = (w, h) if abs(self.axis[0]) == 1.0 else (h, w)
        if along > factor * person[0] or across > factor * person[1]:
            return None, person
        return self._build((float(blob.x0), float(blob.y0), float(w), float(h)), (cx, cy),
                           float(along), n), person

    def _detection(self, part: np.ndarray) -> Detection:
        x0, y0 = part.min(axis=0)
        x1, y1 = part.max(axis=0) + 1
        cx, cy = part.mean(axis=0)
        width = float(np.ptp(part @ self._along)) + 1
        return self._build((float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                           (float(cx), float(cy)), width, len(part))

    def _build(self, bbox: Box, centre: tuple[float, float], width: float,
               pixels: int) -> Detection:
        """A detection of ``pixels`` pixels spanning ``width`` along the line."""
        person, length = self._person(*centre)
        count = max(1, round(width / person)) if width > self._factor() * person else 1
        expected = person * length * 0.4
        score = min(1.0, pixels / max(expected, 1.0))
        return Detection(bbox, centre, round(score, 3), count)


def _cut(points: np.ndarray, axis: tuple[float, float], person: float, factor: float,
         min_area: float, at_valleys_only: bool) -> list[np.ndarray]:
    """Split ``points`` along ``axis`` when they span several people.

    Cuts go where the pixel profile has a clear valley (a gap between two people). Without
    one, the blob is cut into equal shares of pixels (people pressed together), unless
    ``at_valleys_only`` or a share would be too narrow or small to be a person; then the
    blob stays whole (and the detection's ``count`` says how many it holds).
    """
    proj = points @ np.array(axis, dtype=np.float32)
    low = float(proj.min())
    extent = float(proj.max()) - low + 1
    if extent <= factor * person:
        return [points]
    people = max(2, round(extent / person))
    order = np.argsort(proj)
    cuts = _valleys(proj - low, extent, people, person)
    if cuts:
        pieces = np.split(points[order], np.searchsorted(proj[order], [low + c for c in cuts]))
    elif at_valleys_only:
        return [points]
    else:
        pieces = np.array_split(points[order], people)
        if any(float(np.ptp(piece @ np.array(axis, dtype=np.float32))) < 0.6 * person
               for piece in pieces):
            return [points]
    if any(len(piece) < min_area for piece in pieces):
        return [points]
    return pieces


def _valleys(proj: np.ndarray, extent: float, people: int, person: float) -> list[float]:
    """Positions (from the low end) of clear minima of the profile near the ideal cuts."""
    profile = np.bincount(proj.astype(np.int64)).astype(np.float32)
    width = max(3, int(person * 0.15) | 1)
    smooth = np.convolve(profile, np.ones(width, dtype=np.float32) / width, mode="same")
    cuts: list[float] = []
    for i in range(1, people):
        target = extent * i / people
        half = extent / people * 0.35
        lo, hi = int(max(1, target - half)), int(min(len(smooth) - 1, target + half))
        if hi <= lo:
            continue
        at = lo + int(np.argmin(smooth[lo:hi]))
        left = float(smooth[:at].max()) if at > 0 else 0.0
        right = float(smooth[at:].max())
        if smooth[at] < VALLEY_RATIO * min(left, right):
            cuts.append(float(at))
    return cuts


@functools.cache
def _kernel(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
