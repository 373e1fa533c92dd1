"""The synthetic doorway video: deterministic, true ground truth, readable MJPG clips."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera.vision.config import CountingSpec
from hardware.camera import render as renderer
from hardware.camera.catalog import SCENARIOS
from hardware.camera.render import GT_MARGIN, render, scenario, write_clip
from hardware.camera.score import run, score


def test_same_seed_same_frames_other_seed_other_people() -> None:
    first = list(itertools.islice(render("side_by_side", 4)[0], 60, 63))
    again = list(itertools.islice(render("side_by_side", 4)[0], 60, 63))
    other = list(itertools.islice(render("side_by_side", 5)[0], 60, 63))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    assert first[0].shape == (480, 640, 3) and first[0].dtype == np.uint8


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_ends_with_everyone_gone_and_counts_whole_walks(name: str) -> None:
    built = scenario(name, 1)
    truth = renderer.ground_truth(built, 1)
    assert truth.frames == round(built.duration * built.fps)
    for walker in built.walkers:
        assert walker.path[-1][0] <= built.duration, f"person {walker.id} still walking at the end"
        # nobody pops up: in view only from the first frame (already there when the clip
        # begins), never appearing or vanishing mid-clip
        ends = walker.path[-1:] if walker.path[0][0] == 0 else (walker.path[0], walker.path[-1])
        for _, u, v in ends:
            x, y = built.scene.to_image(u, v)
            assert not (-30 < x < 670 and -30 < y < 510), f"person {walker.id} pops up at {x, y}"
    assert all(0 <= c.frame < truth.frames for c in truth.crossings)
    CountingSpec.model_validate(truth.counting.model_dump())


def test_turning_back_on_the_line_is_not_a_true_crossing() -> None:
    built = scenario("turn_back", 0)
    truth = renderer.ground_truth(built, 0)
    turners = {walker.id for walker in built.walkers[:2]}  # the first two turn back
    assert max(abs(v) for w in built.walkers[:2] for _, _, v in w.path if abs(v) < 100) < GT_MARGIN
    assert {c.person for c in truth.crossings}.isdisjoint(turners)
    assert [c.direction for c in truth.crossings] == ["in", "out"]


def test_a_crossing_frame_is_the_first_frame_past_the_line() -> None:
    built = scenario("in_out", 0)
    truth = renderer.ground_truth(built, 0)
    for crossing in truth.crossings:
        walker = built.walkers[crossing.person - 1]
        before = renderer._place(walker, (crossing.frame - 1) / built.fps)
        after = renderer._place(walker, crossing.frame / built.fps)
        assert before is not None and after is not None
        sign = 1 if crossing.direction == "in" else -1
        assert sign * before[1] < 0 <= sign * after[1]


def test_written_clip_reads_back_and_counts_the_same(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    truth = write_clip(path, "in_out", seed=2)
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(truth.fps)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) == truth.frames and frames[0].shape == (480, 640, 3)
    rendered = next(itertools.islice(render("in_out", 2)[0], 100, None))
    assert cv2.PSNR(rendered, frames[100]) > 30  # MJPG is lossy, but close
    result = score(run(frames, truth), truth.crossings)
    print("\n" + result.line("in_out (MJPG)"))
    assert result.matched == result.true_total == result.counted_total


def test_command_line_writes_the_clip_and_its_ground_truth(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "walk.avi"
    assert renderer.main(["--scenario", "tailgating", "--seed", "3", "--out", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    truth = renderer.ground_truth(scenario("tailgating", 3), 3)
    assert data["frames"] == truth.frames == cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT)
    assert len(data["crossings"]) == len(truth.crossings) == 4
    assert CountingSpec.model_validate(data["counting"]) == truth.counting
    assert "in 2, out 2" in capsys.readouterr().out
    assert renderer.main(["--list"]) == 0
    assert "mixed" in capsys.readouterr().out
