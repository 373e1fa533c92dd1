"""Lines of a generic door-controller log → records (format 1: JSON lines or CSV).

A record is a plain mapping of the log's own fields; ``mapping.map_record`` turns it into
an event. A line that cannot be a record raises ``BadLine`` with an operator-readable
reason; blank lines and CSV header rows carry no record and give None.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any, Literal

from edge.door.tail import Line

MAX_LINE_BYTES = 1 << 16
"""Longer lines are not controller records (the event payload limit is 8 KiB anyway)."""

Record = dict[str, Any]


class BadLine(Exception):
    """A log line that cannot become an event; the message is the reason kept aside."""


class RecordReader:
    """Parses one source's lines; for CSV it remembers each file's header row."""

    def __init__(self, fmt: Literal["jsonl", "csv"]) -> None:
        self.format = fmt
        self._header: list[str] | None = None
        self._header_file: tuple[int, int] | None = None

    def parse(self, line: Line, file_id: tuple[int, int],
              first_line: Callable[[], bytes | None]) -> Record | None:
        """The record on ``line`` of file ``file_id`` (device, inode), or None if it has none.

        ``first_line`` gives the file's first line, needed when a CSV file is resumed
        past its header.
        """
        text = _decode(line.raw, first=line.number == 1)
        if not text.strip():
            return None
        if self.format == "jsonl":
            return _json_record(text)
        if line.number == 1:
            self._header, self._header_file = _csv_row(text), file_id
            return None
        if self._header_file != file_id:
            self._load_header(file_id, first_line())
        assert self._header is not None
        return self._csv_record(_csv_row(text), self._header)

    def _load_header(self, file_id: tuple[int, int], raw: bytes | None) -> None:
        if raw is None:
            raise BadLine("the CSV file has no header row")
        self._header, self._header_file = _csv_row(_decode(raw, first=True)), file_id

    @staticmethod
    def _csv_record(row: list[str], header: list[str]) -> Record | None:
        if row == header:
            return None  # a writer that restarted and wrote its header again
        if len(row) != len(header):
            raise BadLine(f"expected {len(header)} CSV columns, got {len(row)}")
        return {name: _scalar(value) for name, value in zip(header, row, strict=True)
                if value != ""}


def _decode(raw: bytes, *, first: bool) -> str:
    if len(raw) > MAX_LINE_BYTES:
        raise BadLine(f"line is {len(raw)} bytes; at most {MAX_LINE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLine(f"not UTF-8 text (byte {exc.start})") from exc
    # some Windows tools start a file with a byte-order mark
    return text.removeprefix("\ufeff") if first else text


def _json_record(text: str) -> Record:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(value, dict):
        raise BadLine(f"not a JSON object but {type(value).__name__}")
    return value


def _csv_row(text: str) -> list[str]:
    try:
        return [cell.strip() for cell in next(csv.reader([text], strict=True))]
    except (csv.Error, StopIteration) as exc:
        raise BadLine(f"not a CSV row: {exc}") from exc


def _scalar(value: str) -> str | int:
    """CSV cells are text; canonical integers become numbers so CSV and JSON logs agree."""
    if value.isascii() and value.lstrip("-").isdigit() and str(int(value)) == value:
        return int(value)
    return value
