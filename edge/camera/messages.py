"""What a camera worker process tells its parent, over one multiprocessing queue.

Nothing crosses the process boundary as a bare dict or tuple: a ``CrossingReport`` per
counted crossing, a ``HealthReport`` every second, a ``WorkerDone`` when a file ended for
good, and the worker's ``logging.LogRecord``s (already formatted, credentials masked), which
the parent hands to its own logging. Frames never cross: they stay in the worker.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

from edge.camera.vision.health import VisionHealth


class StreamState(StrEnum):
    """Where a camera's stream is."""

    CONNECTING = "connecting"
    """Opening the stream for the first time."""
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    """The stream dropped or an open failed; trying again with backoff."""
    FAILED = "failed"
    """Several opens in a row failed; still retried, at the longest backoff."""
    FINISHED = "finished"
    """A video file ended (and ``loop`` is off)."""
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CrossingReport:
    """One crossing of the counting line, ready to become an event."""

    event_id: uuid.UUID
    occurred_at: dt.datetime
    direction: str
    count: int
    confidence: float
    track_id: int
    bbox: tuple[int, int, int, int]
    snapshot: str | None
    """File name of the crossing's snapshot in the snapshot folder, when snapshots are on."""
    position_s: float | None = None
    """Files only: where in the file the crossing happened (seconds from its start)."""


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The worker's figures since it started (totals) and over the last seconds (rates)."""

    state: StreamState
    frames_in: int
    frames_processed: int
    frames_skipped: int
    frames_lagged: int
    fps_in: float
    fps_processed: float
    skip_ratio: float
    lagging: bool
    last_frame_at: dt.datetime | None
    reconnects: int
    """Streams opened again after a drop or a failed open."""
    open_failures: int
    drops: int
    """Streams that ended or stalled while they were being read."""
    last_error: str | None
    frame_size: tuple[int, int] | None
    process_ms: float
    """Mean time the pipeline took per frame (moving average)."""
    pipeline_errors: int
    stuck_s: float
    """Seconds since the reader last made progress (a frame, an open attempt)."""
    vision: VisionHealth | None = None
    """The counting pipeline's own figures (since this worker started)."""


@dataclass(frozen=True, slots=True)
class WorkerDone:
    """The worker ends by itself: its video file is finished."""

    reason: str
