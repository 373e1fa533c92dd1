"""One door-controller log source: tail → records → events → spool, in its own thread.

Each step reads a batch of complete lines, maps them, keeps the bad ones aside, and
stores the events together with the new tail position in one spool transaction; only then
does the tail move on. A failing step (disk full, a bug) is logged and retried with
backoff on the same lines: the thread never dies and never skips a line.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from edge.config import LogSource
from edge.door.mapping import map_record
from edge.door.records import BadLine, RecordReader
from edge.door.tail import Batch, LogTail
from edge.rejects import RejectedLine
from edge.sources import SPOOL_FULL_RETRY_S, SourceContext
from edge.spool import SpoolFull
from linli.contract import MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
MAX_SHRUNK_LINES = 1 << 16
"""A batch limit grown back to this many lines is lifted (a batch is a MiB at most)."""


class DoorSource:
    """Follows one controller log and spools its events."""

    def __init__(self, source: LogSource, context: SourceContext) -> None:
        self.source = source
        self.key = str(source.path)
        self._community = context.community
        self._building = context.building
        self._spool = context.spool
        self._rejects = context.rejects
        self._poll = context.settings.poll_interval_s
        self._on_spooled = context.on_spooled
        self._tail = LogTail(source.path, context.spool.cursor(self.key))
        self._reader = RecordReader(source.format)
        self.lines = 0
        self.events = 0
        self.rejected = 0
        self._stopped = False
        self._max_lines: int | None = None  # set while the spool is (nearly) full
        self._rejects_upto: tuple[tuple[int, int], int] | None = None

    @property
    def device(self) -> str:
        """The source's default device (records may name others)."""
        return self.source.device

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set."""
        backoff = self._poll
        try:
            while not stop.is_set():
                try:
                    if self.step():
                        backoff = self._poll
                        continue  # there may be more right away
                    stop.wait(self._poll)
                except SpoolFull as exc:
                    # the lines are read again once there is room: the cursor did not move
                    log.warning("source %s (%s): %s; waiting", self.source.device, self.key, exc)
                    stop.wait(SPOOL_FULL_RETRY_S)
                except Exception:
                    log.exception("source %s (%s): step failed; retrying in %.1fs",
                                  self.source.device, self.key, backoff)
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            self._stopped = True
            self._tail.close()

    def step(self) -> bool:
        """Spool the next batch of lines; False when there was nothing new.

        A full spool may still hold fewer lines than a whole batch (up to a MiB of log):
        the batch is halved, down to one line, before ``SpoolFull`` makes the source wait,
        so a spool that is nearly full fills up rather than waiting for more room than it
        needs; once batches fit again they grow back."""
        while True:
            batch = self._tail.read(self._max_lines)
            if batch is None:
                return False
            messages, rejected = self._convert(batch)
            self._write_rejects(batch, rejected)
            try:
                self._spool.append(self.key, messages, batch.cursor, rejected=len(rejected),
                                   last_reject=rejected[-1].reason if rejected else None)
            except SpoolFull:
                if len(batch.lines) <= 1:
                    raise
                self._max_lines = len(batch.lines) // 2
                continue
            if self._max_lines is not None:
                self._max_lines *= 2
                if self._max_lines >= MAX_SHRUNK_LINES:
                    self._max_lines = None
            break
        self._tail.commit(batch)
        self.lines += len(batch.lines)
        self.events += len(messages)
        self.rejected += len(rejected)
        if messages:
            self._on_spooled()
        return True

    def _write_rejects(self, batch: Batch, rejected: list[RejectedLine]) -> None:
        """Rejected lines to the rejects file, each once even when a batch that did not fit
        the spool is read again in smaller parts."""
        done = self._rejects_upto
        if done is not None and done[0] == batch.file_id:
            rejected = [r for r in rejected if r.line > done[1]]
        self._rejects.write(rejected)
        if rejected:
            self._rejects_upto = (batch.file_id, rejected[-1].line)

    def health(self) -> dict[str, Any]:
        """Free-form health for the agent's status message."""
        state = "stopped" if self._stopped else "ok" if self._tail.attached else "missing"
        return {"file": state, "lines": self.lines,
                "events": self.events, "rejected": self.rejected}

    def device_status(self) -> dict[str, Any] | None:
        """None: a log file is not a device that could say it is online."""
        return None

    def _convert(self, batch: Batch) -> tuple[list[tuple[str, bytes]], list[RejectedLine]]:
        messages: list[tuple[str, bytes]] = []
        rejected: list[RejectedLine] = []
        for line in batch.lines:
            try:
                record = self._reader.parse(line, batch.file_id, self._tail.first_line)
                if record is None:
                    continue
                event = map_record(record, self.source, community=self._community,
                                   building=self._building)
                payload = event.to_json()
                if len(payload) > MAX_PAYLOAD_BYTES:
                    raise BadLine(f"event is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
                messages.append((event.topic, payload))
            except BadLine as exc:
                rejected.append(RejectedLine(batch.file, line.number, line.raw, str(exc)))
        return messages, rejected


def make_source(config: LogSource, context: SourceContext) -> DoorSource:
    """The source factory for ``type: log``."""
    return DoorSource(config, context)
