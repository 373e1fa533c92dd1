"""Configuration of the people-counting vision pipeline.

Two models, both frozen and refusing unknown keys (a typo is an error naming its field):

* :class:`CountingSpec` — *where* to count: a counting ``line`` (or a ``zone``), which side is
  "in", the hysteresis, and the frame size its coordinates refer to.
* :class:`VisionParams` — *how* to see: processing size, background subtraction, blob sizes,
  tracker tunables. The defaults suit a 640x480 overhead or steep doorway view in which one
  person is roughly 40-70 px wide; sizes are given in pixels of ``CountingSpec.frame_size``.

Coordinates are image pixels (x to the right, y DOWN) of a frame of ``frame_size``; frames of
another size are scaled to it, each axis on its own.

Sides of a line ``a → b`` (``in_side``):

* ``left`` / ``right`` — relative to the direction a → b as seen on the screen: stand on the
  image at ``a`` facing ``b``. E.g. a = [0, 240], b = [640, 240] (pointing right): ``left`` is
  the upper half of the image, ``right`` the lower half.
* ``above`` / ``below`` — relative to the image (smaller / larger y), whatever the direction
  of a → b; only for lines at most 45° from horizontal (otherwise ambiguous: refused).

Only crossings through the segment a–b count (points whose projection falls beyond a or b
are ignored), so a line can be a doorway rather than the whole width of the image.

A zone is a polygon whose *boundary* is the counting line: with ``in_side: inside`` a person
who walks into the polygon counts "in" and one who walks out of it counts "out" (``outside``
flips that). Hysteresis applies on both sides of the boundary, as for a line.

Hysteresis: a track's side changes only when its anchor point is more than ``hysteresis_px``
beyond the line, or a fifth of a person's length across it when that is more (the band grows
with how big people look; see :mod:`edge.camera.vision.counting`); within the band nothing
changes, so loitering on the line, or stepping onto it and turning back, counts nothing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from edge.config_base import Section

Point = tuple[float, float]


class LineSpec(Section):
    """A counting line from ``a`` to ``b`` and which side of it is "in"."""

    a: Point
    b: Point
    in_side: Literal["left", "right", "above", "below"]

    @model_validator(mode="after")
    def _usable(self) -> Self:
        dx, dy = self.b[0] - self.a[0], self.b[1] - self.a[1]
        if math.hypot(dx, dy) < 10:
            raise ValueError("line a-b must be at least 10 px long")
        if self.in_side in ("above", "below") and abs(dy) > abs(dx):
            raise ValueError(
                f"in_side {self.in_side!r} needs a line at most 45° from horizontal; "
                "use left/right (relative to a → b) for a steep line")
        return self

    def in_sign(self) -> float:
        """+1 when "in" is the side where the cross product (b-a) x (p-a) is positive, else -1.

        With y pointing down, a positive cross product is on the RIGHT of a → b as seen on
        the screen, and, for a line closer to horizontal, ``below`` it when a → b points right.
        """
        if self.in_side == "right":
            return 1.0
        if self.in_side == "left":
            return -1.0
        points_right = self.b[0] > self.a[0]
        return 1.0 if (self.in_side == "below") == points_right else -1.0


class ZoneSpec(Section):
    """A polygon whose boundary is the counting line; ``in_side`` says which side is "in"."""

    polygon: tuple[Point, ...] = Field(min_length=3)
    in_side: Literal["inside", "outside"] = "inside"

    @model_validator(mode="after")
    def _simple_polygon(self) -> Self:
        if self_intersects(self.polygon):
            raise ValueError("polygon edges must not cross each other")
        if abs(polygon_area(self.polygon)) < 100:
            raise ValueError("polygon must enclose at least 100 px²")
        return self


class CountingSpec(Section):
    """Where to count: exactly one of ``line`` or ``zone``, in pixels of ``frame_size``."""

    frame_size: tuple[int, int] = (640, 480)
    line: LineSpec | None = None
    zone: ZoneSpec | None = None
    hysteresis_px: float = Field(default=16.0, ge=0.0, le=200.0)
    """How far beyond the line (each side) a track must be before its side changes, at
    least; the counter widens it to a fifth of a person's length across the line."""

    @model_validator(mode="after")
    def _one_geometry_inside_the_frame(self) -> Self:
        width, height = self.frame_size
        if width < 16 or height < 16:
            raise ValueError("frame_size must be at least [16, 16]")
        if (self.line is None) == (self.zone is None):
            raise ValueError("give exactly one of 'line' or 'zone'")
        points: tuple[Point, ...] = (
            (self.line.a, self.line.b) if self.line is not None
            else self.zone.polygon if self.zone is not None else ())
        for x, y in points:
            if not (0 <= x <= width and 0 <= y <= height):
                raise ValueError(
                    f"point [{x:g}, {y:g}] lies outside frame_size [{width}, {height}] "
                    "(coordinates are pixels of frame_size)")
        return self


