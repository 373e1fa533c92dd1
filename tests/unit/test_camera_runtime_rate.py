"""Frame rate cap and skipping: the gate's decisions, the windowed figures, and a worker
reading real video files (a rendered clip; no processes, no network)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.camera.config import CameraSource
from edge.camera.messages import CrossingReport, HealthReport, StreamState, WorkerDone
from edge.camera.rate import FrameCounters, RateGate, RateWindow
from edge.camera.vision.bootstrap import MAX_FRAMES
from edge.camera.vision.detection import BlobDetector, Detection
from edge.camera.vision.pipeline import CountingPipeline
from edge.camera.worker import CameraWorker
from hardware.camera.render import GroundTruth, render

START = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
LINE = {"frame_size": [640, 480], "line": {"a": [0, 240], "b": [640, 240], "in_side": "below"}}


def processed_of(fps_in: float, cap: float, seconds: float) -> int:
    gate = RateGate(cap)
    taken = 0
    for n in range(round(fps_in * seconds)):
        t = n / fps_in
        if gate.due(t):
            gate.take(t)
            taken += 1
    return taken


@pytest.mark.parametrize(("fps_in", "cap"), [(25, 10), (25, 25), (15, 30), (30, 7.5), (25, 1),
                                           (30, 29)])
def test_the_gate_processes_at_most_the_cap(fps_in: float, cap: float) -> None:
    seconds = 10.0
    taken = processed_of(fps_in, cap, seconds)
    if cap >= fps_in:
        assert taken == fps_in * seconds  # never skips when the camera is slower than the cap
    else:
        # a schedule, not "at least 1/cap apart" (which gives 8.3/s for 25 → 10); the one
        # extra frame is the boundary (the frame at t = 0 starts the schedule)
        assert cap * seconds <= taken <= cap * seconds + 1


def test_the_gate_restarts_after_a_gap_instead_of_bursting() -> None:
    gate = RateGate(10)
    for t in (0.0, 0.1, 0.2):
        assert gate.due(t)
        gate.take(t)
    # five seconds without frames (a stall): the next frame is due, the one after it is not
    assert gate.due(5.0)
    gate.take(5.0)
    assert not gate.due(5.04)
    assert gate.due(5.1)
    gate.reset()
    assert gate.due(0.0)  # a new connection starts a new stream time


def test_the_window_reports_rates_and_skipping() -> None:
    window = RateWindow(window_s=5.0)
    totals = FrameCounters()
    window.sample(0.0, totals)
    for second in range(1, 11):
        totals.frames_in += 25
        totals.processed += 8
        totals.skipped += 17
        rates = window.sample(float(second), totals)
    assert (rates.fps_in, rates.fps_processed) == (25.0, 8.0)
    assert rates.skip_ratio == pytest.approx(17 / 25, abs=0.001)
    assert rates.skipping and not rates.lagging
    totals.frames_in += 25
    totals.skipped += 25
    totals.lagged += 3
    assert window.sample(11.0, totals).lagging


def write_short_clip(path: Path, scenario: str, seed: int, frames: int) -> GroundTruth:
    """The first ``frames`` of a rendered scenario as an MJPG file (rendering is the slow
    part of these tests), with the ground truth cut to match."""
    images, truth = render(scenario, seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), truth.fps, truth.size)
    for _, image in zip(range(frames), images, strict=False):
        writer.write(image)
    writer.release()
    return replace(truth, frames=frames,
                   crossings=tuple(c for c in truth.crossings if c.frame < frames))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    path = tmp_path_factory.mktemp("clips") / "side_by_side.avi"
    return path, write_short_clip(path, "side_by_side", seed=1, frames=100)


def camera(url: Path, **values: Any) -> CameraSource:
    return CameraSource.model_validate({"device": "b01-cam", "url": str(url), **values})


def run_worker(config: CameraSource, pipeline: CountingPipeline | None = None) -> list[object]:
    messages: list[object] = []
    CameraWorker(config, messages.append, threading.Event(), pipeline).run()
    return messages


def reports(messages: list[object]) -> tuple[list[CrossingReport], HealthReport]:
    crossings = [m for m in messages if isinstance(m, CrossingReport)]
    health = [m for m in messages if isinstance(m, HealthReport)]
    return crossings, health[-1]


def test_a_file_read_fast_is_decimated_exactly_to_the_cap(clip: tuple[Path, GroundTruth]) -> None:
    path, truth = clip
    config = camera(path, fps=truth.fps / 2, file_pace="fast",
                    counting=truth.counting.model_dump())
    messages = run_worker(config)
    _, health = reports(messages)
    assert health.state is StreamState.FINISHED
    assert isinstance(messages[-2], WorkerDone)
    assert health.frames_in == truth.frames
    assert health.frames_processed == (truth.frames + 1) // 2  # every other frame
    assert health.frames_skipped == truth.frames - health.frames_processed
    assert health.frames_lagged == 0  # fast files wait for the pipeline, never drop
    crossings, _ = reports(messages)
    assert crossings and all(c.snapshot is None for c in crossings)  # snapshots are off


class HeldDetector:
    """The default detector, busy with its first frame until the reader has read them all:
    a machine that can't keep up, whatever the speed of the one running the test."""

    def __init__(self, inner: BlobDetector, frames_read: Callable[[], int], until: int) -> None:
        self.inner = inner
        self.frames_read = frames_read
        self.until = until
        self.held = False

    def detect(self, frame: np.ndarray, fg_mask: np.ndarray) -> list[Detection]:
        if not self.held:
            self.held = True
            deadline = time.monotonic() + 60  # liveness only
            while self.frames_read() < self.until and time.monotonic() < deadline:
                time.sleep(0.005)
        return self.inner.detect(frame, fg_mask)


