"""The worker's processing side: frames from the reader → counting pipeline → reports.

The reader (the worker's main thread) and the processor (a thread of its own) meet at a
one-frame ``FrameSlot``: the slot is busy from the moment a frame is put until the pipeline
is done with it, and a frame that falls due while it is busy is dropped (live sources) or
waited for (files read ``fast``). OpenCV and numpy release the GIL, so reading the next
frames and processing this one overlap.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from edge.camera.capture import Frame
from edge.camera.config import CameraSource
from edge.camera.messages import CrossingReport
from edge.camera.rate import FrameCounters
from edge.camera.snapshots import Box, blur_people, write_snapshot
from edge.camera.vision.pipeline import CountingPipeline, Crossing
from linli.contract import new_event_id

log = logging.getLogger(__name__)

ERROR_LOG_EVERY_S = 60.0
"""A pipeline failing on every frame logs its traceback once, then a count this often."""
EMA = 0.1
"""Weight of the newest frame in the mean processing time."""

Outbox = Callable[[object], None]


class FrameSlot:
    """Hands one frame at a time from the reader to the processor."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._busy = False

    def free(self) -> bool:
        """No frame waits and none is being processed."""
        with self._cond:
            return not self._busy

    def wait_free(self, stop: threading.Event, timeout: float = 0.2) -> bool:
        """Wait until the slot is free or ``stop`` is set; True if free."""
        with self._cond:
            while self._busy and not stop.is_set():
                self._cond.wait(timeout)
            return not self._busy

    def put(self, frame: Frame) -> None:
        """Hand ``frame`` over (the slot must be free)."""
        with self._cond:
            self._frame, self._busy = frame, True
            self._cond.notify_all()

    def take(self, timeout: float) -> Frame | None:
        """The waiting frame, or None after ``timeout``; the slot stays busy until ``done``."""
        with self._cond:
            if self._frame is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    def done(self) -> None:
        """The processor finished the frame it took."""
        with self._cond:
            self._busy = False
            self._cond.notify_all()


def crossing_time(config: CameraSource, frame: Frame, t: float) -> dt.datetime:
    """When a crossing at stream time ``t``, seen in ``frame``, happened (UTC)."""
    if config.start_time is not None:
        return config.start_time.astimezone(dt.UTC) + dt.timedelta(seconds=t)
    return frame.wall - dt.timedelta(seconds=max(0.0, frame.t - t))


class Processor:
    """Runs the counting pipeline on each frame the reader hands over."""

    def __init__(self, config: CameraSource, pipeline: CountingPipeline, slot: FrameSlot,
                 counters: FrameCounters, outbox: Outbox) -> None:
        self.config = config
        self.pipeline = pipeline
        self.slot = slot
        self.counters = counters
        self.outbox = outbox
        self.process_ms = 0.0
        self.errors = 0
        self.last_error: str | None = None
        self._generation = 0
        self._last: Frame | None = None  # the last frame handled: held-back crossings' context
        self._error_logged_at = -ERROR_LOG_EVERY_S
        self._errors_logged = 0

    def run(self, stop: threading.Event) -> None:
        """Process frames until ``stop`` is set."""
        while not stop.is_set():
            frame = self.slot.take(0.2)
            if frame is None:
                continue
            try:
                self.handle(frame)
            except Exception as exc:
                self._failed(exc)
            finally:
                self.counters.processed += 1
                self.slot.done()

    def handle(self, frame: Frame) -> None:
        """Count one frame and report its crossings."""
        if frame.generation != self._generation:
            self.flush()  # what the old connection left unfinished still counts
            self.pipeline.reset()  # a new connection: old tracks would jump
            self._generation = frame.generation
        self._last = frame
        started = time.perf_counter()
        crossings = self.pipeline.process(frame.image, frame.t)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.process_ms = elapsed_ms if not self.process_ms else (
            (1 - EMA) * self.process_ms + EMA * elapsed_ms)
        for crossing in crossings:
            self.outbox(self.report(frame, crossing))

    def flush(self) -> None:
        """The stream ended or is being replaced: report what the pipeline still holds (frames
        held back for its first background, people caught over the line; see
        ``CountingPipeline.flush``). Call only while no frame is being processed."""
        if self._last is None:
            return
        try:
            crossings = self.pipeline.flush()
        except Exception as exc:
            self._failed(exc)
            return
        for crossing in crossings:
            self.outbox(self.report(self._last, crossing))

    def report(self, frame: Frame, crossing: Crossing) -> CrossingReport:
        """The report of one crossing, with its snapshot written first when they are on."""
        event_id = new_event_id()
        bbox = crossing.bbox
        snapshot = None
        if self.config.snapshots.enabled:
            snapshot = self._snapshot(frame, bbox, f"{event_id}.jpg")
        return CrossingReport(
            event_id=event_id,
            occurred_at=crossing_time(self.config, frame, float(crossing.t)),
            direction=crossing.direction,
            count=crossing.count,
            confidence=float(crossing.confidence),
            track_id=crossing.track_id,
            bbox=bbox,
            snapshot=snapshot,
            position_s=round(float(crossing.t), 3) if self.config.target.is_file else None,
        )

    def _snapshot(self, frame: Frame, bbox: Box, name: str) -> str | None:
        settings = self.config.snapshots
        try:
            image = frame.image
            if settings.blur_faces:
                boxes = [bbox, *(track.bbox for track in self.pipeline.tracks)]
                image = blur_people(image, boxes, settings.blur_region)
            image = self.pipeline.draw_overlay(image)
            write_snapshot(image, settings.dir, name, settings.quality)
        except Exception:
            log.exception("snapshot %s not written", name)
            return None
        return name

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self.last_error = f"pipeline: {type(exc).__name__}: {exc}"[:300]
        now = time.monotonic()
        if now - self._error_logged_at >= ERROR_LOG_EVERY_S:
            self._error_logged_at = now
            if self._errors_logged == 0:
                log.exception("counting pipeline failed on a frame; skipping it")
            else:
                log.error("counting pipeline failed on %d frames so far; last: %s",
                          self.errors, self.last_error)
            self._errors_logged += 1

