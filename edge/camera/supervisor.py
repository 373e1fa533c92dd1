"""The parent side of a camera: one worker process, restarted when it dies or hangs.

Each camera runs in a process of its own (``edge.camera.worker``): decoding and counting
are CPU work that a thread would serialise behind the GIL, and a stream stuck inside
FFmpeg must not stall the other cameras or the agent's publisher. Processes are started
with the ``spawn`` method: the agent is multi-threaded (paho's network thread, the
publisher, SQLite), and ``fork`` would copy locks held by those threads into the child;
OpenCV's and FFmpeg's thread pools are not fork-safe either. ``forkserver`` would only
save the start-up (~1 s of imports), which happens once per camera and after a crash.

The supervisor drains the worker's queue (crossings, health, logs), hands crossings to
its owner (the agent's source spools them; ``linli camera count`` prints them), restarts
a dead worker with exponential backoff, and kills one that is stuck in a call longer than
its timeouts allow or has gone silent.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from multiprocessing.process import BaseProcess
from typing import Any

from edge.camera.config import CameraSource
from edge.camera.messages import CrossingReport, HealthReport, StreamState, WorkerDone
from edge.camera.worker import worker_main

log = logging.getLogger(__name__)

TICK_S = 0.2
GRACE_S = 3.0
"""How long a stopping worker gets before it is terminated."""
STARTUP_S = 60.0
"""How long a new worker may take to say anything (imports, opening the pipeline)."""
SILENT_S = 15.0
"""A worker that has said nothing for this long (it reports every second) is restarted."""
STUCK_MARGIN_S = 15.0
"""A reader blocked in OpenCV this much longer than the open/read timeouts is restarted."""
STABLE_S = 60.0
"""A worker that ran this long before it died is restarted after the shortest backoff."""

CrossingSink = Callable[[list[CrossingReport]], None]


@dataclass(slots=True)
class Totals:
    """Counters summed over every worker this camera has had."""

    frames_in: int = 0
    frames_processed: int = 0
    frames_skipped: int = 0
    frames_lagged: int = 0
    reconnects: int = 0
    open_failures: int = 0
    drops: int = 0
    pipeline_errors: int = 0

    def plus(self, report: HealthReport | None) -> Totals:
        """These totals with a worker's own added."""
        if report is None:
            return Totals(*(getattr(self, f.name) for f in fields(self)))
        return Totals(*(getattr(self, f.name) + getattr(report, f.name) for f in fields(self)))


@dataclass(slots=True)
class _Worker:
    process: BaseProcess
    queue: Any
    stop: Any
    started: float
    heard: float | None = None


