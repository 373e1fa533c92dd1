"""Opening a camera's video with OpenCV, and the frames that come out of it.

Streams go through FFmpeg with open and read timeouts (a camera that accepts the
connection and then says nothing fails the open after ``open_timeout_s``, a stream that
stops sending fails the read after ``read_timeout_s``); devices through V4L2; files through
FFmpeg, paced at their own frame rate unless ``file_pace`` is ``fast``.

Every frame gets a *stream time* ``t`` in seconds — the monotonic clock for live sources,
the position in the file for files (plus what earlier loops of it lasted) — which drives
the rate cap and the tracker, and the wall-clock time it was read at, which dates events.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.camera.config import CameraSource
from edge.camera.urls import CaptureTarget, TargetKind, scrub

DEFAULT_FILE_FPS = 25.0
"""Frame rate assumed for a file that does not state a plausible one."""

Image = np.ndarray
"""A BGR uint8 frame (height, width, 3)."""


class CaptureError(Exception):
    """The video could not be opened or read; the message carries no credentials."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame handed to the counting pipeline."""

    image: Image
    t: float
    """Stream time in seconds (see the module docstring)."""
    wall: dt.datetime
    """When it was read (UTC)."""
    generation: int
    """Which connection it came from; a new one means the tracker starts afresh."""


def configure_ffmpeg(config: CameraSource) -> None:
    """Process-wide FFmpeg options for this camera; call before the first open.

    Each camera has a worker process of its own, so these environment variables are
    per camera: RTSP transport, and FFmpeg's own console messages kept to errors (they
    may echo the URL; our own messages are scrubbed).
    """
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"rtsp_transport;{config.rtsp_transport}"
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")  # AV_LOG_FATAL
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def _open(target: CaptureTarget, config: CameraSource) -> cv2.VideoCapture:
    if target.kind is TargetKind.STREAM:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(config.open_timeout_s * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(config.read_timeout_s * 1000)]
        return cv2.VideoCapture(str(target.location), cv2.CAP_FFMPEG, params)
    if target.kind is TargetKind.DEVICE:
        return cv2.VideoCapture(target.location, cv2.CAP_V4L2)
    path = Path(str(target.location))
    if not path.is_file():
        raise CaptureError(f"video file {path} not found")
    return cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)


class Capture:
    """An open video source: grab every frame, retrieve (decode to BGR) only those needed."""

    def __init__(self, config: CameraSource, *, offset_s: float = 0.0) -> None:
        self.target = config.target
        self._url = config.url
        self._realtime = config.file_pace == "realtime"
        try:
            self._cap = _open(self.target, config)
        except cv2.error as exc:
            raise CaptureError(f"cannot open {self.describe()}: {self._scrub(str(exc))}") from None
        if not self._cap.isOpened():
            self._cap.release()
            raise CaptureError(f"cannot open {self.describe()}")
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = reported if 0 < reported <= 240 else DEFAULT_FILE_FPS
        self.offset_s = offset_s
        self.frames = 0
        self._started = time.monotonic()

    def describe(self) -> str:
        """The source for logs and status: the URL without its credentials."""
        return self._scrub(self._url)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._url)

    def pace(self, stop: threading.Event) -> None:
        """For a file read in real time, wait until its next frame is due."""
        if self.target.is_file and self._realtime:
            delay = self._started + self.frames / self.fps - time.monotonic()
            if delay > 0:
                stop.wait(delay)

    def grab(self) -> bool:
        """Read the next frame without decoding it to BGR; False at the end or on a failure."""
        try:
            ok = bool(self._cap.grab())
        except cv2.error:
            return False
        if ok:
            self.frames += 1
        return ok

    def stream_time(self) -> float:
        """Stream time of the frame grabbed last."""
        if self.target.is_file:
            return self.offset_s + (self.frames - 1) / self.fps
        return time.monotonic()

    @property
    def end_s(self) -> float:
        """Stream time just after the last frame of a file (where a loop continues)."""
        return self.offset_s + self.frames / self.fps

    def retrieve(self) -> Image | None:
        """The grabbed frame as a BGR image, or None if it cannot be decoded."""
        try:
            ok, image = self._cap.retrieve()
        except cv2.error:
            return None
        return image if ok and image is not None else None

    def read_one(self, attempts: int = 25) -> Image:
        """The first frame that decodes (installer tools); CaptureError if none does."""
        for _ in range(attempts):
            if not self.grab():
                break
            image = self.retrieve()
            if image is not None:
                return image
        raise CaptureError(f"no frame could be read from {self.describe()}")

    def release(self) -> None:
        """Close the source."""
        self._cap.release()
