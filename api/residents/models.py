"""Pydantic models of the residents domain.

Phones are masked (``138****5678``) in lists and for roles without ``contacts:read``;
emergency contacts are shown in full only to the control room and the resident's grid
workers, and each such read is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.alerts.models import AlertRead, ContactRead
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
    grid: str | None = None
    phone: str | None = Field(None, description="masked unless one may see contacts")


class ResidentCard(ResidentRead):
    """One resident as their card shows them: contacts in full only to those who may."""

    emergency_contacts: list[ContactRead] = Field(default_factory=list)
    contacts_masked: bool


class ResidentQuery(PageQuery):
    """Filters of the residents list."""

    watched: bool | None = Field(None, description="only elderly residents living alone")
    building: str | None = Field(None, max_length=64)


class PresenceRead(BaseModel):
    """When and where the resident was last seen."""

    last_seen_at: dt.datetime
    building: str
    device: str
    device_name: str | None = None
    direction: str | None = None


class ResidentTimeline(BaseModel):
    """The resident, their presence, their recent events (paginated) and their alerts."""

    resident: ResidentCard
    presence: PresenceRead | None
    events: Page[EventRead]
    alerts: list[AlertRead]


class TimelineQuery(PageQuery):
    """Pagination of the timeline's events (``limit``, ``cursor``)."""


MAX_ABSENCE_DAYS = 90


class AbsenceCreate(BaseModel):
    """``POST …/absences`` (外出报备): the resident is away until ``until``; no silence alert
    meanwhile, and a reminder if they have given no sign of life by then."""

    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime
    starts_at: AwareDatetime | None = Field(None, description="default: now")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=200)]


class AbsenceCancel(BaseModel):
    """``POST …/absences/{id}/cancel``: back early, or registered by mistake."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=200)] | None = None


class AbsenceRead(BaseModel):
    """A registered absence."""

    id: int
    resident: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str | None
    created_by: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None = None
    cancelled_by: str | None = None
