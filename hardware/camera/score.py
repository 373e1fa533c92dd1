"""Scoring a people counter against a rendered clip's ground truth.

Each counted crossing (a crossing with ``count`` k stands for k people) is matched to at most
one true crossing of the same direction whose time is within ``window_s``, nearest first.
Recall = matched / true crossings; precision = matched / counted people; a count in the
wrong direction is both a miss and a spurious count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from edge.camera.vision.config import VisionParams
from edge.camera.vision.counting import Crossing
from edge.camera.vision.pipeline import CountingPipeline
from hardware.camera.render import GroundTruth, TrueCrossing

WINDOW_S = 1.0


@dataclass(frozen=True)
class Score:
    """Counts of one clip (or a sum of clips)."""

    true_in: int
    true_out: int
    counted_in: int
    counted_out: int
    matched: int

    @property
    def true_total(self) -> int:
        """True crossings."""
        return self.true_in + self.true_out

    @property
    def counted_total(self) -> int:
        """Counted people."""
        return self.counted_in + self.counted_out

    @property
    def recall(self) -> float:
        """Share of true crossings counted in the right direction at the right time."""
        return self.matched / self.true_total if self.true_total else 1.0

    @property
    def precision(self) -> float:
        """Share of counted people that match a true crossing."""
        return self.matched / self.counted_total if self.counted_total else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(self.true_in + other.true_in, self.true_out + other.true_out,
                     self.counted_in + other.counted_in, self.counted_out + other.counted_out,
                     self.matched + other.matched)

    def line(self, name: str) -> str:
        """One table row."""
        return (f"{name:14} true in/out {self.true_in:3}/{self.true_out:<3} counted "
                f"{self.counted_in:3}/{self.counted_out:<3} precision {self.precision:6.1%} "
                f"recall {self.recall:6.1%}")


def score(counted: Iterable[Crossing], truth: Iterable[TrueCrossing],
          window_s: float = WINDOW_S) -> Score:
    """Match counted crossings to true ones by direction and time."""
    counted = list(counted)
    truth = list(truth)
    matched = 0
    for direction in ("in", "out"):
        said = [c.t for c in counted if c.direction == direction for _ in range(c.count)]
        real = [c.t for c in truth if c.direction == direction]
        pairs = sorted((abs(s - r), i, j) for i, s in enumerate(said) for j, r in enumerate(real)
                       if abs(s - r) <= window_s)
        used_said: set[int] = set()
        used_real: set[int] = set()
        for _, i, j in pairs:
            if i not in used_said and j not in used_real:
                used_said.add(i)
                used_real.add(j)
        matched += len(used_said)
    return Score(sum(1 for c in truth if c.direction == "in"),
                 sum(1 for c in truth if c.direction == "out"),
                 sum(c.count for c in counted if c.direction == "in"),
                 sum(c.count for c in counted if c.direction == "out"), matched)


def run(frames: Iterable[np.ndarray], truth: GroundTruth, params: VisionParams | None = None,
        every: int = 1) -> list[Crossing]:
    """Run a fresh pipeline over a clip (every ``every``-th frame); its crossings."""
    pipeline = CountingPipeline(truth.counting, params or VisionParams())
    found: list[Crossing] = []
    for i, frame in enumerate(frames):
        if i % every == 0:
            found.extend(pipeline.process(frame, i / truth.fps))
    return found
