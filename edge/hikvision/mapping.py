"""A Hikvision access record → a contract event (or an ignored code, or a reject).

Pure functions. The kind comes from ``major.minor`` (``codes.code_meaning``, with the
source's overrides); the person from ``employeeNoString``; the direction from the reader
(``cardReaderNo`` through the source's ``readers``), else from ``attendanceStatus`` where
the site uses it, else ``out`` for the exit button. The id is derived from the device's
``serialNo`` and the record's time (``records.record_key``), so the record read again —
replayed on connect, found by a catch-up search, pushed twice — is the same event.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError

from edge.hikvision.codes import code_meaning
from edge.hikvision.config import HikvisionSource
from edge.hikvision.parse import AcsRecord
from edge.rejects import RejectedLine
from edge.vendors.codes import CodeMeaning
from edge.vendors.payload import BadPayload, as_text, parse_device_time
from edge.vendors.records import TerminalRecord, record_key
from linli.contract import (
    Direction,
    Event,
    EventKind,
    Source,
    derived_event_id,
    describe_validation_error,
)

__all__ = ["map_record", "record_time"]

ATTENDANCE = {"checkin": Direction.IN, "checkout": Direction.OUT}
_UNSET = ("", "invalid", "undefined", "unknown")
PERSON_KINDS = (EventKind.PASSAGE, EventKind.ACCESS_DENIED, EventKind.EXIT_BUTTON)
"""Kinds that stand for a person at the door, and so may have a direction."""


def record_time(record: AcsRecord, source: HikvisionSource) -> dt.datetime:
    """The record's device time; BadPayload when it has none that parses."""
    return parse_device_time(record.time, source.zone, "dateTime")


def map_record(record: AcsRecord, source: HikvisionSource, *, community: str, building: str,
               where: str, drift_s: float | None = None,
               history: bool = False) -> TerminalRecord:
    """The terminal record for ``record``; BadPayload when it has no usable time."""
    at = record_time(record, source)
    person = _person(record.fields)
    if record.serial is not None:
        key = record_key(record.serial, at)
    else:  # no number: what the record says is all that can name it
        key = f"t{int(at.timestamp())}:{record.major}.{record.minor}:{person or ''}"
    record_id = derived_event_id(community, building, source.device, key)
    meaning = code_meaning(record.major, record.minor, source.codes, source.code_table)
    if meaning is None:
        return TerminalRecord(record_id, at, record.serial, history=history, rejected=_reject(
            record, where, f"unknown Hikvision event code {record.major}.{record.minor}"))
    if meaning.kind is None:
        return TerminalRecord(record_id, at, record.serial, history=history)
    values = {
        "event_id": record_id,
        "occurred_at": at,
        "community": community,
        "building": building,
        "device": source.device,
        "kind": meaning.kind,
        "direction": _direction(record.fields, meaning, source),
        "person_id": person,
        "credential": meaning.credential,
        "source": Source.DOOR,
        "confidence": 1.0,
        "attrs": _attrs(record, meaning, drift_s),
    }
    try:
        event = Event.model_validate(values)
    except ValidationError as exc:
        reason = f"breaks the event contract: {describe_validation_error(exc)}"
        return TerminalRecord(record_id, at, record.serial, history=history,
                              rejected=_reject(record, where, reason))
    return TerminalRecord(record_id, at, record.serial, event=event, history=history)


def _person(fields: Any) -> str | None:
    value = fields.get("employeeNoString")
    if value in (None, ""):
        value = fields.get("employeeNo")
    try:
        person = as_text(value, "employeeNoString")
    except BadPayload:
        return None
    return None if person is None or person in _UNSET or person == "0" else person


def _direction(fields: Any, meaning: CodeMeaning, source: HikvisionSource) -> Direction | None:
    if meaning.kind not in PERSON_KINDS:
        return None  # a door that opened says nothing about who went which way
    if meaning.kind is EventKind.EXIT_BUTTON:
        return Direction.OUT  # the button is inside; no reader is involved
    reader = _field_text(fields, "cardReaderNo")
    if reader is not None and reader in source.readers:
        return source.readers[reader]
    if source.attendance_direction:
        status = _field_text(fields, "attendanceStatus")
        if status is not None and status.lower() in ATTENDANCE:
            return ATTENDANCE[status.lower()]
    return None


def _attrs(record: AcsRecord, meaning: CodeMeaning, drift_s: float | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {"major": record.major, "minor": record.minor}
    if record.serial is not None:
        attrs["serial"] = record.serial
    for name, ours in (("doorNo", "door"), ("cardReaderNo", "reader"),
                       ("currentVerifyMode", "verify_mode"),
                       ("attendanceStatus", "attendance"), ("userType", "user_type")):
        value = _field_text(record.fields, name)
        if value is not None and value not in _UNSET:
            attrs[ours] = value[:64]
    return meaning.note(attrs, card=_field_text(record.fields, "cardNo"), drift_s=drift_s)


def _field_text(fields: Any, name: str) -> str | None:
    try:
        return as_text(fields.get(name), name)
    except BadPayload:
        return None


def _reject(record: AcsRecord, where: str, reason: str) -> RejectedLine:
    raw = json.dumps({"time": record.time, **record.fields}, ensure_ascii=False,
                     default=str)[:2048]
    return RejectedLine(where, record.serial or 0, raw.encode(), reason)
