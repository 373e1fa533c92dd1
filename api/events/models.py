"""Pydantic models of the events domain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from api.pagination import PageQuery
from linli.contract import Direction, EventKind


class EventRead(BaseModel):
    """One stored event, with the names of its device and person when known."""

    event_id: uuid.UUID
    occurred_at: dt.datetime
    received_at: dt.datetime
    community: str
    building: str
    device: str
    device_name: str | None = None
    kind: str
    direction: str | None = None
    person_id: str | None = None
    person_name: str | None = None
    credential: str | None = None
    count: int
    confidence: float
    source: str
    attrs: dict[str, Any] = Field(default_factory=dict)


class EventQuery(PageQuery):
    """Filters of ``GET /api/v1/events``; times are RFC 3339 with an offset."""

    community: str | None = None
    building: str | None = None
    device: str | None = None
    person_id: str | None = None
    kind: EventKind | None = None
    direction: Direction | None = None
    since: AwareDatetime | None = Field(None, description="occurred at or after (inclusive)")
    until: AwareDatetime | None = Field(None, description="occurred before (exclusive)")


def event_cursor_key(event: EventRead) -> tuple[str, str]:
    """The sort key a cursor carries: (occurred_at, event_id)."""
    return event.occurred_at.isoformat(), str(event.event_id)
