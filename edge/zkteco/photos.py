"""The photos a PUSH terminal uploads with its punches (``table=ATTPHOTO``), kept on the
agent's disk when the site enabled snapshots.

An upload is a few text lines, a NUL, then the JPEG::

    PIN=20261122080000-1.jpg \\n SN=CKJ001 \\n size=9512 \\n CMD=uploadphoto \\0 <JPEG bytes>

A photo is a picture of a resident: it never leaves the agent, its bytes are never logged,
the folder and the files are readable by the agent's user only, and they are deleted after
``keep_days``. What is logged and counted is only how many were kept or refused.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from edge.zkteco.config import PhotoSettings

__all__ = ["BadPhoto", "Photo", "PhotoStore", "read_photo"]

_NAME = re.compile(r"^[0-9]{14}-[A-Za-z0-9_.-]{1,24}\.jpg$")
MAX_HEADER_BYTES = 512
JPEG_START = b"\xff\xd8"
PRUNE_EVERY_S = 3600.0


class BadPhoto(Exception):
    """The upload is not a photo as terminals send them."""


@dataclass(frozen=True)
class Photo:
    """One uploaded photo: the terminal's file name and the JPEG."""

    name: str
    jpeg: bytes


def read_photo(body: bytes) -> Photo:
    """The photo of an ``ATTPHOTO`` upload; BadPhoto when it is not one."""
    header, nul, jpeg = body[:MAX_HEADER_BYTES].partition(b"\x00")
    if not nul:
        raise BadPhoto("no NUL after the photo's header lines")
    jpeg = body[len(header) + 1:]
    fields: dict[str, str] = {}
    for line in header.decode("ascii", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip().upper()] = value.strip()
    name = fields.get("PIN", "")
    if not _NAME.match(name):
        raise BadPhoto("photo name is not <time>-<pin>.jpg")
    size = fields.get("SIZE", "")
    if size.isdigit() and int(size) <= len(jpeg):
        jpeg = jpeg[:int(size)]
    if not jpeg.startswith(JPEG_START):
        raise BadPhoto("photo is not a JPEG")
    return Photo(name, jpeg)


class PhotoStore:
    """One terminal's photo folder (created private on first use)."""

    def __init__(self, settings: PhotoSettings, device: str) -> None:
        self.settings = settings
        self.folder = settings.dir / device
        self._pruned = float("-inf")

    def keep(self, photo: Photo) -> Path:
        """Write ``photo`` (an upload sent again overwrites itself) and prune old ones."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)
        path = self.folder / photo.name
        temporary = path.with_suffix(".part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(photo.jpeg)
        os.replace(temporary, path)
        self.prune()
        return path

    def prune(self, *, now: float | None = None) -> int:
        """Delete photos older than ``keep_days`` (at most once an hour); how many went."""
        now = time.time() if now is None else now
        if now - self._pruned < PRUNE_EVERY_S:
            return 0
        self._pruned = now
        cutoff = now - self.settings.keep_days * 86400
        gone = 0
        for path in self.folder.glob("*.jpg"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:
                continue
        return gone
