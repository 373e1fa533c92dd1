"""The real-footage truth files (bench.footage) load, and name pinned clips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import footage


def test_every_truth_file_loads_and_names_a_pinned_clip() -> None:
    truths = footage.truths()
    assert truths, "no truth files in tests/data/footage"
    for truth in truths:
        clip = footage.clip_named(truth.clip)
        assert len(clip.commit) == 40 and len(clip.sha256) == 64
        assert clip.licence
        assert truth.crossings and truth.labeller
    names = [t.name for t in truths]
    assert len(set(names)) == len(names), "two truth files share a name"


def test_a_line_variant_is_named_apart_from_its_clip(tmp_path: Path) -> None:
    raw = json.loads((footage.TRUTH / "concourse_overhead.json").read_text(encoding="utf-8"))
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert footage.load_truth(path).name == "concourse_overhead"
    raw["name"] = "concourse_overhead_other"
    path.write_text(json.dumps(raw), encoding="utf-8")
    truth = footage.load_truth(path)
    assert (truth.name, truth.clip) == ("concourse_overhead_other", "concourse_overhead")
    assert footage.resized(truth, (640, 480)).name == "concourse_overhead_other"


def test_pinned_clips_avoid_the_held_out_repositories() -> None:
    held_out = {"intel-iot-devkit/sample-videos", "koba/overhead-camera-people-counter"}
    assert not {c.repo for c in footage.CLIPS} & held_out


def test_bad_truth_is_refused(tmp_path: Path) -> None:
    raw = json.loads((footage.TRUTH / "concourse_overhead.json").read_text(encoding="utf-8"))
    raw["crossings"] = [{"frame": 9, "direction": "in"}, {"frame": 3, "direction": "in"}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="frame order"):
        footage.load_truth(path)
    raw["crossings"] = [{"frame": 3, "direction": "up"}]
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="direction"):
        footage.load_truth(path)
