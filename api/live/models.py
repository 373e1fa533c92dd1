"""What a stream carries: the wire types of its ``alert``, ``device`` and ``health`` events."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

ALERT_CHANNEL = "linli_alert"
DEVICE_CHANNEL = "linli_device"
EVENTS_CHANNEL = "linli_events"
"""Ingest's note after each batch: its payload is the community whose events were stored."""


class AlertNote(BaseModel):
    """An alert raised or changed; ``change`` says how (raised, acknowledged, dispatched,
    resolved, archived, returned, reopened, escalated, updated)."""

    model_config = ConfigDict(frozen=True)

    id: int
    community: str
    grid: str | None = None
    building: str | None = None
    rule: str
    status: str
    severity: str
    tier: int
    assignee: str | None = None
    change: str


class DeviceNote(BaseModel):
    """A device seen, provisioned, changing state, or with events arriving."""

    model_config = ConfigDict(frozen=True)

    community: str
    building: str
    id: str
    kind: str
    state: str | None = None
    last_event_at: dt.datetime | None = None


class HealthNote(BaseModel):
    """The database and the broker as the ``/health`` checks see them."""

    model_config = ConfigDict(frozen=True)

    database: Literal["ok", "down"]
    broker: Literal["ok", "down", "unconfigured"]
    at: dt.datetime


class EventsNote(BaseModel):
    """Events of ``community`` were stored (one per ingest batch). Not sent on the general
    stream; it wakes the streams that follow one device ("test this device")."""

    model_config = ConfigDict(frozen=True)

    community: str


Note = AlertNote | DeviceNote | HealthNote | EventsNote

EVENT_NAMES: dict[type[BaseModel], str] = {
    AlertNote: "alert", DeviceNote: "device", HealthNote: "health", EventsNote: "events"}


def parse_notification(channel: str,
                       payload: str) -> AlertNote | DeviceNote | EventsNote | None:
    """The note a PostgreSQL notification carries; None for another channel."""
    if channel == EVENTS_CHANNEL:
        return EventsNote(community=payload)
    if channel == ALERT_CHANNEL:
        return AlertNote.model_validate_json(payload)
    if channel == DEVICE_CHANNEL:
        return DeviceNote.model_validate_json(payload)
    return None


def server_sent_event(note: Note) -> str:
    """``note`` as one Server-Sent Event (its JSON has no newline, so one ``data`` line)."""
    return f"event: {EVENT_NAMES[type(note)]}\ndata: {note.model_dump_json()}\n\n"
