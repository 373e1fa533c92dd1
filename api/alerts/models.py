"""Pydantic models of the alerts domain: alerts as read, and the bodies of each step of
the closed loop (dispatch, acknowledge, feedback, review, archive)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from api.pagination import PageQuery
from linli.alerts import AlertStatus

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
WorkerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
PhotoId = Annotated[int, Field(ge=1, le=2**63 - 1)]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=100)]


class Outcome(StrEnum):
    """What the on-site check found (核查结果); ``safe`` and ``hospital`` mean a person saw
    the resident, the only sign of life an alert gives the care rules."""

    SAFE = "safe"                          # 安全无事
    HOSPITAL = "hospital"                  # 已送医
    AWAY_UNREPORTED = "away_unreported"    # 外出未报备
    DEVICE_FAULT = "device_fault"          # 设备故障
    FALSE_ALARM = "false_alarm"            # 误报
    OTHER = "other"                        # 其他


VISITED_OUTCOMES = frozenset({Outcome.SAFE, Outcome.HOSPITAL})


class Decision(StrEnum):
    """The control room's review of the feedback (考核评价)."""

    ACCEPTED = "accepted"
    RETURNED = "returned"


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
    assignee: str | None = Field(None, description="the grid worker it is dispatched to")
    assignee_name: str | None = None
    assigned_at: dt.datetime | None = None
    feedback_due_at: dt.datetime | None = None
    outcome: Outcome | None = None
    visited_at: dt.datetime | None = Field(
        None, description="when a person saw the resident (feedback safe or hospital)")
    review: Decision | None = None
    reviewed_at: dt.datetime | None = None
    reviewed_by: str | None = None
    archived_at: dt.datetime | None = None
    archived_by: str | None = None


class TimelineEntryRead(BaseModel):
    """One step of an alert's closed loop: who did what, when. ``actor`` is a username
    (or ``system``); ``actor_name`` the person's display name."""

    id: int
    at: dt.datetime
    actor: str
    actor_name: str | None = None
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


class PhotoRead(BaseModel):
    """A photo filed with the on-site feedback (the image itself: ``GET …/photos/{id}``)."""

    id: int
    sha256: str
    content_type: str
    bytes: int
    uploaded_by: str | None = None
    uploaded_at: dt.datetime | None = None


class AlertDetail(AlertRead):
    """One alert with its timeline (oldest first), its notifications and its photos."""

    timeline: list[TimelineEntryRead]
    notifications: list[NotificationRead]
    photos: list[PhotoRead] = Field(default_factory=list)


class AlertQuery(PageQuery):
    """Filters of ``GET /api/v1/alerts``; ``status`` may be repeated."""

    community: str | None = Field(None, max_length=64)
    status: list[AlertStatus] = Field(default_factory=list)
    rule: str | None = Field(None, max_length=64)
    since: AwareDatetime | None = Field(None, description="raised at or after (inclusive)")
    until: AwareDatetime | None = Field(None, description="raised before (exclusive)")
    grid: str | None = Field(None, max_length=64)
    building: str | None = Field(None, max_length=64)
    q: SearchText | None = Field(
        None, description="text within the title or the subject resident's name")
    assignee: WorkerId | None = Field(
        None, description="a grid worker's id, or ``me`` for one's own alerts")

    @model_validator(mode="after")
    def _range(self) -> AlertQuery:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertDispatch(_Body):
    """``POST …/dispatch`` (派单): to a named active grid worker of the alert's community;
    to another than the current assignee (转办) only with a ``reason``."""

    worker: WorkerId
    reason: Note | None = None
    note: Note | None = None


class AlertAcknowledge(_Body):
    """``POST …/acknowledge``: the logged-in person takes the alert on."""

    note: Note | None = None


class AlertFeedback(_Body):
    """``POST …/feedback`` (核查反馈): what the check on site found."""

    outcome: Outcome
    note: Note
    photos: list[PhotoId] = Field(default_factory=list, max_length=20,
                                  description="ids of photos uploaded to this alert")


class AlertReview(_Body):
    """``POST …/review`` (考核评价): accept the feedback, or return it for rework (with a
    note saying why)."""

    decision: Decision
    note: Note | None = None


class AlertArchive(_Body):
    """``POST …/archive`` (归档)."""

    note: Note | None = None


class PhotoCreated(BaseModel):
    """What ``POST …/photos`` stored."""

    id: int
    sha256: str
    content_type: str
    bytes: int


class ContactRead(BaseModel):
    """An emergency contact (on a resident's card, the phone is masked for roles that may
    not see contacts)."""

    name: str | None = None
    relation: str | None = None
    phone: str | None = None


class HomeRead(BaseModel):
    """Where the resident lives."""

    household: str | None = None
    building: str | None = None
    building_name: str | None = None
    unit: str | None = None
    unit_name: str | None = None
    room: str | None = None


class AlertContacts(BaseModel):
    """The subject resident's contact details, read from the directory at request time."""

    alert_id: int
    resident: str
    name: str
    phone: str | None = None
    home: HomeRead
    emergency_contacts: list[ContactRead] = Field(default_factory=list)


class WorkerRead(BaseModel):
    """An active grid worker one may dispatch to."""

    id: str
    name: str
    grids: list[str] = Field(default_factory=list)


def alert_cursor_key(alert: AlertRead) -> tuple[str, int]:
    """The sort key a cursor carries: (raised_at, id)."""
    return alert.raised_at.isoformat(), alert.id
