"""A Dahua event (or ``AccessControlCardRec`` record) → a contract event.

Pure functions. ``AccessControl`` events and card records carry ``RecNo`` (the device's
record number: with the time it makes the id, ``records.record_key``), ``UserID``,
``Method`` (the credential), ``Status`` (1 granted, 0 denied), ``Type`` (``Entry`` /
``Exit``: the direction; the ``readers`` map is the fallback), ``ReaderID`` and ``Door``.
Times come as ``UTC`` (stream) or ``CreateTime`` (records), seconds since the epoch, or
``LocaleTime``; an event with none (``_DoorFace_``) takes the source's ``time_from``.
Card numbers come as ``CardNo`` (AccessControl) or ``Number`` (DoorCard).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from edge.dahua.codes import DEFAULT_CODES, METHODS
from edge.dahua.config import DahuaSource
from edge.dahua.parse import DahuaEvent
from edge.rejects import RejectedLine
from edge.vendors.codes import CodeMeaning, resolve
from edge.vendors.payload import BadPayload, as_int, as_text, epoch_time, parse_device_time
from edge.vendors.records import TerminalRecord, record_key
from linli.contract import (
    Credential,
    Direction,
    Event,
    EventKind,
    Source,
    derived_event_id,
    describe_validation_error,
)

__all__ = ["code_key", "event_time", "map_event", "record_as_event"]

TYPES = {"entry": Direction.IN, "exit": Direction.OUT}
PERSON_KINDS = (EventKind.PASSAGE, EventKind.ACCESS_DENIED, EventKind.EXIT_BUTTON)
"""Kinds that stand for a person at the door, and so may have a direction."""
ENDING_ACTIONS = ("Stop",)
"""An alarm's end (``action=Stop``) is not a second alarm."""


def record_as_event(record: Mapping[str, str]) -> DahuaEvent:
    """An ``AccessControlCardRec`` search record spelled as the stream's event."""
    data: dict[str, Any] = dict(record)
    if "CreateTime" in data and "UTC" not in data:
        data["UTC"] = data["CreateTime"]
    return DahuaEvent("AccessControl", "Pulse", as_int(record.get("Door"), "Door") or 0, data)


def event_time(event: DahuaEvent, source: DahuaSource, received_at: dt.datetime,
               device_clock: dt.datetime | None = None) -> tuple[dt.datetime, str | None]:
    """The time of ``event`` and where it came from: None when it is the event's own,
    else ``agent`` (the receive time) or ``device_clock`` (the receive time on the device's
    measured clock), as the source's ``time_from`` chooses."""
    data = event.data
    if data.get("UTC") not in (None, ""):
        return epoch_time(data.get("UTC"), "UTC"), None
    if data.get("LocaleTime") not in (None, ""):
        local = str(data.get("LocaleTime")).replace(" ", "T", 1)
        return parse_device_time(local, source.zone, "LocaleTime"), None
    if source.time_from == "device_clock" and device_clock is not None:
        return device_clock, "device_clock"
    return received_at, "agent"


def code_key(event: DahuaEvent) -> str:
    """The key of ``event`` in the code table (``AccessControl.granted``, ``BreakIn`` …)."""
    if event.code == "AccessControl":
        method = as_int(event.data.get("Method"), "Method")
        if method == 4:
            return "AccessControl.remote"
        if method == 5:
            return "AccessControl.button"
        return "AccessControl." + ("granted" if _granted(event.data) else "denied")
    if event.code == "DoorStatus":
        status = as_text(event.data.get("Status"), "Status") or event.action
        return f"DoorStatus.{status.capitalize()}"
    return event.code


