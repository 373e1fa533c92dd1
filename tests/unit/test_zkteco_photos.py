"""Photos a PUSH terminal uploads (ATTPHOTO): read as firmware sends them, kept privately,
pruned after ``keep_days``."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from edge.zkteco.config import PhotoSettings
from edge.zkteco.photos import BadPhoto, PhotoStore, read_photo

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x01" * 64 + b"\xff\xd9"


def upload(name: str = "20261122080000-7.jpg", jpeg: bytes = JPEG, size: int | None = None,
           ) -> bytes:
    head = f"PIN={name}\nSN=CKJ001\nsize={len(jpeg) if size is None else size}\n"
    return (head + "CMD=uploadphoto\x00").encode() + jpeg


def test_a_photo_is_read_as_terminals_send_it() -> None:
    photo = read_photo(upload() + b"trailing bytes beyond size")
    assert (photo.name, photo.jpeg) == ("20261122080000-7.jpg", JPEG)


@pytest.mark.parametrize(("body", "reason"), [
    (b"PIN=20261122080000-7.jpg\nsize=3", "no NUL"),
    (upload(name="../../etc/passwd"), "not <time>-<pin>.jpg"),
    (upload(name="20261122080000-7.jpg/x"), "not <time>-<pin>.jpg"),
    (upload(jpeg=b"GIF89a"), "not a JPEG"),
])
def test_what_is_not_a_photo_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(BadPhoto, match=reason):
        read_photo(body)


def test_photos_are_private_and_pruned(tmp_path: Path) -> None:
    store = PhotoStore(PhotoSettings(enabled=True, dir=tmp_path, keep_days=1), "b01-u1-door")
    kept = store.keep(read_photo(upload()))
    assert kept == tmp_path / "b01-u1-door" / "20261122080000-7.jpg"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    old = store.keep(read_photo(upload(name="20261120080000-8.jpg")))
    two_days = time.time() - 2 * 86400
    os.utime(old, (two_days, two_days))
    assert store.prune() == 0  # at most once an hour
    assert store.prune(now=time.time() + 3601) == 1
    assert sorted(p.name for p in kept.parent.iterdir()) == [kept.name]
