"""Person size learned from the scene: robust to pairs, with perspective, and used."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from edge.camera.vision.config import CountingSpec, VisionParams
from edge.camera.vision.geometry import CountingGeometry
from edge.camera.vision.pipeline import CountingPipeline
from edge.camera.vision.size import PersonSize
from hardware.camera import render as renderer
from hardware.camera.figures import Look
from hardware.camera.scenarios import VERTICAL, Cast, Scenario
from hardware.camera.score import score


def horizontal() -> CountingGeometry:
    return CountingGeometry(CountingSpec.model_validate(
        {"line": {"a": [0, 240], "b": [640, 240], "in_side": "below"}}))


def test_size_is_learned_with_perspective_despite_pairs() -> None:
    sizes = PersonSize(VisionParams(), horizontal())
    assert sizes.at((320, 240)) == (60.0, 90.0) and not sizes.learned  # the configured ones
    rng = np.random.default_rng(3)
    for i in range(600):
        f = float(rng.uniform(-150, 150))
        width, length = 100 + 0.2 * f, 50 + 0.1 * f  # people grow towards the camera (in)
        if i % 5 == 0:
            width *= 2  # a pair side by side, seen as one blob
        sizes.observe((320, 240 + f), width * rng.normal(1, 0.05), length * rng.normal(1, 0.05),
                      track_id=i // 20)
    assert sizes.learned
    for f in (-100.0, 0.0, 100.0):
        width, length = sizes.at((100, 240 + f))
        assert width == pytest.approx(100 + 0.2 * f, rel=0.12)
        assert length == pytest.approx(50 + 0.1 * f, rel=0.12)
    assert sizes.at_line() == sizes.at((500, 240))


def test_too_few_people_teach_nothing() -> None:
    sizes = PersonSize(VisionParams(), horizontal())
    for i in range(500):
        sizes.observe((320, 250), 120, 80, track_id=1 + i % 2)  # two people, loitering
    assert not sizes.learned and sizes.at_line() == (60.0, 90.0)


def people(rng: random.Random, cast: Cast, factor: float) -> Scenario:
    def look() -> Look:
        one = cast.look()
        return replace(one, shoulders=one.shoulders * factor, depth=one.depth * factor,
                       head=one.head * factor, step_px=one.step_px * factor)

    t = 0.0
    for i in range(12):
        direction = "in" if i % 2 == 0 else "out"
        if i == 9:  # and a pair side by side
            left, right = look(), look()
            cast.add(cast.cross(t, 120, direction, 110), left)
            cast.add(cast.cross(t, 124 + (left.shoulders + right.shoulders) / 2, direction, 110),
                     right)
        else:
            cast.add(cast.cross(t, rng.uniform(120, 300), direction, rng.uniform(80, 140)),
                     look())
        t += 2.6
    return Scenario("big", "", cast.scene, tuple(cast.walkers), cast.end())


@pytest.mark.parametrize("vertical", [False, True])
def test_people_twice_the_configured_size_are_learned_and_counted_once(vertical: bool) -> None:
    rng = random.Random(5)
    built = people(rng, Cast(rng, VERTICAL) if vertical else Cast(rng), 2.2)
    truth = renderer.ground_truth(built, 0)
    pipeline = CountingPipeline(truth.counting)
    crossings = [c for i, frame in enumerate(renderer._frames(built, 0))
                 for c in pipeline.process(frame, i / truth.fps)]
    result = score(crossings, truth.crossings)
    assert result.recall == 1.0, [(c.t, c.direction, c.count) for c in crossings]
    # the first people may be counted twice (cut in two by the configured size); once six
    # have been seen the size is learned, and everyone after is counted once
    later = score([c for c in crossings if c.t > 16], [c for c in truth.crossings if c.t > 16])
    assert later.true_total >= 5 and later.precision == 1.0 and later.recall == 1.0
    health = pipeline.health
    assert health.person_size_learned
    # width along the line, length across it, whichever way the line runs
    assert 100 < health.person_width_px < 180 and 60 < health.person_length_px < 140
    assert health.person_width_px > health.person_length_px


def _reference_fit(samples: list[tuple[float, float, float, int]], band: float) -> np.ndarray:
    """The fit as the module describes it, written plainly: per slice of the band the median
    over tracks of each track's median, a weighted line through the slices."""
    data = np.array(samples, dtype=np.float64)

    def per_person(part: np.ndarray) -> np.ndarray:
        each = [np.median(part[part[:, 3] == t, :3], axis=0) for t in np.unique(part[:, 3])]
        median: np.ndarray = np.median(np.array(each), axis=0)
        return median

    edges = np.linspace(-band, band, 7)
    which = np.clip(np.digitize(data[:, 0], edges) - 1, 0, 5)
    table = np.array([(*per_person(data[which == i]), np.count_nonzero(which == i))
                      for i in range(6) if np.count_nonzero(which == i) >= 10])
    overall = per_person(data)
    fit = np.zeros((2, 2))
    for column in (1, 2):
        if len(table) < 2 or np.ptp(table[:, 0]) == 0:
            fit[column - 1] = (0.0, overall[column])  # one slice: no perspective to fit
            continue
        weights = np.sqrt(table[:, 3])
        slope = float(np.polyfit(table[:, 0], table[:, column], 1, w=weights)[0])
        limit = overall[column] / band / 2
        slope = float(np.clip(slope, -limit, limit))
        fit[column - 1] = (slope, float(np.average(table[:, column] - slope * table[:, 0],
                                                   weights=weights)))
    return fit


def test_the_fast_refit_is_the_plain_median_of_medians() -> None:
    sizes = PersonSize(VisionParams(), horizontal())
    rng = np.random.default_rng(11)
    seen: list[tuple[float, float, float, int]] = []
    refits = 0
    for _ in range(4000):  # past the 3000 kept: the oldest drop out
        point = (float(rng.uniform(0, 640)), float(rng.uniform(60, 420)))
        along, across = float(round(rng.normal(50, 12))), float(rng.normal(80, 15))
        track = int(rng.integers(1, 80))
        sizes.observe(point, along, across, track)
        f = point[1] - 240.0
        if abs(f) <= sizes.band:
            seen.append((f, along, across, track))
        if sizes._new == 0 and sizes._fit is not None:  # it has just refitted
            assert np.array_equal(sizes._fit, _reference_fit(seen[-3000:], sizes.band))
            refits += 1
    assert refits > 100
