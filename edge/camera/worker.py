"""A camera's worker process: capture → rate cap → counting pipeline → reports to the parent.

``worker_main`` is the process's entry point (see ``edge.camera.supervisor`` for why each
camera gets a process of its own). Inside, three threads:

- the reader (main thread) opens the video, reconnects with exponential backoff when it
  drops or fails to open, reads every frame and hands the due ones to the processor;
- the processor (``edge.camera.processing``) runs the counting pipeline and reports
  crossings, writing their snapshots when those are on;
- the reporter sends a ``HealthReport`` every second, deletes old snapshots, and stops the
  worker when the parent asks or has died.

Everything the worker says goes through one queue (``messages``), logs included.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import multiprocessing
import signal
import sys
import threading
import time
from enum import Enum
from functools import partial
from typing import Any, Protocol

import cv2

from edge.camera.capture import Capture, CaptureError, Frame, configure_ffmpeg
from edge.camera.config import CameraSource
from edge.camera.messages import HealthReport, StreamState, WorkerDone
from edge.camera.processing import FrameSlot, Outbox, Processor
from edge.camera.rate import FrameCounters, RateGate, RateWindow
from edge.camera.snapshots import prune_snapshots
from edge.camera.urls import scrub
from edge.camera.vision.detectors import make_detector
from edge.camera.vision.pipeline import CountingPipeline
from linli.contract import utc_now

log = logging.getLogger(__name__)

FAILED_AFTER = 3
"""Failed opens in a row after which the camera's state is ``failed``."""
STABLE_S = 10.0
"""A stream that ran this long before it dropped is retried after the shortest backoff."""
HEALTH_INTERVAL_S = 1.0
TICK_S = 0.2
PRUNE_INTERVAL_S = 3600.0
DRAIN_TIMEOUT_S = 5.0
"""At the end of a file, how long the last frame may take to be processed."""


class StopFlag(Protocol):
    """A threading.Event, or a multiprocessing one shared with the parent."""

    def is_set(self) -> bool: ...


class _End(Enum):
    STOPPED = "stopped"
    ENDED = "ended"  # a file's last frame
    LOST = "lost"  # a stream that failed to deliver the next frame in time


