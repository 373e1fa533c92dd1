"""What a Dahua terminal sends, read into events: the ``eventManager`` stream's parts and
the ``recordFinder`` answers.

A stream part's body is ``Code=AccessControl;action=Pulse;index=0;data={...}`` — the
``data`` JSON often spread over several lines, sometimes absent, sometimes several events
in one part, one per line — or just ``Heartbeat``. A ``recordFinder`` answer is
``key=value`` lines: ``found=2``, ``records[0].RecNo=31``, ``records[0].CreateTime=...``.

Nothing here raises anything but ``BadPayload``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.vendors.payload import BadPayload, as_int, utf8

__all__ = ["DahuaEvent", "FinderPage", "body_complete", "read_body", "read_records"]

HEARTBEAT = "Heartbeat"
MAX_EVENTS_PER_PART = 100
_KEY = re.compile(r"\s*([A-Za-z][A-Za-z0-9]{0,31})=")
_RECORD_LINE = re.compile(r"^records\[(\d{1,6})\]\.([A-Za-z][A-Za-z0-9_.\[\]]{0,63})=(.*)$")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class DahuaEvent:
    """One event of the stream (or one record of a search, spelled as an event)."""

    code: str
    action: str
    index: int
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class FinderPage:
    """One ``recordFinder.cgi?action=find`` answer."""

    found: int
    records: list[dict[str, str]]


def read_body(body: bytes) -> list[DahuaEvent]:
    """The events of one stream part; empty for a heartbeat."""
    text = utf8(body, "event part").strip()
    if text == HEARTBEAT:
        return []
    if not text:
        raise BadPayload("empty event part")
    events: list[DahuaEvent] = []
    position = 0
    while position < len(text):
        event, position = _event_at(text, position)
        events.append(event)
        if len(events) > MAX_EVENTS_PER_PART:
            raise BadPayload(f"more than {MAX_EVENTS_PER_PART} events in one part")
        while position < len(text) and text[position] in " \t\r\n;":
            position += 1
    return events


def body_complete(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a part's body is whole: a heartbeat, or events whose data closed.

    An event without ``data`` cannot tell a cut ``Code=DoorSta`` from a whole one, so it
    waits for the next boundary.
    """
    if body == HEARTBEAT.encode():
        return True
    if not body.endswith(b"}"):
        return False
    try:
        read_body(body)
    except BadPayload:
        return False
    return True


def read_records(body: bytes) -> FinderPage:
    """A ``recordFinder`` answer: ``found=N`` and ``records[i].Field=value`` lines."""
    text = utf8(body, "recordFinder answer")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].lower() == "error":
        raise BadPayload(f"the device refused the search: {' '.join(lines[1:])[:200]}")
    found: int | None = None
    records: dict[int, dict[str, str]] = {}
    for line in lines:
        match = _RECORD_LINE.match(line)
        if match:
            records.setdefault(int(match.group(1)), {})[match.group(2)] = match.group(3).strip()
        elif line.startswith("found="):
            found = as_int(line.partition("=")[2], "found")
        elif "=" not in line:
            raise BadPayload(f"recordFinder answer line {line[:80]!r} is not key=value")
    if found is None:
        raise BadPayload("recordFinder answer without found=")
    return FinderPage(found, [records[i] for i in sorted(records)])


def _event_at(text: str, position: int) -> tuple[DahuaEvent, int]:
    fields: dict[str, str] = {}
    data: Any = {}
    while True:
        match = _KEY.match(text, position)
        if match is None:
            raise BadPayload(f"expected key=value at {text[position:position + 40]!r}")
        key, position = match.group(1).lower(), match.end()
        if key == "data":
            try:
                data, position = _DECODER.raw_decode(text, position)
            except RecursionError as exc:
                raise BadPayload("event data is nested too deeply") from exc
            except ValueError as exc:
                raise BadPayload(f"event data is not valid JSON: {exc}") from exc
            if not isinstance(data, dict):
                raise BadPayload("event data is not a JSON object")
            break
        ends = [at for at in (text.find(";", position), text.find("\n", position)) if at >= 0]
        end = min(ends) if ends else len(text)
        fields[key] = text[position:end].strip()
        position = end
        if position >= len(text) or text[position] == "\n":
            break
        position += 1
    code = fields.get("code")
    if not code:
        raise BadPayload("event without Code=")
    return DahuaEvent(code[:64], fields.get("action", "")[:32],
                      as_int(fields.get("index"), "index") or 0, data), position