class WorkerSupervisor:
    """Runs one camera's worker until stopped; its figures are read by other threads."""

    def __init__(self, config: CameraSource, on_crossings: CrossingSink) -> None:
        self.config = config
        self.on_crossings = on_crossings
        self.health: HealthReport | None = None
        """The running worker's latest report (None between workers)."""
        self.last_report: HealthReport | None = None
        """The latest report of any worker (frame size, processing time)."""
        self.state = StreamState.CONNECTING
        self.restarts = 0
        self.crossings_in = 0
        self.crossings_out = 0
        self.finished = False
        self.last_frame_at: dt.datetime | None = None
        self.last_error: str | None = None
        self._base = Totals()
        self._pending: list[CrossingReport] = []
        self._lock = threading.Lock()  # the publisher's thread reads totals mid-restart
        self._context = multiprocessing.get_context("spawn")

    @property
    def totals(self) -> Totals:
        """Counters over all workers so far."""
        with self._lock:
            return self._base.plus(self.health)

    def run(self, stop: threading.Event) -> None:
        """Keep a worker running until ``stop`` is set or the video file is finished."""
        backoff = self.config.reconnect_min_s
        while not stop.is_set() and not self.finished:
            worker = None
            try:
                worker = self._start()
                reason = self._watch(worker, stop)
            except Exception:
                reason = "failed in the supervisor"
                log.exception("camera %s: supervising the worker failed", self.config.device)
            finally:
                if worker is not None:
                    self._stop(worker)
            if stop.is_set() or self.finished:
                break
            if worker is not None and time.monotonic() - worker.started >= STABLE_S:
                backoff = self.config.reconnect_min_s
            self.restarts += 1
            self.state = StreamState.RECONNECTING
            self.last_error = f"worker {reason}"
            log.error("camera %s: worker %s; restarting it in %.1fs", self.config.device,
                      reason, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, self.config.reconnect_max_s)
        self.state = StreamState.FINISHED if self.finished else StreamState.STOPPED

    def _start(self) -> _Worker:
        stop = self._context.Event()
        outbox = self._context.Queue()
        process = self._context.Process(
            target=worker_main, name=f"linli-camera-{self.config.device}", daemon=True,
            args=(self.config, outbox, stop, logging.getLogger().getEffectiveLevel()))
        process.start()
        log.info("camera %s: worker process %s started", self.config.device, process.pid)
        return _Worker(process, outbox, stop, time.monotonic())

    def _watch(self, worker: _Worker, stop: threading.Event) -> str:
        """Drain the worker until it must be stopped; why it stopped, for the log."""
        while not stop.is_set() and not self.finished:
            self._drain(worker, TICK_S)
            if not worker.process.is_alive():
                self._drain(worker, 0.0)
                return f"process died (exit code {worker.process.exitcode})"
            problem = self._hung(worker, time.monotonic())
            if problem:
                return problem
        return "stopped"

    def _hung(self, worker: _Worker, now: float) -> str | None:
        if worker.heard is None:
            waited = now - worker.started
            return f"said nothing for {waited:.0f}s after it started" if waited > STARTUP_S else None
        if now - worker.heard > SILENT_S:
            return f"went silent for {now - worker.heard:.0f}s"
        limit = max(self.config.open_timeout_s, self.config.read_timeout_s) + STUCK_MARGIN_S
        if self.health is not None and self.health.stuck_s > limit:
            return f"is stuck in a video call for {self.health.stuck_s:.0f}s"
        return None

    def _drain(self, worker: _Worker, timeout: float) -> None:
        """Handle everything the worker has sent, waiting up to ``timeout`` for the first."""
        wait = timeout
        while True:
            try:
                message = worker.queue.get(timeout=wait) if wait > 0 else worker.queue.get_nowait()
            except queue.Empty:
                break
            except (EOFError, OSError, ValueError):  # the worker died mid-message
                break
            wait = 0.0
            worker.heard = time.monotonic()
            self._handle(message)
        self._flush()

    def _handle(self, message: object) -> None:
        if isinstance(message, CrossingReport):
            self._pending.append(message)
            if message.direction == "in":
                self.crossings_in += message.count
            else:
                self.crossings_out += message.count
        elif isinstance(message, HealthReport):
            with self._lock:
                self.health = self.last_report = message
            self.state = message.state
            self.last_frame_at = message.last_frame_at or self.last_frame_at
            self.last_error = message.last_error or self.last_error
        elif isinstance(message, WorkerDone):
            self.finished = True
        elif isinstance(message, logging.LogRecord):
            logger = logging.getLogger(message.name)
            if logger.isEnabledFor(message.levelno):
                logger.handle(message)
        else:
            log.warning("camera %s: unexpected message from the worker: %.200r",
                        self.config.device, message)

    def _flush(self) -> None:
        if not self._pending:
            return
        try:
            self.on_crossings(self._pending)
        except Exception:
            # kept, and offered again on the next round: a full disk must not lose counts
            log.exception("camera %s: %d crossings not stored yet; retrying",
                          self.config.device, len(self._pending))
            return
        self._pending = []

    def _stop(self, worker: _Worker) -> None:
        """Ask the worker to stop, collect what it still says, and make sure it is gone."""
        worker.stop.set()
        deadline = time.monotonic() + GRACE_S
        while worker.process.is_alive() and time.monotonic() < deadline:
            self._drain(worker, 0.05)  # a child cannot exit while its queue is unread
        for end in (worker.process.terminate, worker.process.kill):
            if not worker.process.is_alive():
                break
            log.warning("camera %s: worker %s did not stop; ending it", self.config.device,
                        worker.process.pid)
            end()
            worker.process.join(2.0)
        self._drain(worker, 0.0)
        with self._lock:
            self._base = self._base.plus(self.health)
            self.health = None
        worker.queue.close()
        worker.process.join(0.1)
