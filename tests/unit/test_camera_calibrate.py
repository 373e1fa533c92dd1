"""``linli camera calibrate``: sizes measured on rendered clips against the renderer's own
figures, line sanity, lighting steps, and the command on a real clip."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import cli
from edge.camera.calibrate import (
    Observations,
    Sample,
    _brightness_steps,
    _main_direction,
    analyse,
    background,
    collect,
)
from edge.camera.calibrate_report import draw, text_report, yaml_snippet
from edge.camera.config import CameraSource
from edge.camera.vision.config import CountingSpec, VisionParams
from hardware.camera.figures import draw_person
from hardware.camera.render import render, scenario

TOLERANCE = 0.2
"""Proposed sizes within 20 % of the figures the renderer draws."""


def true_size(name: str, seed: int) -> tuple[float, float]:
    """Median (along the line, across it) extent of the scenario's people, measured on the
    renderer's own drawing of each one walking straight across, over a whole stride."""
    built = scenario(name, seed)
    scene = built.scene
    heading = math.atan2(scene.in_normal[1], scene.in_normal[0])
    horizontal = abs(scene.b[0] - scene.a[0]) >= abs(scene.b[1] - scene.a[1])
    along, across = [], []
    for walker in built.walkers:
        xs_extent, ys_extent = [], []
        for k in range(16):
            image = np.zeros((300, 300, 3), np.uint8)
            draw_person(image, 150, 150, heading, 2 * math.pi * k / 16, walker.look)
            ys, xs = np.nonzero(image.max(axis=2))
            xs_extent.append(float(np.ptp(xs) + 1))
            ys_extent.append(float(np.ptp(ys) + 1))
        x_size, y_size = float(np.median(xs_extent)), float(np.median(ys_extent))
        along.append(x_size if horizontal else y_size)
        across.append(y_size if horizontal else x_size)
    return float(np.median(along)), float(np.median(across))


def observe(name: str, seed: int) -> tuple[Observations, float]:
    frames, truth = render(name, seed)
    observed = collect(((frame, i / truth.fps) for i, frame in enumerate(frames)),
                       truth.counting, VisionParams(), None)
    return observed, truth.fps


@pytest.mark.parametrize(("name", "seed"), [("mixed", 3), ("mixed", 5)])
def test_proposed_person_size_is_the_rendered_one(name: str, seed: int) -> None:
    width, length = true_size(name, seed)
    observed, fps = observe(name, seed)
    proposal = analyse(observed, VisionParams(), fps, fps)
    assert proposal.width is not None and proposal.length is not None
    assert abs(proposal.width.at_line / width - 1) <= TOLERANCE, (proposal.width, width)
    assert abs(proposal.length.at_line / length - 1) <= TOLERANCE, (proposal.length, length)
    assert not proposal.width.perspective  # the renderer draws everyone the same size
    # the line cuts straight across the doorway people walk through
    assert proposal.motion_deg is not None and proposal.motion_deg < 15
    assert proposal.crossed_tracks >= 8 and proposal.crossings_in and proposal.crossings_out
    for doubt in ("few_tracks", "spread", "rarely_crossed", "angle", "edge", "fast"):
        assert doubt not in proposal.unsure
    # mixed has one lighting step (x1.3 at 27 s): seen, and said
    assert any(abs(t - 27.0) < 0.5 and change > 0.2 for t, change in proposal.steps)
    assert "lighting" in proposal.unsure
    snippet = yaml_snippet(proposal)
    assert f"person_width_px: {round(proposal.width.at_line)}" in snippet


def test_a_vertical_line_measures_width_along_it() -> None:
    width, length = true_size("sideways", 1)
    observed, fps = observe("sideways", 1)
    proposal = analyse(observed, VisionParams(), fps, fps)
    assert proposal.width is not None and proposal.length is not None
    assert abs(proposal.width.at_line / width - 1) <= TOLERANCE
    assert abs(proposal.length.at_line / length - 1) <= TOLERANCE
    assert "few_tracks" in proposal.unsure  # four people, one pair: too few to be sure


