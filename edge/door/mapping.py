"""A door-controller record (format 1) → a contract ``Event``.

Pure functions, no I/O: kinds and their aliases, the reader → direction map, times
without an offset read in the source's time zone, and every field we do not know kept in
``attrs``. A record that cannot become a valid event raises ``BadLine`` with the reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from edge.config import LogSource
from edge.door.records import BadLine
from linli.contract import Event, EventKind, Source, describe_validation_error, new_event_id

EVENT_ALIASES: Mapping[str, EventKind] = {
    "granted": EventKind.PASSAGE,
    "denied": EventKind.ACCESS_DENIED,
    "forced": EventKind.DOOR_FORCED,
    "held_open": EventKind.DOOR_HELD_OPEN,
    "opened": EventKind.DOOR_OPENED,
    "closed": EventKind.DOOR_CLOSED,
    "button": EventKind.EXIT_BUTTON,
}


def map_record(record: Mapping[str, Any], source: LogSource, *, community: str,
               building: str, event_id: uuid.UUID | None = None) -> Event:
    """Build the event for ``record`` read from ``source``; BadLine says why it cannot be."""
    fields = _renamed(record, source.fields)
    occurred_at = parse_time(fields.pop("time", None), source.zone)
    kind = parse_kind(fields.pop("event", None))
    device = _text(fields.pop("device", None), "device") or source.device
    person = _text(fields.pop("person", None), "person")
    direction = _lower(_text(fields.pop("direction", None), "direction"))
    credential = _lower(_text(fields.pop("credential", None), "credential"))
    reader = fields.pop("reader", None)
    if reader is not None and reader != "":
        fields["reader"] = reader
        if direction is None:
            mapped = source.readers.get(str(reader))
            direction = mapped.value if mapped is not None else None
    values = {
        "event_id": event_id or new_event_id(),
        "occurred_at": occurred_at,
        "community": community,
        "building": building,
        "device": device,
        "kind": kind,
        "direction": direction,
        "person_id": person,
        "credential": credential,
        "count": 1,
        "confidence": 1.0,
        "source": Source.DOOR,
        "attrs": fields,
    }
    try:
        return Event.model_validate(values)
    except ValidationError as exc:
        raise BadLine(f"breaks the event contract: {describe_validation_error(exc)}") from exc


def parse_time(value: Any, zone: ZoneInfo) -> dt.datetime:
    """An RFC 3339 time; one written without an offset is in ``zone``."""
    if value is None or value == "":
        raise BadLine("no time")
    if not isinstance(value, str) or len(value) <= len("2026-01-01"):
        raise BadLine(f"bad time {value!r}: expected RFC 3339 date and time")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadLine(f"bad time {value!r}: {exc}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def parse_kind(value: Any) -> EventKind:
    """Our kind names and the controllers' aliases (granted → passage …)."""
    if value is None or value == "":
        raise BadLine("no event")
    name = str(value).strip().lower()
    if name in EventKind._value2member_map_:
        return EventKind(name)
    if name in EVENT_ALIASES:
        return EVENT_ALIASES[name]
    raise BadLine(f"unknown event {value!r}")


def _renamed(record: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    fields = dict(record)
    for ours, theirs in renames.items():
        if theirs in fields:
            fields[ours] = fields.pop(theirs)
    return fields


def _text(value: Any, what: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadLine(f"{what} must be text, not {type(value).__name__}")


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None

