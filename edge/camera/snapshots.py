"""Optional stills of counted crossings, kept on the agent's disk, people pixelated.

No frame leaves the agent: a snapshot is a JPEG in the camera's snapshot folder, named
``{event_id}.jpg`` so that an event's ``attrs.snapshot`` finds it, and deleted after
``keep_days``. There is no face detector (no Haar cascades, nothing downloaded), so faces
are hidden through the tracker's person boxes: ``blur_region: person`` (the default)
pixelates each whole box with a margin — a motion-based box can be off, and clothing and
build identify people too, while the count stays checkable from the blobs and outlines;
``blur_region: head`` pixelates only the top of each box, enlarged upwards and sideways.
Pixelation (coarse blocks) rather than a Gaussian blur, which can be partly undone.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

log = logging.getLogger(__name__)

Image = np.ndarray
"""A BGR uint8 frame (height, width, 3)."""
Box = tuple[int, int, int, int]
"""x, y, width, height in image pixels."""

HEAD_SHARE = 0.35
"""Top share of a person's box taken as the head region."""
MARGIN = 0.15
"""Each box grows by this share of its size on every side before it is pixelated."""
BLOCKS_ACROSS = 6
"""A pixelated box is this many blocks wide: a face becomes two or three blocks."""
SNAPSHOT_NAME = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jpg$")
"""Only files named like our snapshots are ever deleted from the folder."""


def region(box: Box, kind: Literal["person", "head"], size: tuple[int, int]) -> Box | None:
    """The part of the image to pixelate for one person's ``box``, clipped to ``size``
    (width, height); None when nothing of it is inside the image."""
    x, y, w, h = box
    if kind == "head":
        h = max(1, round(h * HEAD_SHARE))
    dx, dy = round(w * MARGIN), round(h * MARGIN)
    left, top = max(0, x - dx), max(0, y - dy)
    right, bottom = min(size[0], x + w + dx), min(size[1], y + h + dy)
    if right <= left or bottom <= top:
        return None
    return left, top, right - left, bottom - top


def pixelate(image: Image, box: Box) -> None:
    """Replace ``box`` of ``image`` (in place) by coarse blocks of its mean colours."""
    x, y, w, h = box
    block = max(2, round(w / BLOCKS_ACROSS))
    small = cv2.resize(image[y:y + h, x:x + w],
                       (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA)
    image[y:y + h, x:x + w] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def blur_people(image: Image, boxes: Iterable[Box],
                kind: Literal["person", "head"] = "person") -> Image:
    """A copy of ``image`` with every person's ``kind`` region pixelated."""
    out = image.copy()
    size = (image.shape[1], image.shape[0])
    for box in boxes:
        area = region(box, kind, size)
        if area is not None:
            pixelate(out, area)
    return out


def write_snapshot(image: Image, folder: Path, name: str, quality: int = 80) -> Path:
    """Write ``image`` as ``folder/name`` (JPEG), atomically: a reader never sees half a file."""
    folder.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"could not encode snapshot {name}")
    path = folder / name
    partial = folder / f".{name}.part"
    partial.write_bytes(data.tobytes())
    os.replace(partial, path)
    return path


def prune_snapshots(folder: Path, keep_days: int, now: float | None = None) -> int:
    """Delete the snapshots in ``folder`` older than ``keep_days``; how many were deleted."""
    if not folder.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - dt.timedelta(days=keep_days).total_seconds()
    deleted = 0
    for path in folder.iterdir():
        if not SNAPSHOT_NAME.match(path.name):
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue  # deleted meanwhile
    if deleted:
        log.info("deleted %d snapshots older than %d days from %s", deleted, keep_days, folder)
    return deleted