def test_a_line_along_the_flow_is_flagged_and_drawn() -> None:
    frames, truth = render("in_out", 1)
    along = CountingSpec.model_validate({"line": {"a": [320, 40], "b": [320, 440],
                                                  "in_side": "left"}})
    observed = collect(((f, i / truth.fps) for i, f in enumerate(frames)), along,
                       VisionParams(), None)
    proposal = analyse(observed, VisionParams(), 8, truth.fps)
    assert proposal.motion_deg is not None and proposal.motion_deg > 60
    assert {"angle", "rarely_crossed", "few_tracks"} <= set(proposal.unsure)
    picture = background(observed)
    assert picture is not None
    drawn = draw(proposal, picture)
    assert drawn.shape == picture.shape and not np.array_equal(drawn, picture)
    report = text_report(proposal, "cam", "en")
    assert "cut across the flow" in report and "too few single-person tracks" in report
    assert "计数线很少被越过" in text_report(proposal, "cam", "zh-CN")


def test_sizes_from_samples_with_perspective_report_both_ends() -> None:
    spec = CountingSpec.model_validate({"line": {"a": [0, 300], "b": [640, 300],
                                                 "in_side": "below"}})
    observed = Observations(spec)
    rng = np.random.default_rng(1)
    for track in range(12):
        for k in range(30):
            y = 60 + 12 * k
            scale = 0.5 + y / 480  # people twice as big at the bottom as at the top
            observed.samples.append(Sample(track + 1, k / 8, 320, y,
                                           50 * scale * rng.uniform(0.95, 1.05),
                                           70 * scale * rng.uniform(0.95, 1.05), False))
    proposal = analyse(observed, VisionParams(), 8, 8)
    assert proposal.width is not None and proposal.length is not None
    assert proposal.width.perspective and proposal.length.perspective
    assert proposal.width.at_line == pytest.approx(50 * (0.5 + 300 / 480), rel=0.05)
    assert proposal.width.at_near / proposal.width.at_far == pytest.approx(
        (0.5 + proposal.width.y_near / 480) / (0.5 + proposal.width.y_far / 480), rel=0.05)
    assert proposal.width.y_far < proposal.width.y_near
    assert "perspective" in proposal.unsure and "spread" not in proposal.unsure


def test_brightness_steps_and_main_direction() -> None:
    ramp = [(i / 10, 100.0 + (30.0 if i >= 50 else 0.0) + (i % 3)) for i in range(100)]
    steps = _brightness_steps(ramp)
    assert len(steps) == 1 and steps[0][0] == pytest.approx(5.0) and steps[0][1] > 0.25
    assert _brightness_steps([(i / 10, 100.0 + (i % 5)) for i in range(100)]) == []
    direction, agreement = _main_direction([[(0, 0), (0, 100)], [(10, 100), (12, 0)]])
    assert direction is not None and abs(direction[1]) > 0.99 and agreement > 0.99


def test_calibrate_command_on_a_real_clip(shared_samples: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    clip = shared_samples / "video" / "peopleCounter.avi"
    if not clip.exists():
        pytest.skip(f"{clip} not found")
    camera = CameraSource.model_validate({
        "device": "lobby-cam", "url": "rtsp://10.0.0.9/stream", "fps": 8,
        "counting": {"line": {"a": [0, 240], "b": [640, 240], "in_side": "below"}}})
    out = tmp_path / "lobby.png"
    assert cli.calibrate(camera, clip, None, out, "en") == 0
    report = capsys.readouterr().out
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape == (480, 640, 3)
    assert "person_width_px:" in report and str(out) in report
    # 6 people walk down over the line and 3 up: the line is crossed, people walk across it
    assert "rarely crossed" not in report and "cut across the flow" not in report
    assert "8.0 fps were processed" in report  # the camera's cap of 8 on a 24 fps clip
