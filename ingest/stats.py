"""Running figures of an ingest replica, and the periodic one-line summary of them."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

from ingest.writer import WriteResult

__all__ = ["IngestFigures", "IngestStats"]


@dataclass(frozen=True, slots=True)
class IngestFigures:
    """Totals since start (a snapshot)."""

    batches: int = 0
    messages: int = 0
    events_written: int = 0
    duplicates: int = 0
    statuses: int = 0
    dead_letters: int = 0
    staged_batches: int = 0
    retries: int = 0
    acked: int = 0

    def minus(self, earlier: IngestFigures) -> IngestFigures:
        """The figures accumulated since ``earlier``."""
        return IngestFigures(*(
            getattr(self, f.name) - getattr(earlier, f.name)
            for f in dataclasses.fields(self)
        ))


class IngestStats:
    """Thread-safe counters: the writer adds, anyone reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._figures = IngestFigures()
        self._last = IngestFigures()
        self._last_at = time.monotonic()

    def record(self, result: WriteResult, acked: int) -> None:
        """Add one committed batch (possibly written message by message)."""
        with self._lock:
            f = self._figures
            self._figures = dataclasses.replace(
                f,
                batches=f.batches + 1,
                messages=f.messages + result.messages,
                events_written=f.events_written + result.events_written,
                duplicates=f.duplicates + result.duplicates,
                statuses=f.statuses + result.statuses,
                dead_letters=f.dead_letters + result.dead_letters,
                staged_batches=f.staged_batches + int(result.staged),
                acked=f.acked + acked,
            )

    def record_retry(self) -> None:
        with self._lock:
            self._figures = dataclasses.replace(self._figures, retries=self._figures.retries + 1)

    def snapshot(self) -> IngestFigures:
        with self._lock:
            return self._figures

    def summary(self, every_s: float, *, force: bool = False) -> str | None:
        """A one-line summary of the last period, once ``every_s`` has passed (or ``force``)."""
        now = time.monotonic()
        with self._lock:
            elapsed = now - self._last_at
            if elapsed < every_s and not force:
                return None
            delta = self._figures.minus(self._last)
            self._last, self._last_at = self._figures, now
        if delta.messages == 0 and delta.retries == 0 and not force:
            return None
        rate = delta.events_written / elapsed if elapsed > 0 else 0.0
        return (f"last {elapsed:.0f}s: {delta.events_written} events written ({rate:.0f}/s), "
                f"{delta.duplicates} duplicates skipped, {delta.dead_letters} dead letters, "
                f"{delta.statuses} status reports, {delta.batches} batches "
                f"({delta.staged_batches} deduplicated via staging), {delta.retries} retries")