def map_event(event: DahuaEvent, source: DahuaSource, *, community: str, building: str,
              where: str, received_at: dt.datetime,
              drift_s: float | None = None,
              device_clock: dt.datetime | None = None) -> TerminalRecord:
    """The terminal record for ``event``; BadPayload when it cannot be read at all."""
    at, time_source = event_time(event, source, received_at, device_clock)
    device_time = time_source is None
    number = as_int(event.data.get("RecNo"), "RecNo")
    person = _person(event.data)
    if number is not None:
        key = record_key(number, at) if device_time else f"rec{number}"
    else:
        key = (f"{event.code}:{event.action}:{event.index}:{int(at.timestamp())}:"
               f"{_text(event.data, 'Status') or ''}:{person or ''}")
    record_id = derived_event_id(community, building, source.device, key)
    code = code_key(event)
    meaning = resolve(code, DEFAULT_CODES, source.codes)
    if meaning is None:
        return TerminalRecord(record_id, at, number, rejected=_reject(
            event, where, f"unknown Dahua event {code}"))
    if meaning.kind is None or event.action in ENDING_ACTIONS:
        return TerminalRecord(record_id, at, number)
    values = {
        "event_id": record_id, "occurred_at": at, "community": community,
        "building": building, "device": source.device, "kind": meaning.kind,
        "direction": _direction(event.data, meaning, source), "person_id": person,
        "credential": _credential(event.data, meaning, source), "source": Source.DOOR,
        "confidence": 1.0, "attrs": _attrs(event, code, meaning, time_source, drift_s),
    }
    try:
        return TerminalRecord(record_id, at, number, event=Event.model_validate(values))
    except ValidationError as exc:
        return TerminalRecord(record_id, at, number, rejected=_reject(
            event, where, f"breaks the event contract: {describe_validation_error(exc)}"))


def _granted(data: Mapping[str, Any]) -> bool:
    status = data.get("Status")
    if isinstance(status, str):
        status = status.strip().lower()
    if status in (1, True, "1", "open", "true"):
        return True
    if status in (0, False, "0", "close", "false"):
        return False
    if status in (None, ""):  # no verdict: an error code is the only hint
        return not as_int(data.get("ErrorCode"), "ErrorCode")
    raise BadPayload(f"AccessControl Status {str(status)[:20]!r} is neither 1 nor 0")


def _person(data: Mapping[str, Any]) -> str | None:
    person = _text(data, "UserID")
    return None if person in (None, "0", "-1") else person


def _direction(data: Mapping[str, Any], meaning: CodeMeaning,
               source: DahuaSource) -> Direction | None:
    if meaning.kind not in PERSON_KINDS:
        return None  # a door that opened says nothing about who went which way
    kind = (_text(data, "Type") or "").lower()
    if kind in TYPES:
        return TYPES[kind]
    if meaning.kind is EventKind.EXIT_BUTTON:
        return Direction.OUT  # the button is inside; no reader is involved
    reader = _text(data, "ReaderID") or _text(data, "readID")
    return source.readers.get(reader) if reader is not None else None


def _credential(data: Mapping[str, Any], meaning: CodeMeaning,
                source: DahuaSource) -> Credential | None:
    if meaning.credential is not None:
        return meaning.credential
    method = as_int(data.get("Method"), "Method")
    if method is None:
        return None
    return source.methods.get(str(method)) or METHODS.get(method)


def _attrs(event: DahuaEvent, code: str, meaning: CodeMeaning, time_source: str | None,
           drift_s: float | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {"code": code}
    for name, ours in (("RecNo", "rec_no"), ("Method", "method"), ("ReaderID", "reader"),
                       ("readID", "reader"), ("Door", "door"), ("ErrorCode", "error_code"),
                       ("Type", "type"), ("OpenDoorMethod", "open_door_method"),
                       ("Similarity", "similarity")):
        value = _text(event.data, name)
        if value is not None:
            attrs[ours] = value[:64]
    if event.code != "AccessControl":
        attrs["index"] = event.index
    if time_source is not None:
        attrs["time_source"] = time_source
    card = _text(event.data, "CardNo") or _text(event.data, "Number")
    return meaning.note(attrs, card=card, drift_s=drift_s)


def _text(data: Mapping[str, Any], name: str) -> str | None:
    try:
        return as_text(data.get(name), name)
    except BadPayload:
        return None


def _reject(event: DahuaEvent, where: str, reason: str) -> RejectedLine:
    raw = json.dumps({"Code": event.code, "action": event.action, "index": event.index,
                      "data": dict(event.data)}, ensure_ascii=False, default=str)[:2048]
    number = as_int(event.data.get("RecNo"), "RecNo") if event.data.get("RecNo") else 0
    return RejectedLine(where, number or 0, raw.encode(), reason)
