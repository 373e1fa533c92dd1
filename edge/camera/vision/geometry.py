"""Counting geometry: signed distance of a point to the counting line or zone boundary.

Everything here works in pixels of ``CountingSpec.frame_size``. The sign says the side:
positive on the "in" side, negative on the "out" side. A point that is not in front of the
line segment (its projection falls beyond ``a`` or ``b``) has no side (``None``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from edge.camera.vision.config import CountingSpec

Vec = tuple[float, float]


class CountingGeometry:
    """Signed distances to the counting line (or zone boundary) of a :class:`CountingSpec`."""

    def __init__(self, spec: CountingSpec) -> None:
        self.spec = spec
        self._contour: np.ndarray | None = None
        if spec.line is not None:
            (ax, ay), (bx, by) = spec.line.a, spec.line.b
            length = math.hypot(bx - ax, by - ay)
            self._a = (ax, ay)
            self._length = length
            self.axis: Vec = ((bx - ax) / length, (by - ay) / length)
            self._sign = spec.line.in_sign()
        else:
            assert spec.zone is not None  # the model guarantees one of the two
            self._contour = np.array(spec.zone.polygon, dtype=np.float32).reshape(-1, 1, 2)
            self._sign = 1.0 if spec.zone.in_side == "inside" else -1.0
            # no preferred direction for a zone: people may walk through any edge
            self.axis = (1.0, 0.0)

    @property
    def is_line(self) -> bool:
        """True for a line, False for a zone."""
        return self._contour is None

    def in_normal(self) -> Vec:
        """Unit vector across the line pointing to the "in" side (lines only)."""
        ux, uy = self.axis
        # (b-a) x n > 0 for n = (-uy, ux): that side is "right" on the screen (y down)
        return (-uy * self._sign, ux * self._sign)

    def signed_distance(self, point: Vec) -> float | None:
        """Distance of ``point`` to the line, positive on the "in" side; None when off the
        segment (a line's projection beyond its ends)."""
        if self._contour is not None:
            inside = cv2.pointPolygonTest(self._contour, (float(point[0]), float(point[1])), True)
            return float(inside) * self._sign
        px, py = point[0] - self._a[0], point[1] - self._a[1]
        ux, uy = self.axis
        along = px * ux + py * uy
        if along < 0.0 or along > self._length:
            return None
        return (ux * py - uy * px) * self._sign
