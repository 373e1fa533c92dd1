"""Crossing snapshots: people pixelated before anything is written, old files deleted."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np

from edge.camera.config import CameraSource
from edge.camera.messages import CrossingReport
from edge.camera.snapshots import blur_people, prune_snapshots, region, write_snapshot
from edge.camera.worker import CameraWorker
from tests.unit.test_camera_runtime_rate import write_short_clip


def detailed_image() -> np.ndarray:
    """A checkerboard of 2-px squares: fine detail that any pixelation destroys."""
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)


def detail(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Mean absolute difference between horizontal neighbours inside ``box``."""
    x, y, w, h = box
    patch = image[y:y + h, x:x + w].astype(np.int16)
    return float(np.abs(np.diff(patch, axis=1)).mean())


def test_the_whole_person_is_pixelated_and_nothing_else() -> None:
    image = detailed_image()
    person = (100, 60, 40, 120)
    blurred = blur_people(image, [person], "person")
    assert detail(blurred, person) < detail(image, person) / 4
    far = (250, 10, 60, 60)
    assert np.array_equal(blurred[10:70, 250:310], image[10:70, 250:310])
    assert detail(blurred, far) == detail(image, far)
    assert not np.shares_memory(blurred, image)


def test_head_mode_pixelates_only_the_top_of_the_box() -> None:
    image = detailed_image()
    person = (100, 60, 40, 120)
    blurred = blur_people(image, [person], "head")
    head = region(person, "head", (320, 240))
    assert head is not None
    x, y, w, h = head
    assert x < 100 and x + w > 140  # wider than the box: heads stick out of motion blobs
    assert y < 60 and y + h < 60 + 60  # above the box's top, ending well before its middle
    assert detail(blurred, head) < detail(image, head) / 4
    legs = (100, 140, 40, 40)
    assert detail(blurred, legs) == detail(image, legs)


def test_boxes_partly_outside_the_frame_are_clipped() -> None:
    image = detailed_image()
    assert region((300, 200, 80, 80), "person", (320, 240)) is not None
    assert region((400, 300, 50, 50), "person", (320, 240)) is None
    blurred = blur_people(image, [(300, 200, 80, 80), (-30, -30, 50, 50)], "person")
    assert blurred.shape == image.shape
    assert detail(blurred, (300, 200, 20, 40)) < detail(image, (300, 200, 20, 40))


def test_old_snapshots_are_deleted_and_nothing_else(tmp_path: Path) -> None:
    image = detailed_image()
    fresh, old = f"{uuid.uuid4()}.jpg", f"{uuid.uuid4()}.jpg"
    for name in (fresh, old):
        write_snapshot(image, tmp_path, name)
    stranger = tmp_path / "notes.jpg"
    stranger.write_bytes(b"not ours")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(tmp_path / old, (ten_days_ago, ten_days_ago))
    os.utime(stranger, (ten_days_ago, ten_days_ago))
    assert prune_snapshots(tmp_path, keep_days=7) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh, "notes.jpg"])
    written = cv2.imread(str(tmp_path / fresh))
    assert written is not None and written.shape == image.shape
    assert prune_snapshots(tmp_path / "missing", keep_days=7) == 0


def test_each_crossing_gets_a_pixelated_snapshot_named_by_its_event(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    truth = write_short_clip(clip, "side_by_side", seed=2, frames=100)
    assert truth.crossings
    folder = tmp_path / "snapshots"
    config = CameraSource.model_validate({
        "device": "b01-cam", "url": str(clip), "fps": truth.fps / 2, "file_pace": "fast",
        "counting": truth.counting.model_dump(),
        "snapshots": {"enabled": True, "dir": str(folder)}})
    messages: list[object] = []
    CameraWorker(config, messages.append, threading.Event()).run()
    crossings = [m for m in messages if isinstance(m, CrossingReport)]
    assert crossings
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{c.event_id}.jpg" for c in crossings)
    for crossing in crossings:
        assert crossing.snapshot == f"{crossing.event_id}.jpg"
        picture = cv2.imread(str(folder / crossing.snapshot))
        assert picture is not None and picture.shape[:2] == (480, 640)
        x, y, w, h = crossing.bbox
        # pixelated blocks: nearly flat inside the person (the rendered floor and figures
        # have sensor noise and texture well above this)
        assert detail(picture, (x + 2, y + 2, max(4, w - 4), max(4, h // 3))) < 12
