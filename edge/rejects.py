"""Lines that could not become events, kept aside where an operator can see them.

One JSON object per line in ``rejects-{community}-{building}-{agent_id}.jsonl`` next to
the spool: ``{"at", "file", "line", "raw", "reason"}``. Entries are written (and synced)
before the batch they belong to is committed to the spool, so a crash in between can
repeat an entry but never lose one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from linli.contract import utc_now

log = logging.getLogger(__name__)

MAX_RAW_CHARS = 4096
"""Longer raw lines are cut in the rejects file; the reason says what was wrong."""
LOGGED_PER_BATCH = 10
"""Rejected lines logged one by one per batch; the rest are summed up in one line."""


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A log line that was kept aside, and why."""

    file: str
    line: int
    raw: bytes
    reason: str

    def to_json(self) -> str:
        """The rejects-file entry: ``{"at", "file", "line", "raw", "reason"}``."""
        raw = self.raw.decode("utf-8", errors="replace")[:MAX_RAW_CHARS]
        return json.dumps({"at": utc_now().isoformat(), "file": self.file, "line": self.line,
                           "raw": raw, "reason": self.reason}, ensure_ascii=False)


class RejectsFile:
    """Appends rejected lines; shared by the agent's sources (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, rejected: Sequence[RejectedLine]) -> None:
        """Append ``rejected`` durably and log them (the first few in full)."""
        if not rejected:
            return
        text = "".join(entry.to_json() + "\n" for entry in rejected)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
        for entry in rejected[:LOGGED_PER_BATCH]:
            log.warning("%s:%d rejected: %s: %.200r", entry.file, entry.line, entry.reason,
                        entry.raw)
        if len(rejected) > LOGGED_PER_BATCH:
            log.warning("%d more lines rejected in this batch; see %s",
                        len(rejected) - LOGGED_PER_BATCH, self.path)
