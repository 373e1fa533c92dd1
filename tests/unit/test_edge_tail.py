"""The log follower: appends, partial lines, rotation, truncation and restarts."""

from __future__ import annotations

import os
from pathlib import Path

from edge.door.tail import Cursor, LogTail


def consume(tail: LogTail, rounds: int = 6) -> list[tuple[str, int, bytes]]:
    """Read and commit until nothing new comes for a few polls (rotation needs two)."""
    seen: list[tuple[str, int, bytes]] = []
    idle = 0
    while idle < rounds:
        batch = tail.read()
        if batch is None:
            idle += 1
            continue
        idle = 0
        seen.extend((batch.file, line.number, line.raw) for line in batch.lines)
        tail.commit(batch)
    return seen


def raws(seen: list[tuple[str, int, bytes]]) -> list[bytes]:
    return [raw for _, _, raw in seen]


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(text)


def test_appended_lines_are_read_once_with_their_numbers(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "a\nb\n")
    tail = LogTail(log)
    first = consume(tail)
    append(log, "c\r\nd\n")
    second = consume(tail)
    assert first == [(str(log), 1, b"a"), (str(log), 2, b"b")]
    assert second == [(str(log), 3, b"c"), (str(log), 4, b"d")]
    assert tail.cursor is not None and tail.cursor.offset == log.stat().st_size


def test_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "one\ntw")
    tail = LogTail(log)
    assert raws(consume(tail)) == [b"one"]
    append(log, "o\n")
    assert raws(consume(tail)) == [b"two"]


def test_missing_file_is_waited_for(tmp_path: Path) -> None:
    log = tmp_path / "later.jsonl"
    tail = LogTail(log)
    assert tail.read() is None and not tail.attached
    append(log, "x\n")
    assert raws(consume(tail)) == [b"x"]


def test_rotation_finishes_the_old_file_then_reads_the_new_from_the_start(
        tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "1\n2\n")
    tail = LogTail(log)
    assert raws(consume(tail)) == [b"1", b"2"]
    append(log, "3\n4")  # the writer's last words, unterminated, before rotation
    rotated = tmp_path / "door.jsonl.1"
    os.rename(log, rotated)
    append(log, "5\n6\n")
    seen = consume(tail)
    assert raws(seen) == [b"3", b"4", b"5", b"6"]
    assert [number for _, number, _ in seen] == [3, 4, 1, 2]
    assert tail.cursor is not None and tail.cursor.inode == log.stat().st_ino


def test_rename_without_new_file_keeps_reading_the_old_one(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "1\n")
    tail = LogTail(log)
    consume(tail)
    rotated = tmp_path / "door.jsonl.1"
    os.rename(log, rotated)
    append(rotated, "2\n")  # the writer has not reopened yet
    assert raws(consume(tail)) == [b"2"]
    append(log, "3\n")
    assert raws(consume(tail)) == [b"3"]


def test_truncation_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "first line\nsecond line\n")
    tail = LogTail(log)
    consume(tail)
    log.write_text("new\n", encoding="utf-8")  # truncate in place, same inode
    seen = consume(tail)
    assert seen == [(str(log), 1, b"new")]


def test_restart_from_a_saved_cursor_reads_only_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "1\n2\n")
    first = LogTail(log)
    consume(first)
    saved = first.cursor
    first.close()
    append(log, "3\n")
    second = LogTail(log, saved)
    assert consume(second) == [(str(log), 3, b"3")]


def test_restart_after_rotation_while_stopped_finishes_the_old_file(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "1\n")
    first = LogTail(log)
    consume(first)
    saved = first.cursor
    first.close()
    append(log, "2\n")  # written while the agent was down, then rotated away
    os.rename(log, tmp_path / "door.jsonl.1")
    append(log, "3\n")
    second = LogTail(log, saved)
    assert raws(consume(second)) == [b"2", b"3"]


def test_saved_cursor_beyond_the_end_means_truncated_while_stopped(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    append(log, "x\n")
    stat = log.stat()
    tail = LogTail(log, Cursor(stat.st_dev, stat.st_ino, 10_000, 500))
    assert consume(tail) == [(str(log), 1, b"x")]


def test_first_line_gives_the_header_of_the_file_being_read(tmp_path: Path) -> None:
    log = tmp_path / "door.csv"
    append(log, "time,event\r\nt1,e1\n")
    tail = LogTail(log)
    assert tail.first_line() is None
    consume(tail)
    assert tail.first_line() == b"time,event"