class VisionParams(Section):
    """Tunables of detection and tracking; sizes are pixels of ``CountingSpec.frame_size``."""

    process_width: int = Field(default=320, ge=64, le=1920)
    """Frames are downscaled to this width before any processing (speed)."""
    bg_history: int = Field(default=300, ge=10)
    """Frames the background model remembers (MOG2 history)."""
    bg_var_threshold: float = Field(default=16.0, gt=0.0)
    """MOG2 variance threshold: higher sees less foreground (and less noise)."""
    shadow_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    """A pixel darker than the background by a factor between this and 1 is a shadow."""
    lighting_change_fraction: float = Field(default=0.35, gt=0.0, le=1.0)
    """Foreground over this fraction of the frame = lights changed: relearn the background."""
    min_blob_area_px: float = Field(default=500.0, ge=0.0)
    """Foreground blobs smaller than this (px²) are noise."""
    person_width_px: float = Field(default=60.0, gt=0.0)
    """Typical width of one person along the counting line (across the walking direction),
    whichever way the line runs. Used until the size is learned from the scene
    (:mod:`edge.camera.vision.size`), and as the scale of that size's sanity bounds."""
    person_length_px: float = Field(default=90.0, gt=0.0)
    """Typical length of one person's blob across the counting line (along the walking
    direction: legs, arms); like the width, used until learned."""
    split_factor: float = Field(default=1.6, ge=1.0)
    """A blob wider than split_factor x person_width (or longer than split_factor x
    person_length) holds several people and is split."""
    merge_gap_px: float = Field(default=12.0, ge=0.0)
    """Blobs this close whose union still fits one person are fragments of one body."""
    anchor: Literal["center", "bottom"] = "center"
    """Point of a person that must cross: blob centroid (overhead) or bottom centre (feet,
    for an oblique view)."""
    gate_px: float = Field(default=60.0, gt=0.0)
    """Largest distance between a track's predicted position and a detection it may take."""
    max_missed_frames: int = Field(default=12, ge=0)
    """Frames a track survives without a detection (coasting on its prediction)."""
    min_hits: int = Field(default=3, ge=1)
    """Detections a track needs before it is confirmed (and may count)."""
    accel_noise_px_s2: float = Field(default=400.0, gt=0.0)
    """Kalman process noise: how hard people may change speed, px/s²."""
    measurement_noise_px: float = Field(default=5.0, gt=0.0)
    """Kalman measurement noise: jitter of a detection's anchor point, px."""
    detector: Literal["motion", "dnn"] = "motion"
    """``motion``: foreground blobs (no model, the default); ``dnn``: an ONNX person detector
    (``model``), see :mod:`edge.camera.vision.dnn`."""
    model: Path | None = None
    """The ONNX model file of ``detector: dnn`` (supplied by the installer)."""
    dnn_layout: Literal["yolov8", "yolox"] = "yolov8"
    """``detector: dnn``: the model's input and output layout (:mod:`edge.camera.vision.dnn`):
    ``yolov8`` (Ultralytics export) or ``yolox`` (Megvii YOLOX export)."""
    dnn_confidence: float = Field(default=0.5, gt=0.0, lt=1.0)
    """``detector: dnn``: person boxes scoring below this are dropped."""

    @model_validator(mode="after")
    def _model_for_dnn(self) -> Self:
        if self.detector == "dnn" and self.model is None:
            raise ValueError("detector 'dnn' needs 'model': the path of an ONNX person detector")
        return self


def polygon_area(points: tuple[Point, ...]) -> float:
    """Signed area of a polygon (shoelace formula)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return total / 2.0


def self_intersects(points: tuple[Point, ...]) -> bool:
    """True when two non-adjacent edges of the polygon cross."""
    edges = list(zip(points, points[1:] + points[:1], strict=True))
    count = len(edges)
    for i in range(count):
        for j in range(i + 1, count):
            if j == i + 1 or (i == 0 and j == count - 1):
                continue  # adjacent edges share a vertex
            if _segments_cross(*edges[i], *edges[j]):
                return True
    return False


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0
