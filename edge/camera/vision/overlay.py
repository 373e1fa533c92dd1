"""Drawing the counting geometry and the tracks on a frame (installer preview, snapshots)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edge.camera.vision.geometry import CountingGeometry

if TYPE_CHECKING:
    from edge.camera.vision.pipeline import TrackView

LINE = (0, 255, 255)  # yellow (BGR)
BAND = (0, 160, 160)
ARROW = (0, 200, 0)
CONFIRMED = (0, 255, 0)
TENTATIVE = (160, 160, 160)


def draw_overlay(frame: np.ndarray, geometry: CountingGeometry, scale: tuple[float, float],
                 tracks: Sequence[TrackView], band: float) -> np.ndarray:
    """A copy of ``frame`` with the line/zone, its hysteresis band, the "IN" arrow and tracks.

    ``scale`` maps counting-frame pixels to ``frame`` pixels (x, y); ``band``: the
    hysteresis band each side of the line in counting-frame pixels (see
    :func:`edge.camera.vision.counting.band_px`).
    """
    out = frame.copy() if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    sx, sy = scale
    spec = geometry.spec

    def at(x: float, y: float) -> tuple[int, int]:
        return round(x * sx), round(y * sy)

    if spec.line is not None:
        a, b = spec.line.a, spec.line.b
        nx, ny = geometry.in_normal()
        h = band
        for offset in (-h, h):
            cv2.line(out, at(a[0] + nx * offset, a[1] + ny * offset),
                     at(b[0] + nx * offset, b[1] + ny * offset), BAND, 1, cv2.LINE_AA)
        cv2.line(out, at(*a), at(*b), LINE, 2, cv2.LINE_AA)
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        reach = max(48.0, 3 * h)
        tip = at(mx + nx * reach, my + ny * reach)
        cv2.arrowedLine(out, at(mx, my), tip, ARROW, 2, cv2.LINE_AA, tipLength=0.3)
        cv2.putText(out, "IN", (tip[0] + 4, tip[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6, ARROW, 2)
    elif spec.zone is not None:
        polygon = np.array([at(x, y) for x, y in spec.zone.polygon], dtype=np.int32)
        cv2.polylines(out, [polygon], True, LINE, 2, cv2.LINE_AA)
        cx, cy = polygon.mean(axis=0)
        label = "IN" if spec.zone.in_side == "inside" else "OUT"
        cv2.putText(out, label, (int(cx) - 12, int(cy)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, ARROW, 2)
    for track in tracks:
        colour = CONFIRMED if track.confirmed else TENTATIVE
        x, y, w, h = track.bbox
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, 1 if track.missed else 2)
        label = f"{track.id}" + (f" x{track.count}" if track.count > 1 else "")
        cv2.putText(out, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
        if len(track.trail) > 1:
            cv2.polylines(out, [np.array(track.trail, dtype=np.int32)], False, colour, 1)
    return out