def moving_box_clip(path: Path, fps: float, frames: int) -> None:
    """A short clip in which something moves in every frame (so the detector always runs)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    background = np.full((480, 640, 3), 90, np.uint8)
    for n in range(frames):
        frame = background.copy()
        x = 40 + (n * 7) % 520
        cv2.rectangle(frame, (x, 180), (x + 60, 300), (220, 210, 200), -1)
        writer.write(frame)
    writer.release()


def test_a_source_faster_than_processing_drops_frames_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "busy.avi"
    total = MAX_FRAMES + 75
    moving_box_clip(path, fps=50, frames=total)  # ~2.8 s read in real time
    config = camera(path, fps=50, counting=LINE)
    pipeline = CountingPipeline(config.counting, config.vision)
    messages: list[object] = []
    worker = CameraWorker(config, messages.append, threading.Event(), pipeline)
    pipeline.detector = HeldDetector(BlobDetector(config.vision, (640, 480)),
                                     lambda: worker.counters.frames_in, until=total)
    worker.run()
    _, health = reports(messages)
    assert health.frames_in == total
    # The detector first runs once the first background is learned (at most MAX_FRAMES held
    # back, see bootstrap.py). Past the frame it holds and the one waiting in the slot, every
    # frame fell due while the pipeline was busy: dropped, not queued. The cap is the
    # source's rate, so the gate itself skipped none.
    assert health.frames_processed <= MAX_FRAMES + 3
    assert health.frames_lagged == total - health.frames_processed
    assert health.frames_skipped == health.frames_lagged
    assert any(m.lagging for m in messages if isinstance(m, HealthReport))


def test_a_looping_file_plays_again_with_time_going_on(clip: tuple[Path, GroundTruth]) -> None:
    path, truth = clip
    config = camera(path, fps=truth.fps, file_pace="fast", loop=True,
                    start_time=START.isoformat(), counting=truth.counting.model_dump())
    messages: list[object] = []
    stop = threading.Event()
    worker = CameraWorker(config, messages.append, stop)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while worker.counters.frames_in < 2 * truth.frames + 20 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(10)
    crossings, health = reports(messages)
    assert health.frames_in >= 2 * truth.frames and health.state is StreamState.STOPPED
    assert (health.reconnects, health.drops) == (0, 0)  # a replay is not a reconnect
    assert not any(isinstance(m, WorkerDone) for m in messages)
    first_play_ends = START + dt.timedelta(seconds=truth.frames / truth.fps)
    per_loop = len([c for c in crossings if c.occurred_at < first_play_ends])
    assert per_loop >= 1 and len(crossings) >= 2 * per_loop  # the second play counted again
    times = [c.occurred_at for c in crossings]
    assert times == sorted(times)  # stream time goes on across plays instead of restarting
    assert len({c.event_id for c in crossings}) == len(crossings)
