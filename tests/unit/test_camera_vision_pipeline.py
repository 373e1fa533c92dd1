"""CountingPipeline as the camera runtime uses it: sizes, frame rates, tracks, overlay, reset."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from edge.camera.vision.config import CountingSpec, VisionParams
from edge.camera.vision.detection import BlobDetector, Detection
from edge.camera.vision.pipeline import CountingPipeline
from hardware.camera.render import render
from hardware.camera.score import run, score


def test_larger_frames_are_scaled_and_boxes_come_back_in_their_pixels() -> None:
    frames, truth = render("in_out", 1)
    big = (cv2.resize(frame, (1280, 960)) for frame in frames)
    pipeline = CountingPipeline(truth.counting)
    crossings = [c for i, frame in enumerate(big) for c in pipeline.process(frame, i / truth.fps)]
    result = score(crossings, truth.crossings)
    assert result.matched == result.true_total == result.counted_total
    # people cross the door between x = 80 and 560 of 640: in 1280 pixels, twice that
    assert all(160 <= c.bbox[0] + c.bbox[2] / 2 <= 1120 and c.bbox[2] > 60 for c in crossings)


def test_half_the_frame_rate_still_counts_right() -> None:
    frames, truth = render("tailgating", 1)
    result = score(run(frames, truth, every=2), truth.crossings)
    assert result.matched == result.true_total == result.counted_total


def test_a_zone_counts_like_the_line_along_its_edge() -> None:
    frames, truth = render("in_out", 0)
    zone = CountingSpec.model_validate({"zone": {
        "polygon": [[80, 240], [560, 240], [560, 480], [80, 480]], "in_side": "inside"}})
    pipeline = CountingPipeline(zone)
    crossings = [c for i, frame in enumerate(frames) for c in pipeline.process(frame, i / truth.fps)]
    result = score(crossings, truth.crossings)
    assert result.matched == result.true_total == result.counted_total


def test_tracks_overlay_and_reset_mid_stream() -> None:
    frames, truth = render("side_by_side", 0)
    pipeline = CountingPipeline(truth.counting)
    seen: dict[int, tuple[int, int, int, int]] = {}
    for i, frame in enumerate(itertools.islice(frames, 60)):
        pipeline.process(frame, i / truth.fps)
        seen.update({track.id: track.bbox for track in pipeline.tracks if track.confirmed})
    # the first pair, side by side: two tracks, or (until the person size is learned, only
    # clear gaps split a blob) one track standing for two people
    assert sum(track.count for track in pipeline.tracks) >= 2 and seen
    drawn = pipeline.draw_overlay(frame)
    assert drawn.shape == frame.shape and not np.array_equal(drawn, frame)
    x, y, _, h = pipeline.tracks[0].bbox
    assert not np.array_equal(drawn[y:y + h, x], frame[y:y + h, x])  # its box is drawn
    grey = pipeline.draw_overlay(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert grey.shape == frame.shape
    half = cv2.resize(frame, (320, 240))  # a preview of another size: boxes scale with it
    drawn_half = pipeline.draw_overlay(half)
    assert not np.array_equal(drawn_half[y // 2:(y + h) // 2, x // 2], half[y // 2:(y + h) // 2, x // 2])
    pipeline.reset()
    assert pipeline.tracks == []
    assert pipeline.process(frame, 60 / truth.fps) == []  # learns a new background


def test_the_band_drawn_grows_with_the_size_people_are_seen_at() -> None:
    spec = CountingSpec.model_validate(  # hysteresis_px 16 by default
        {"line": {"a": [0, 240], "b": [640, 240], "in_side": "below"}})
    blank = np.zeros((480, 640, 3), np.uint8)
    small = CountingPipeline(spec, VisionParams(person_length_px=60)).draw_overlay(blank)
    big = CountingPipeline(spec, VisionParams(person_length_px=200)).draw_overlay(blank)
    column = 100  # away from the "in" arrow
    assert small[240 - 16, column].any() and small[240 + 16, column].any()
    assert not small[240 - 40, column].any()
    assert big[240 - 40, column].any() and big[240 + 40, column].any()  # a fifth of 200 px
    assert not big[240 - 16, column].any()


def test_frames_it_cannot_use_are_refused_clearly() -> None:
    pipeline = CountingPipeline(CountingSpec.model_validate(
        {"line": {"a": [0, 240], "b": [640, 240], "in_side": "below"}}))
    with pytest.raises(ValueError, match="uint8"):
        pipeline.process(np.zeros((480, 640, 3), np.float32), 0.0)
    with pytest.raises(ValueError, match="channels"):
        pipeline.process(np.zeros((480, 640, 4), np.uint8), 0.0)
    assert pipeline.process(np.zeros((480, 640), np.uint8), 0.0) == []  # grey is fine
    assert pipeline.process(np.zeros((480, 640, 3), np.uint8), -5.0) == []  # time clamped


class CountingCalls:
    """A Detector of our own: the blob detector, counting how often it is asked."""

    def __init__(self) -> None:
        self.inner = BlobDetector(VisionParams(), (640, 480))
        self.calls = 0

    def detect(self, frame: np.ndarray, fg_mask: np.ndarray) -> list[Detection]:
        self.calls += 1
        return self.inner.detect(frame, fg_mask)


def test_a_detector_can_be_plugged_in_and_runs_only_on_motion() -> None:
    frames, truth = render("in_out", 0)
    detector = CountingCalls()
    pipeline = CountingPipeline(truth.counting, detector=detector)
    crossings = [c for i, frame in enumerate(frames) for c in pipeline.process(frame, i / truth.fps)]
    assert len(crossings) == 4
    assert 0 < detector.calls < truth.frames  # not before the first person walks in
