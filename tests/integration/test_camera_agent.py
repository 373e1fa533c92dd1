"""Cameras in a real edge agent: rendered clips → worker processes → spool → broker →
ingest → rows, with counts equal to the counting pipeline's and to the clip's ground truth."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import pytest

from edge.camera.messages import StreamState
from edge.camera.source import CameraEdgeSource
from edge.camera.vision.pipeline import CountingPipeline
from edge.config import AgentConfig
from hardware.camera.render import GroundTruth, render
from tests.pipeline import Pipeline, wait_for

START = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


_CLIPS: dict[Path, GroundTruth] = {}


def rendered_clip(tmp_path_factory: pytest.TempPathFactory, scenario: str, seed: int,
                  frames: int) -> tuple[Path, GroundTruth]:
    """The first ``frames`` of a rendered scenario as an MJPG clip, with its ground truth
    cut to match; made once per test session (rendering is the slow part)."""
    path = tmp_path_factory.getbasetemp() / "camera-clips" / f"{scenario}-{seed}-{frames}.avi"
    if path not in _CLIPS:
        path.parent.mkdir(exist_ok=True)
        images, truth = render(scenario, seed)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), truth.fps,
                                 truth.size)
        for _, image in zip(range(frames), images, strict=False):
            writer.write(image)
        writer.release()
        _CLIPS[path] = replace(truth, frames=min(frames, truth.frames), crossings=tuple(
            c for c in truth.crossings if c.frame < frames))
    return path, _CLIPS[path]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    # tailgating: two people close behind each other, in then out; the last crossing is at
    # frame 184, the rest of the clip is an empty doorway
    return rendered_clip(tmp_path_factory, "tailgating", seed=1, frames=205)


@pytest.fixture(scope="module")
def pipeline_counts(clip: tuple[Path, GroundTruth]) -> dict[str, int]:
    """What the counting pipeline alone sees in the clip's decoded frames, every frame."""
    path, truth = clip
    counter = CountingPipeline(truth.counting)
    capture = cv2.VideoCapture(str(path))
    counts = {"in": 0, "out": 0}
    n = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        for crossing in counter.process(frame, n / truth.fps):
            counts[crossing.direction] += crossing.count
        n += 1
    capture.release()
    return counts


def clip_camera(device: str, clip: tuple[Path, GroundTruth], **values: Any) -> dict[str, Any]:
    path, truth = clip
    return {"type": "camera", "device": device, "url": str(path), "fps": truth.fps,
            "file_pace": "fast", "counting": truth.counting.model_dump(), **values}


def agent_config(*sources: dict[str, Any]) -> AgentConfig:
    return AgentConfig.model_validate({"community": "juxin", "building": "b01",
                                       "sources": list(sources)})


def totals(rows: list[dict[str, Any]], device: str) -> dict[str, int]:
    counts = {"in": 0, "out": 0}
    for row in rows:
        if row["device"] == device:
            counts[row["direction"]] += row["count"]
    return counts


def test_a_clip_is_counted_into_the_database(pipeline: Pipeline, tmp_path: Path,
                                             clip: tuple[Path, GroundTruth],
                                             pipeline_counts: dict[str, int]) -> None:
    _, truth = clip
    assert pipeline_counts == {"in": truth.total("in"), "out": truth.total("out")}, (
        "the vision pipeline itself miscounts this clip")
    snapshots = tmp_path / "snapshots"
    running = pipeline.start_agent(agent_config(clip_camera(
        "b01-u1-cam", clip, start_time=START.isoformat(),
        snapshots={"enabled": True, "dir": str(snapshots)})))
    source = running.agent.sources[0]
    assert isinstance(source, CameraEdgeSource)
    wait_for(lambda: source.supervisor.state is StreamState.FINISHED, 30, "the clip to be counted")
    events = source.supervisor.crossings_in + source.supervisor.crossings_out
    assert events == sum(pipeline_counts.values())
    rows = pipeline.wait_rows(source.spooled)
    assert totals(rows, "b01-u1-cam") == pipeline_counts
    clip_end = START + dt.timedelta(seconds=truth.frames / truth.fps)
    for row in rows:
        assert (row["source"], row["kind"], row["person_id"]) == ("camera", "passage", None)
        assert 0 < row["confidence"] <= 1 and row["count"] >= 1
        assert START <= row["occurred_at"] <= clip_end
        assert set(row["attrs"]) == {"track", "bbox", "snapshot"}
        assert (snapshots / row["attrs"]["snapshot"]).is_file()
        assert row["attrs"]["snapshot"] == f"{row['event_id']}.jpg"
    status = source.device_status()
    assert status["stream"] == "finished" and status["frames_processed"] == truth.frames
    assert (status["crossings_in"], status["crossings_out"]) == (
        pipeline_counts["in"], pipeline_counts["out"])


class SilentCamera:
    """A camera that accepts TCP connections and never says a word (a hung encoder)."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._server.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent_camera() -> Iterator[SilentCamera]:
    camera = SilentCamera()
    yield camera
    camera.close()


def test_a_stalled_camera_does_not_hold_up_the_other(
        pipeline: Pipeline, clip: tuple[Path, GroundTruth], pipeline_counts: dict[str, int],
        silent_camera: SilentCamera) -> None:
    stalled = {"type": "camera", "device": "b01-u2-cam",
               "url": f"http://viewer:pw1234@127.0.0.1:{silent_camera.port}/video.mjpg",
               "counting": clip[1].counting.model_dump(), "open_timeout_s": 1.0,
               "read_timeout_s": 1.0, "reconnect_min_s": 0.2, "reconnect_max_s": 0.5}
    running = pipeline.start_agent(agent_config(stalled, clip_camera("b01-u1-cam", clip)))
    hung, counting = running.agent.sources
    assert isinstance(hung, CameraEdgeSource) and isinstance(counting, CameraEdgeSource)
    wait_for(lambda: counting.supervisor.state is StreamState.FINISHED, 30,
             "the working camera to finish its clip")
    rows = pipeline.wait_rows(counting.spooled)
    assert totals(rows, "b01-u1-cam") == pipeline_counts
    assert all(row["device"] == "b01-u1-cam" for row in rows)
    wait_for(lambda: hung.device_status()["open_failures"] >= 2, 20, "failed opens of the hung one")
    assert silent_camera.accepted  # it was really tried, over a real socket
    status = hung.device_status()
    assert status["stream"] in ("reconnecting", "failed") and status["frames_in"] == 0
    assert "pw1234" not in repr(status) and "viewer:***@" in status["source"]
    assert hung.health()["stream"] == status["stream"]
