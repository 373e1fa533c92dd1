"""Door-controller log files as a generic controller writes them: JSON lines, appended.

One file per door, ``{logs_dir}/{device}.jsonl``. Each line is flushed as it is written
(the edge agent tails these files) and carries a per-device, increasing ``seq``. A restarted
simulator resumes after the last line already in a file instead of writing it again, so the
edge never sees the same passage twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

from hardware.simulator.routines import DoorRecord

if TYPE_CHECKING:
    from hardware.simulator.terminals import DoorTerminal

TAIL_BYTES = 65536


class DoorLogs:
    """Appends records to per-device log files; use as a context manager.

    Doors in ``terminals`` have no file: their records go to the simulated vendor terminal,
    sent on its streams too when ``live`` (else only kept in its log, as history)."""

    def __init__(self, logs_dir: Path, devices: Iterable[str],
                 terminals: Mapping[str, DoorTerminal] | None = None, *,
                 live: bool = True) -> None:
        self.logs_dir = logs_dir
        self.terminals = dict(terminals or {})
        self.live = live
        self.devices = tuple(d for d in devices if d not in self.terminals)
        self.last_seq: dict[str, int] = {}
        self.last_time: dict[str, dt.datetime] = {}
        self._files: dict[str, IO[str]] = {}
        self.written = 0

    def path(self, device: str) -> Path:
        return self.logs_dir / f"{device}.jsonl"

    def open(self) -> DoorLogs:
        """Create the folder, read where each existing file ends, open them for appending."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        for device in self.devices:
            path = self.path(device)
            needs_newline = self._resume(device, path)
            handle = path.open("a", encoding="utf-8")
            if needs_newline:  # a line cut short by a crash must not swallow the next one
                handle.write("\n")
                handle.flush()
            self._files[device] = handle
        return self

    def _resume(self, device: str, path: Path) -> bool:
        if not path.exists() or path.stat().st_size == 0:
            return False
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
            tail = handle.read()
        for line in reversed(tail.splitlines()):
            try:
                record = json.loads(line)
                self.last_seq[device] = int(record["seq"])
                self.last_time[device] = dt.datetime.fromisoformat(record["time"])
                break
            except (ValueError, KeyError, TypeError):
                continue
        return not tail.endswith(b"\n")

    def is_new(self, record: DoorRecord) -> bool:
        """False for a record at or before the last one already in its device's file."""
        last = self.last_time.get(record.device)
        return last is None or record.time > last

    def write(self, record: DoorRecord) -> None:
        """Append one line and flush it, as a controller does."""
        terminal = self.terminals.get(record.device)
        if terminal is not None:
            terminal.record(record, live=self.live)
            self.last_time[record.device] = record.time
            self.written += 1
            return
        seq = self.last_seq.get(record.device, 0) + 1
        line = json.dumps({**record.fields(), "seq": seq}, ensure_ascii=False)
        handle = self._files[record.device]
        handle.write(line + "\n")
        handle.flush()
        self.last_seq[record.device] = seq
        self.last_time[record.device] = record.time
        self.written += 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def __enter__(self) -> DoorLogs:
        return self.open()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so that readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
