"""Counting accuracy against exact ground truth (rendered clips) and a real clip.

Every scenario of hardware.camera is rendered and counted with the DEFAULT VisionParams;
each counted crossing must match a true crossing of the same direction within 1 s. Run with
``-s`` to see precision and recall per clip and overall.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path

import cv2
import pytest

from edge.camera.vision.config import CountingSpec
from edge.camera.vision.counting import Crossing
from edge.camera.vision.pipeline import CountingPipeline
from hardware.camera.catalog import SCENARIOS
from hardware.camera.render import GroundTruth, render
from hardware.camera.score import Score, run, score

SEED = 0
Results = dict[str, tuple[Score, GroundTruth, list[Crossing]]]


@pytest.fixture(scope="module")
def results() -> Results:
    found: Results = {}
    for name in SCENARIOS:
        frames, truth = render(name, SEED)
        crossings = run(frames, truth)
        found[name] = (score(crossings, truth.crossings), truth, crossings)
    return found


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_clip_counts_what_really_crossed(results: Results, name: str) -> None:
    result, truth, crossings = results[name]
    print("\n" + result.line(name))
    assert (result.counted_in, result.counted_out) == (truth.total("in"), truth.total("out"))
    assert result.matched == result.true_total, [(c.t, c.direction) for c in crossings]


def test_overall_recall_and_spurious_counts(results: Results) -> None:
    total = reduce(lambda a, b: a + b, (result for result, _, _ in results.values()))
    print("\n" + "\n".join(results[name][0].line(name) for name in SCENARIOS))
    print(total.line("OVERALL"))
    assert total.recall >= 0.95
    assert 1 - total.precision <= 0.02


def test_crossings_carry_sane_boxes_and_confidences(results: Results) -> None:
    for _, truth, crossings in results.values():
        width, height = truth.size
        for crossing in crossings:
            x, y, w, h = crossing.bbox
            assert -w < x < width and -h < y < height and 10 < w < 200 and 10 < h < 200
            assert 0 < crossing.confidence <= 1 and crossing.count >= 1


def test_real_overhead_clip(shared_samples: Path) -> None:
    clip = shared_samples / "video" / "peopleCounter.avi"
    if not clip.exists():
        pytest.skip(f"{clip} not found")
    spec = CountingSpec.model_validate({"line": {"a": [0, 240], "b": [640, 240],
                                                 "in_side": "below"}})
    pipeline = CountingPipeline(spec)
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 24.0
    crossings: list[Crossing] = []
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        crossings.extend(pipeline.process(frame, index / fps))
        index += 1
    capture.release()
    down = sum(c.count for c in crossings if c.direction == "in")
    up = sum(c.count for c in crossings if c.direction == "out")
    print(f"\npeopleCounter.avi ({index} frames): top→bottom {down} (by eye 6, band 4-6), "
          f"bottom→top {up} (by eye 3); at t = {[round(c.t, 1) for c in crossings]}")
    assert index == 497
    assert 4 <= down <= 6
    assert up == 3