class CameraWorker:
    """Everything one camera's worker does; ``run`` blocks until it stops."""

    def __init__(self, config: CameraSource, outbox: Outbox, stop: StopFlag,
                 pipeline: CountingPipeline | None = None) -> None:
        self.config = config
        self.outbox = outbox
        self.stop = stop
        self.counters = FrameCounters()
        self.gate = RateGate(config.fps)
        self.slot = FrameSlot()
        if pipeline is None:
            pipeline = CountingPipeline(config.counting, config.vision,
                                        make_detector(config.vision))
        self.processor = Processor(config, pipeline, self.slot, self.counters, outbox)
        self.state = StreamState.CONNECTING
        self.reconnects = self.open_failures = self.drops = 0
        self.last_error: str | None = None
        self.last_frame_at: dt.datetime | None = None
        self.frame_size: tuple[int, int] | None = None
        self._halt = threading.Event()
        self._blocked_since: float | None = None
        self._generation = 0
        self._window = RateWindow()

    @property
    def device(self) -> str:
        """The camera's device id (for log lines)."""
        return self.config.device

    def run(self) -> None:
        """Read, count and report until stopped (or until a file ends)."""
        threads = [threading.Thread(target=self.processor.run, args=(self._halt,),
                                    name="camera-processor", daemon=True),
                   threading.Thread(target=self._report_loop, name="camera-reporter",
                                    daemon=True)]
        for thread in threads:
            thread.start()
        try:
            self._connect_loop()
        finally:
            if self.state is not StreamState.FINISHED:
                self.state = StreamState.STOPPED
            self._halt.set()
            for thread in threads:
                thread.join(DRAIN_TIMEOUT_S)
            self.outbox(self.health(time.monotonic()))

    def _connect_loop(self) -> None:
        backoff = self.config.reconnect_min_s
        failures, offset, replaying = 0, 0.0, False
        while not self._halt.is_set():
            try:
                capture = self._blocking(partial(Capture, self.config, offset_s=offset))
            except CaptureError as exc:
                failures += 1
                self.open_failures += 1
                self._retry_later(str(exc), failures, backoff)
                backoff = min(backoff * 2, self.config.reconnect_max_s)
                continue
            if failures or (self._generation and not replaying):
                self.reconnects += 1
            failures, replaying = 0, False
            started, end = time.monotonic(), self._stream(capture)
            offset = capture.end_s
            frames = capture.frames
            capture.release()
            if end is _End.STOPPED:
                return
            if end is _End.ENDED and frames:
                if not self.config.loop:
                    self._finish()
                    return
                log.debug("camera %s: end of %s; playing it again", self.device,
                          capture.describe())
                replaying = True
                continue
            self.drops += 1
            if time.monotonic() - started >= STABLE_S:
                backoff = self.config.reconnect_min_s
            problem = "stopped sending frames" if frames else "gave no frame"
            self._retry_later(f"{capture.describe()} {problem}", 1, backoff)
            backoff = min(backoff * 2, self.config.reconnect_max_s)

    def _retry_later(self, error: str, failures: int, backoff: float) -> None:
        self.last_error = error
        self.state = StreamState.FAILED if failures >= FAILED_AFTER else StreamState.RECONNECTING
        log.warning("camera %s: %s; retrying in %.1fs", self.device, error, backoff)
        self._halt.wait(backoff)

    def _finish(self) -> None:
        self.slot.wait_free(self._halt)  # its crossings go out before we say we are done
        self.processor.flush()  # frames still held back, someone over the line at the end
        self.state = StreamState.FINISHED
        log.info("camera %s: video file finished", self.device)
        self.outbox(WorkerDone("end of file"))

    def _stream(self, capture: Capture) -> _End:
        self._generation += 1
        self.gate.reset()
        self.state = StreamState.STREAMING
        log.info("camera %s: streaming %s", self.device, capture.describe())
        wait_for_pipeline = capture.target.is_file and self.config.file_pace == "fast"
        while not self._halt.is_set():
            capture.pace(self._halt)
            if not self._blocking(capture.grab):
                return _End.ENDED if capture.target.is_file else _End.LOST
            t, wall = capture.stream_time(), utc_now()
            self.counters.frames_in += 1
            self.last_frame_at = wall
            if not self._due(t, wait_for_pipeline):
                self.counters.skipped += 1
                continue
            image = capture.retrieve()
            if image is None:
                self.counters.skipped += 1
                continue
            self.frame_size = (int(image.shape[1]), int(image.shape[0]))
            self.gate.take(t)
            self.slot.put(Frame(image, t, wall, self._generation))
        return _End.STOPPED

    def _due(self, t: float, wait_for_pipeline: bool) -> bool:
        """Whether the frame at ``t`` goes to the pipeline (decided before decoding it)."""
        if not self.gate.due(t):
            return False
        if self.slot.free():
            return True
        if wait_for_pipeline:
            return self.slot.wait_free(self._halt)
        self.counters.lagged += 1
        return False

    def _blocking(self, call: Any) -> Any:
        """Run an OpenCV call that may block, so the reporter can tell a stuck reader."""
        self._blocked_since = time.monotonic()
        try:
            return call()
        finally:
            self._blocked_since = None

    def _report_loop(self) -> None:
        next_health = next_prune = time.monotonic()
        while not self._halt.is_set():
            if self.stop.is_set() or not _parent_alive():
                self._halt.set()
                break
            now = time.monotonic()
            if now >= next_health:
                self.outbox(self.health(now))
                next_health = now + HEALTH_INTERVAL_S
            if self.config.snapshots.enabled and now >= next_prune:
                self._prune()
                next_prune = now + PRUNE_INTERVAL_S
            self._halt.wait(TICK_S)

    def _prune(self) -> None:
        settings = self.config.snapshots
        try:
            prune_snapshots(settings.dir, settings.keep_days)
        except OSError as exc:
            log.warning("camera %s: cannot prune snapshots in %s: %s", self.device,
                        settings.dir, exc)

    def health(self, now: float) -> HealthReport:
        """The worker's figures now."""
        rates = self._window.sample(now, self.counters)
        blocked = self._blocked_since
        errors = [e for e in (self.last_error, self.processor.last_error) if e]
        return HealthReport(
            state=self.state,
            frames_in=self.counters.frames_in,
            frames_processed=self.counters.processed,
            frames_skipped=self.counters.skipped,
            frames_lagged=self.counters.lagged,
            fps_in=rates.fps_in,
            fps_processed=rates.fps_processed,
            skip_ratio=rates.skip_ratio,
            lagging=rates.lagging,
            last_frame_at=self.last_frame_at,
            reconnects=self.reconnects,
            open_failures=self.open_failures,
            drops=self.drops,
            last_error=scrub(errors[-1], self.config.url) if errors else None,
            frame_size=self.frame_size,
            process_ms=round(self.processor.process_ms, 1),
            pipeline_errors=self.processor.errors,
            stuck_s=round(now - blocked, 1) if blocked is not None else 0.0,
            vision=self.processor.pipeline.health,
        )


def _parent_alive() -> bool:
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()


class _ScrubbingQueueHandler(logging.handlers.QueueHandler):
    """Sends formatted, credential-free records to the parent."""

    def __init__(self, queue: Any, url: str) -> None:
        super().__init__(queue)
        self._url = url

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = super().prepare(record)
        record.msg = scrub(str(record.msg), self._url)
        return record


def worker_main(config: CameraSource, queue: Any, stop: StopFlag, log_level: int) -> None:
    """Entry point of a camera's worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    root = logging.getLogger()
    root.handlers[:] = [_ScrubbingQueueHandler(queue, config.url)]
    root.setLevel(log_level)
    configure_ffmpeg(config)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    # one process per camera gives the parallelism; OpenCV's own pool in every worker
    # would only oversubscribe the agent's few cores
    cv2.setNumThreads(1)
    try:
        CameraWorker(config, queue.put, stop).run()
    except Exception:
        log.exception("camera %s: worker failed", config.device)
        sys.exit(1)
