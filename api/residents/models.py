"""Pydantic models of the residents domain.

Phone numbers and emergency contacts stay out: the API has no per-person access control
yet, and the control room does not need them to follow an alert.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from api.alerts.models import AlertRead
from api.events.models import EventRead
from api.pagination import Page, PageQuery


class ResidentRead(BaseModel):
    """A resident, where they live, and why they are watched."""

    community: str
    id: str
    name: str
    household: str | None = None
    building: str | None = None
    building_name: str | None = None
    unit: str | None = None
    unit_name: str | None = None
    room: str | None = None
    is_elderly: bool
    lives_alone: bool
    care_level: int
    active: bool


class PresenceRead(BaseModel):
    """When and where the resident was last seen."""

    last_seen_at: dt.datetime
    building: str
    device: str
    device_name: str | None = None
    direction: str | None = None


class ResidentTimeline(BaseModel):
    """The resident, their presence, their recent events (paginated) and their alerts."""

    resident: ResidentRead
    presence: PresenceRead | None
    events: Page[EventRead]
    alerts: list[AlertRead]


class TimelineQuery(PageQuery):
    """Pagination of the timeline's events (``limit``, ``cursor``)."""
