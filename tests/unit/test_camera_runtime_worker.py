"""The camera worker without a process around it: failing opens, event times, credentials."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time

import numpy as np
import pytest

from edge.camera.capture import Frame
from edge.camera.config import CameraSource
from edge.camera.messages import HealthReport, StreamState
from edge.camera.processing import crossing_time
from edge.camera.status import camera_status
from edge.camera.supervisor import WorkerSupervisor
from edge.camera.worker import CameraWorker

PASSWORD = "S3cret-Pw"
LINE = {"line": {"a": [0, 240], "b": [640, 240], "in_side": "below"}}


def closed_port() -> int:
    """A local port nobody listens on: opening it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_camera_that_refuses_is_retried_with_backoff_and_no_password_leaks(
        caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://admin:{PASSWORD}@127.0.0.1:{closed_port()}/video.mjpg?pwd={PASSWORD}"
    config = CameraSource.model_validate({"device": "b01-cam", "url": url, "counting": LINE,
                                          "reconnect_min_s": 0.05, "reconnect_max_s": 0.2})
    messages: list[object] = []
    stop = threading.Event()
    worker = CameraWorker(config, messages.append, stop)
    thread = threading.Thread(target=worker.run)
    with caplog.at_level(logging.INFO, logger="edge.camera"):
        thread.start()
        deadline = time.monotonic() + 10
        while worker.open_failures < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert worker.open_failures >= 4
    health = worker.health(time.monotonic())
    assert health.frames_in == 0 and health.last_error is not None
    assert "admin:***@127.0.0.1" in health.last_error
    said = [r.getMessage() for r in caplog.records] + [repr(m) for m in messages]
    assert any("retrying in" in line for line in said)
    assert not [line for line in said if PASSWORD in line]
    states = [m.state for m in messages if isinstance(m, HealthReport)]
    assert StreamState.FAILED in states or worker.state is StreamState.STOPPED


def test_the_status_document_never_shows_the_password() -> None:
    url = f"rtsp://admin:{PASSWORD}@10.0.0.21:554/Streaming/Channels/102"
    config = CameraSource.model_validate({"device": "b01-cam", "url": url, "counting": LINE})
    supervisor = WorkerSupervisor(config, lambda reports: None)
    status = camera_status(supervisor)
    assert status["source"] == "rtsp://admin:***@10.0.0.21:554/Streaming/Channels/102"
    assert status["stream"] == "connecting" and status["state"] == "online"
    assert PASSWORD not in repr(status)
    assert PASSWORD not in repr(config) and PASSWORD not in str(config)  # e.g. in a traceback


def frame_at(t: float, wall: dt.datetime) -> Frame:
    return Frame(np.zeros((4, 4, 3), np.uint8), t, wall, 1)


def test_a_crossing_is_dated_by_the_wall_clock_of_its_frame() -> None:
    config = CameraSource.model_validate({"device": "b01-cam", "url": "0", "counting": LINE})
    wall = dt.datetime(2026, 11, 22, 0, 0, 10, tzinfo=dt.UTC)
    # the pipeline places the crossing 0.2 s before the frame that completed it
    assert crossing_time(config, frame_at(100.0, wall), 99.8) == wall - dt.timedelta(seconds=0.2)


def test_a_file_with_a_start_time_dates_crossings_by_their_position() -> None:
    config = CameraSource.model_validate({
        "device": "b01-cam", "url": "/data/clip.avi", "counting": LINE,
        "start_time": "2026-11-22T08:00:00+08:00"})
    wall = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    when = crossing_time(config, frame_at(4.0, wall), 3.5)
    assert when == dt.datetime(2026, 11, 22, 0, 0, 3, 500000, tzinfo=dt.UTC)


def test_the_status_shows_what_the_counter_went_through() -> None:
    from edge.camera.vision.health import VisionHealth

    config = CameraSource.model_validate({"device": "b01-cam", "url": "0", "counting": LINE})
    supervisor = WorkerSupervisor(config, lambda reports: None)
    assert camera_status(supervisor)["person_size_px"] is None  # no worker has reported yet
    vision = VisionHealth(background_rebuilds=1, lighting_changes=3, tracks_lost=2,
                          merged_crossings=1, line_jumps=4, person_width_px=52.04,
                          person_length_px=38.0,
                          person_size_learned=True, band_px=16.0)
    supervisor._handle(HealthReport(
        state=StreamState.STREAMING, frames_in=10, frames_processed=10, frames_skipped=0,
        frames_lagged=0, fps_in=25.0, fps_processed=25.0, skip_ratio=0.0, lagging=False,
        last_frame_at=None, reconnects=0, open_failures=0, drops=0, last_error=None,
        frame_size=(640, 480), process_ms=3.0, pipeline_errors=0, stuck_s=0.0, vision=vision))
    status = camera_status(supervisor)
    assert {key: status[key] for key in (
        "background_rebuilds", "lighting_changes", "tracks_lost", "merged_crossings",
        "line_jumps", "person_size_px", "person_size_learned", "band_px")} == {
        "background_rebuilds": 1, "lighting_changes": 3, "tracks_lost": 2,
        "merged_crossings": 1, "line_jumps": 4, "person_size_px": [52.0, 38.0],
        "person_size_learned": True, "band_px": 16.0}
    from edge.camera.status import camera_health
    health = camera_health(supervisor)
    assert (health["lighting_changes"], health["line_jumps"]) == (3, 4)
