"""Follow a log file like ``tail -F``, one batch of complete lines at a time.

``LogTail.read()`` returns the complete lines after the committed position and the cursor
to resume from once they are stored; ``commit(batch)`` moves the position there. Reading
and committing are separate so that the caller can store the lines and the new cursor in
one transaction: if it dies in between, the same lines are read again, never skipped.

What it survives:
- rotation (rename + new file): the old file is finished to its end first, then the new
  one is read from its first byte. The switch waits until the old file has stopped growing
  for one poll, because writers often append a little more before they reopen;
- truncation (``copytruncate`` or ``> file``): a size below the position restarts at 0;
- a partial last line: it waits for its newline (a rotated file's unterminated last line
  is handed on as it is, since nothing will ever complete it);
- restarts: the cursor holds the file's device and inode, so a file rotated while the
  agent was down is found next to the path by its inode and finished first.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
"""Most bytes read per batch; a line longer than this is handed on cut (and rejected)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in one particular file: its identity, byte offset and lines consumed."""

    device: int
    inode: int
    offset: int
    line: int

    def same_file(self, stat: os.stat_result) -> bool:
        """Whether ``stat`` describes the file this cursor points into."""
        return (self.device, self.inode) == (stat.st_dev, stat.st_ino)


@dataclass(frozen=True, slots=True)
class Line:
    """One complete line, without its line ending; ``number`` counts from 1 in its file."""

    number: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class Batch:
    """Lines read from ``file`` and where to resume once they are stored."""

    file: str
    file_id: tuple[int, int]
    """(device, inode) of the file the lines come from."""
    lines: list[Line]
    cursor: Cursor
    rotated: bool = False
    """True when this batch finishes a rotated file; ``cursor`` is then in the new one."""


def _start_of(stat: os.stat_result) -> Cursor:
    return Cursor(stat.st_dev, stat.st_ino, 0, 0)


class LogTail:
    """Follows one path across rotations and truncations; not thread-safe (one per source)."""

    def __init__(self, path: Path, cursor: Cursor | None = None, *,
                 chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self._chunk = chunk_bytes
        self._saved = cursor
        self._cursor = cursor
        self._fd: int | None = None
        self._name = str(path)
        self._next: tuple[int, os.stat_result] | None = None
        self._drain_size: int | None = None
        self._missing_logged = False

    @property
    def cursor(self) -> Cursor | None:
        """The committed position (None before the file was first seen)."""
        return self._cursor

    @property
    def attached(self) -> bool:
        """Whether a file is open (False while the path does not exist yet)."""
        return self._fd is not None

    def read(self, max_lines: int | None = None) -> Batch | None:
        """The next complete lines (at most ``max_lines``), or None when there is nothing
        new yet."""
        if self._fd is None and not self._attach():
            return None
        assert self._fd is not None and self._cursor is not None
        current = os.fstat(self._fd)
        cursor = self._cursor
        if current.st_size < cursor.offset:
            log.warning("%s was truncated (%d < %d bytes): reading it again from the start",
                        self._name, current.st_size, cursor.offset)
            cursor = self._cursor = _start_of(current)
        # look for a new file before the final read, so nothing written to the old one
        # before the new one appeared can be missed
        successor = self._successor(current)
        data = os.pread(self._fd, self._chunk, cursor.offset)
        if max_lines is not None:
            data = _first_lines(data, max_lines)
        end = data.rfind(b"\n")
        if end >= 0:
            return self._batch(data[: end + 1], cursor)
        if len(data) >= self._chunk:
            return self._batch(data, cursor)
        if successor is None:
            return None
        if self._drain_size != current.st_size:
            self._drain_size = current.st_size
            return None
        log.info("%s was rotated: finished the old file at line %d", self._name,
                 cursor.line + (1 if data else 0))
        finished = self._batch(data, cursor)
        return Batch(finished.file, finished.file_id, finished.lines, _start_of(successor[1]),
                     rotated=True)

    def commit(self, batch: Batch) -> None:
        """Move the position past ``batch`` (call once its lines are safely stored)."""
        if batch.rotated and self._next is not None:
            if self._fd is not None:
                os.close(self._fd)
            self._fd, _ = self._next
            self._next = None
            self._drain_size = None
            self._name = str(self.path)
        self._cursor = batch.cursor

    def first_line(self) -> bytes | None:
        """The first line of the file being read (a CSV header), if it is complete."""
        if self._fd is None:
            return None
        head = os.pread(self._fd, 1 << 16, 0)
        end = head.find(b"\n")
        return head[:end].rstrip(b"\r") if end >= 0 else None

    def close(self) -> None:
        """Close the open files; the committed cursor stays valid for a new tail."""
        for fd in (self._fd, self._next[0] if self._next else None):
            if fd is not None:
                os.close(fd)
        self._fd = None
        self._next = None

    def _batch(self, data: bytes, cursor: Cursor) -> Batch:
        parts = data.split(b"\n") if data else []
        if data.endswith(b"\n"):
            parts.pop()
        lines = [Line(cursor.line + i + 1, raw.rstrip(b"\r")) for i, raw in enumerate(parts)]
        after = Cursor(cursor.device, cursor.inode, cursor.offset + len(data),
                       cursor.line + len(parts))
        return Batch(self._name, (cursor.device, cursor.inode), lines, after)

    def _attach(self) -> bool:
        """Open the file to read: the saved one (even if rotated away) or the path."""
        saved = self._saved
        if saved is not None:
            for candidate in self._candidates():
                opened = _open(candidate)
                if opened is None:
                    continue
                fd, stat = opened
                if saved.same_file(stat):
                    self._fd, self._name, self._cursor = fd, str(candidate), saved
                    self._saved = None
                    if candidate != self.path:
                        log.info("%s was rotated while stopped: finishing %s first",
                                 self.path, candidate)
                    return True
                os.close(fd)
        opened = _open(self.path)
        if opened is None:
            if not self._missing_logged:
                log.warning("%s cannot be opened (missing or unreadable): waiting for it",
                            self.path)
                self._missing_logged = True
            return False
        fd, stat = opened
        if saved is not None:
            log.warning("%s: the file of the saved position is gone; reading %s from the start",
                        self.path, self.path)
        self._fd, self._name, self._cursor = fd, str(self.path), _start_of(stat)
        self._saved = None
        self._missing_logged = False
        log.info("following %s", self.path)
        return True

    def _candidates(self) -> list[Path]:
        """The path and its likely rotated names (``x.log.1``, ``x.log-2026…``, ``x.1.log``)."""
        try:
            siblings = sorted(p for p in self.path.parent.iterdir()
                              if p.name.startswith(self.path.stem) and p != self.path)
        except OSError:
            siblings = []
        return [self.path, *siblings]

    def _successor(self, current: os.stat_result) -> tuple[int, os.stat_result] | None:
        """The new file at our path when ours was rotated away, else None."""
        try:
            at_path = os.stat(self.path)
        except FileNotFoundError:
            return None  # renamed and not yet recreated: keep finishing the old one
        if (at_path.st_dev, at_path.st_ino) == (current.st_dev, current.st_ino):
            return None
        if self._next is not None:
            if (self._next[1].st_dev, self._next[1].st_ino) == (at_path.st_dev, at_path.st_ino):
                return self._next
            os.close(self._next[0])
        self._next = _open(self.path)
        return self._next


def _open(path: Path) -> tuple[int, os.stat_result] | None:
    """Open ``path`` for reading with its identity, or None (the caller says why, once)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        log.debug("cannot open %s: %s", path, exc)
        return None
    return fd, os.fstat(fd)


def _first_lines(data: bytes, count: int) -> bytes:
    """``data`` up to the end of its ``count``-th line (all of it when it has fewer)."""
    end = -1
    for _ in range(max(1, count)):
        found = data.find(b"\n", end + 1)
        if found < 0:
            return data
        end = found
    return data[:end + 1]
