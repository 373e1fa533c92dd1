"""Background subtraction under exposure and lighting changes, on synthetic frames.

A textured floor with a dark "person" standing on it; the camera's auto-exposure then
brightens the picture about its black level (as when someone in dark clothes walks in).
The person must stay foreground, nobody may be learned into the background, and the change
must be counted.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.camera.vision.background import Background
from edge.camera.vision.config import VisionParams

SIZE = (320, 240)
PERSON = (140, 90, 30, 50)  # x, y, w, h


def floor(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 12, (SIZE[1], SIZE[0], 3)) + np.array([150, 160, 155])
    image: np.ndarray = cv2.GaussianBlur(np.clip(base, 0, 255).astype(np.uint8), (5, 5), 0)
    cv2.rectangle(image, (0, 0), (40, SIZE[1]), (60, 62, 65), -1)  # a dark wall
    return image


def frame(person: bool, gain: float = 1.0, black: float = 50.0, seed: int = 0) -> np.ndarray:
    image = floor()
    if person:
        x, y, w, h = PERSON
        cv2.rectangle(image, (x, y), (x + w, y + h), (30, 28, 26), -1)
    image = cv2.convertScaleAbs(image, alpha=gain, beta=(1 - gain) * black)
    noise = np.random.default_rng(seed).normal(0, 2, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def share(mask: np.ndarray, box: tuple[int, int, int, int] | None = None) -> float:
    if box is not None:
        x, y, w, h = box
        mask = mask[y:y + h, x:x + w]
    return cv2.countNonZero(mask) / mask.size


def test_auto_exposure_with_a_person_present_is_normalised_away() -> None:
    background = Background(VisionParams(), 7)
    for i in range(60):
        background.apply(frame(False, seed=i))
    for i in range(10):
        mask = background.apply(frame(True, seed=100 + i), [PERSON])
    assert mask is not None and share(mask, PERSON) > 0.9
    for gain in (1.13, 1.33, 1.2):  # steps of the exposure while the person stands there
        for i in range(8):
            mask = background.apply(frame(True, gain, seed=200 + i), [PERSON])
            assert mask is not None, "a frame was dropped"
            assert share(mask, PERSON) > 0.9, f"the person faded at gain {gain}"
            assert share(mask) < 0.05, f"the floor came out as foreground at gain {gain}"
    assert background.rebuilds == 0
    assert background.lighting_changes == 3
    for i in range(5):  # the person leaves: no ghost where they stood
        mask = background.apply(frame(False, 1.2, seed=300 + i))
        assert mask is not None and share(mask, PERSON) < 0.05


def test_a_change_no_gain_explains_rebuilds_without_learning_the_person() -> None:
    background = Background(VisionParams(), 7)
    for i in range(60):
        background.apply(frame(False, seed=i))
    for i in range(10):
        background.apply(frame(True, seed=100 + i), [PERSON])

    def half_lit(person: bool, seed: int) -> np.ndarray:
        image = frame(person, seed=seed)
        # a warm lamp goes on over the right of the room
        right = image[:, 200:].astype(np.float32) * np.array([0.6, 1.0, 1.6])
        image[:, 200:] = np.clip(right, 0, 255).astype(np.uint8)
        return image

    assert background.apply(half_lit(True, 400), [PERSON]) is None
    assert background.rebuilds == 1
    mask = background.apply(half_lit(True, 401), [PERSON])
    assert mask is not None and share(mask, PERSON) > 0.8, "the person was learned"
    for i in range(5):
        mask = background.apply(half_lit(False, 402 + i))
        assert mask is not None and share(mask, PERSON) < 0.05  # and no ghost
        assert share(mask) < 0.05


def test_rendered_auto_exposure_counts_right_without_rebuilding() -> None:
    from edge.camera.vision.pipeline import CountingPipeline
    from hardware.camera.render import render
    from hardware.camera.score import score

    frames, truth = render("auto_exposure", 0)
    pipeline = CountingPipeline(truth.counting)
    crossings = [c for i, image in enumerate(frames)
                 for c in pipeline.process(image, i / truth.fps)]
    result = score(crossings, truth.crossings)
    assert result.matched == result.true_total == result.counted_total
    health = pipeline.health
    assert health.background_rebuilds == 0
    assert health.lighting_changes == 4  # up 13 %, back, up 33 % (a ramp), back


def crowd(places: list[tuple[int, int]], gain: float = 1.0, seed: int = 0) -> np.ndarray:
    """A bright tiled floor (an overhead concourse) with dark people at ``places``."""
    image = np.full((SIZE[1], SIZE[0], 3), 205, np.uint8)
    image[::16, :] = image[:, ::16] = 150  # tile joints: texture that must stay background
    for x, y in places:
        cv2.rectangle(image, (x, y), (x + 14, y + 22), (40, 40, 40), -1)
    image = cv2.convertScaleAbs(image, alpha=gain, beta=(1 - gain) * 50.0)
    noise = np.random.default_rng(seed).normal(0, 2, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_people_walking_about_are_not_taken_for_a_contrast_change() -> None:
    rng = np.random.default_rng(3)

    def somewhere(people: int) -> list[tuple[int, int]]:
        return [(int(x), int(y)) for x, y in zip(rng.integers(0, 300, people),
                                                  rng.integers(0, 215, people), strict=True)]

    for gain in (1.0, 1.25):
        photometric = Background(VisionParams(), 5).photometric
        # the reference is taken with a crowd on ~15 % of the picture; then the crowd thins
        # out and the rest walk elsewhere: what changed is where people are, not the camera
        # (or the camera's gain only); no pixel is known to be background yet
        photometric.normalise(crowd(somewhere(45)), None)
        photometric.normalise(crowd(somewhere(10), gain, seed=1), None)
        assert abs(float(np.mean(photometric.gain)) - gain) < 0.03
        assert abs(float(np.mean(photometric.offset)) - (1 - gain) * 50.0) < 5.0
