"""Top-down people figures for the synthetic doorway video.

A figure is drawn from above: two legs/feet that swing along the walking direction, two arms
swinging the other way, the shoulders (an ellipse, wider than deep) and the head, with a
slight sideways sway. Its shadow is the same outline, shifted and stretched, darkening the
floor below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

SHIFT = 4
"""Fixed-point bits for cv2 drawing: positions move smoothly by fractions of a pixel."""
ONE = 1 << SHIFT

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Look:
    """How one person looks from above (pixels, BGR colours)."""

    shoulders: float
    depth: float
    head: float
    shirt: Colour
    trousers: Colour
    hair: Colour
    step_px: float = 34.0
    """Distance walked per step (one leg swing)."""
    sway_px: float = 2.0


def draw_person(image: np.ndarray, x: float, y: float, heading: float, phase: float,
                look: Look) -> None:
    """Draw ``look`` at (x, y) facing ``heading`` (radians, image axes) into ``image``.

    ``phase`` is the gait phase (radians); the limbs swing with sin(phase).
    """
    fx, fy = math.cos(heading), math.sin(heading)  # forward
    lx, ly = -fy, fx  # lateral
    swing = math.sin(phase)
    sway = look.sway_px * math.sin(phase / 2)
    cx, cy = x + lx * sway, y + ly * sway
    angle = math.degrees(heading)
    for side in (-1.0, 1.0):
        forward = swing * side * look.depth * 0.55
        _ellipse(image, cx + lx * side * look.shoulders * 0.18 + fx * forward,
                 cy + ly * side * look.shoulders * 0.18 + fy * forward,
                 look.depth * 0.42, look.shoulders * 0.13, angle, look.trousers)
    for side in (-1.0, 1.0):
        forward = -swing * side * look.depth * 0.35
        _ellipse(image, cx + lx * side * look.shoulders * 0.47 + fx * forward,
                 cy + ly * side * look.shoulders * 0.47 + fy * forward,
                 look.depth * 0.38, look.shoulders * 0.1, angle, _darker(look.shirt))
    _ellipse(image, cx, cy, look.depth / 2, look.shoulders / 2, angle, look.shirt)
    _ellipse(image, cx + fx * look.depth * 0.08, cy + fy * look.depth * 0.08,
             look.head / 2, look.head * 0.45, angle, look.hair)


def draw_shadow(mask: np.ndarray, x: float, y: float, heading: float, look: Look,
                offset: tuple[float, float], stretch: float) -> None:
    """Draw the person's shadow outline (255) into the single-channel ``mask``."""
    angle = math.degrees(heading)
    _ellipse(mask, x + offset[0], y + offset[1], look.depth * 0.75 * stretch,
             look.shoulders * 0.55 * stretch, angle, (255, 255, 255))


def _ellipse(image: np.ndarray, x: float, y: float, half_forward: float, half_lateral: float,
             angle: float, colour: Colour) -> None:
    center = (int(x * ONE), int(y * ONE))
    axes = (max(1, int(half_forward * ONE)), max(1, int(half_lateral * ONE)))
    cv2.ellipse(image, center, axes, angle, 0, 360, colour, -1, cv2.LINE_AA, SHIFT)


def _darker(colour: Colour) -> Colour:
    return (int(colour[0] * 0.8), int(colour[1] * 0.8), int(colour[2] * 0.8))
