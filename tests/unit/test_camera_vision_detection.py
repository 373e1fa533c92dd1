"""The blob detector on drawn foreground masks: one blob per person, split and merged."""

from __future__ import annotations

import cv2
import numpy as np

from edge.camera.vision.config import VisionParams
from edge.camera.vision.detection import BlobDetector

# processing frame 320x240 for a 640x480 counting frame: sizes below are processing pixels
FRAME = np.zeros((240, 320, 3), np.uint8)


def detector(axis: tuple[float, float] = (1.0, 0.0)) -> BlobDetector:
    return BlobDetector(VisionParams(), (640, 480), axis)


def mask_with(*ellipses: tuple[int, int, int, int]) -> np.ndarray:
    """Filled ellipses (cx, cy, half width, half height)."""
    mask = np.zeros((240, 320), np.uint8)
    for cx, cy, ax, ay in ellipses:
        cv2.ellipse(mask, (cx, cy), (ax, ay), 0, 0, 360, 255, -1)
    return mask


def test_one_person_is_one_detection_at_its_centre() -> None:
    (found,) = detector().detect(FRAME, mask_with((100, 120, 14, 20)))
    assert found.count == 1
    assert abs(found.point[0] - 100) < 1 and abs(found.point[1] - 120) < 1
    x, y, w, h = found.bbox
    assert (x, y, w, h) == (86, 100, 29, 41)


def test_two_people_shoulder_to_shoulder_are_split_along_the_line() -> None:
    found = detector().detect(FRAME, mask_with((100, 120, 15, 20), (129, 120, 15, 20)))
    assert len(found) == 2
    xs = sorted(d.point[0] for d in found)
    assert abs(xs[0] - 100) < 3 and abs(xs[1] - 129) < 3


def test_side_by_side_along_a_vertical_line_splits_vertically() -> None:
    mask = mask_with((160, 100, 20, 15), (160, 129, 20, 15))
    assert len(detector((0.0, 1.0)).detect(FRAME, mask)) == 2


def test_a_blob_two_people_wide_without_a_gap_is_cut_in_equal_halves() -> None:
    mask = np.zeros((240, 320), np.uint8)
    mask[100:140, 60:130] = 255  # 70 px = 140 counting px: two people wide, no valley
    found = sorted(detector().detect(FRAME, mask), key=lambda d: d.point[0])
    assert [d.count for d in found] == [1, 1]
    assert [round(d.point[0]) for d in found] == [77, 112]


def test_fragments_of_one_body_are_merged() -> None:
    head_and_body = mask_with((100, 100, 7, 7), (100, 123, 14, 9))  # 6 px apart
    assert cv2.connectedComponents(head_and_body)[0] == 3  # background, head, body
    (found,) = detector().detect(FRAME, head_and_body)
    assert found.count == 1 and 100 < found.point[1] < 123
    assert found.bbox[1] == 93 and found.bbox[3] == 40  # from the top of the head down


def test_noise_and_specks_are_not_people() -> None:
    rng = np.random.default_rng(1)
    noise = ((rng.random((240, 320)) > 0.995) * 255).astype(np.uint8)
    assert detector().detect(FRAME, noise) == []
    assert detector().detect(FRAME, mask_with((50, 50, 4, 4))) == []


def test_a_long_blob_splits_only_at_a_real_gap() -> None:
    walker = mask_with((100, 120, 14, 26))  # long legs: one person
    assert len(detector().detect(FRAME, walker)) == 1
    following = mask_with((100, 90, 14, 20), (100, 133, 14, 20))  # one close behind another
    cv2.rectangle(following, (97, 100), (103, 125), 255, -1)  # joined by an arm
    assert len(detector().detect(FRAME, following)) == 2


def test_boxes_and_sums_give_the_detections_the_pixels_give() -> None:
    # for a horizontal or vertical line one-person blobs are built from their box and
    # OpenCV's component sums; the pixel path must find exactly the same people
    rng = np.random.default_rng(7)
    people = 0
    for axis in ((1.0, 0.0), (0.0, -1.0)):
        for _ in range(40):
            mask = mask_with(*[(int(rng.integers(0, 320)), int(rng.integers(0, 240)),
                                int(rng.integers(3, 40)), int(rng.integers(3, 40)))
                               for _ in range(int(rng.integers(1, 12)))])
            fast, slow = detector(axis), detector(axis)
            slow._aligned = False  # the general path: every blob read pixel by pixel
            found = fast.detect(FRAME, mask)
            assert found == slow.detect(FRAME, mask)
            people += len(found)
    assert people > 100
