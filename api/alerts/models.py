"""Pydantic models of the alerts domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.pagination import PageQuery
from linli.alerts import AlertStatus

Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class AlertRead(BaseModel):
    """An alert as lists show it; ``subject_name`` is the resident's name when the subject
    is a resident."""

    id: int
    community: str
    rule: str
    subject: str
    subject_name: str | None = None
    status: str
    severity: str
    tier: int
    grid: str | None = None
    building: str | None = None
    title: str
    details: dict[str, Any] = Field(default_factory=dict)
    raised_at: dt.datetime
    updated_at: dt.datetime
    fired_count: int
    escalate_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None


class TimelineEntryRead(BaseModel):
    """One step of an alert's closed loop: who did what, when."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    note: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class NotificationRead(BaseModel):
    """A push to one grid worker's channel. The channel's URL is a secret and never shown."""

    id: int
    worker: str
    worker_name: str | None = None
    channel: str
    title: str
    body: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    last_error: str | None = None


class AlertDetail(AlertRead):
    """One alert with its timeline (oldest first) and its notifications."""

    timeline: list[TimelineEntryRead]
    notifications: list[NotificationRead]


class AlertQuery(PageQuery):
    """Filters of ``GET /api/v1/alerts``; ``status`` may be repeated."""

    community: str | None = None
    status: list[AlertStatus] = Field(default_factory=list)
    rule: str | None = None
    since: AwareDatetime | None = Field(None, description="raised at or after (inclusive)")


class AlertAcknowledge(BaseModel):
    """``POST /api/v1/alerts/{id}/acknowledge``: the logged-in person takes the alert on."""

    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class AlertResolve(BaseModel):
    """``POST /api/v1/alerts/{id}/resolve``: what the logged-in person found (required)."""

    model_config = ConfigDict(extra="forbid")

    note: Note
    outcome: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ] | None = Field(None, description="verified outcome, e.g. safe, false_alarm, hospital")


def alert_cursor_key(alert: AlertRead) -> tuple[str, int]:
    """The sort key a cursor carries: (raised_at, id)."""
    return alert.raised_at.isoformat(), alert.id
