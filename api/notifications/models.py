"""Pydantic models of the notifications domain (the delivery log)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.pagination import PageQuery

NotificationStatus = Literal["pending", "sent", "failed", "withdrawn"]


def _channel() -> Any:
    return Field(None, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*$",
                 description="a notify URL's scheme, e.g. wecombot, dingtalk, mailto, json")


class DeliveryRead(BaseModel):
    """One push to one channel of one worker. The channel's URL is a secret: only its
    scheme and host are kept, and secrets are scrubbed from ``last_error``."""

    id: int
    alert_id: int
    alert_rule: str
    alert_title: str
    community: str
    worker: str
    worker_name: str | None = None
    channel: str
    title: str
    status: str = Field(description="pending, sent, failed or withdrawn")
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    last_error: str | None = None


class DeliveryQuery(PageQuery):
    """Filters of ``GET /api/v1/notifications``."""

    community: str | None = Field(None, max_length=64)
    status: NotificationStatus | None = None
    channel: str | None = _channel()
    alert: int | None = Field(None, ge=1, le=2**63 - 1, description="one alert's pushes")
    worker: str | None = Field(None, max_length=64, description="one worker's pushes")
    since: AwareDatetime | None = Field(None, description="queued at or after (inclusive)")


class ChannelQuery(BaseModel):
    """Filters of ``GET /api/v1/notifications/channels``."""

    model_config = ConfigDict(extra="forbid")

    community: str | None = Field(None, max_length=64)
    channel: str | None = _channel()
    since: AwareDatetime | None = Field(None, description="queued at or after (inclusive)")


class ChannelCounts(BaseModel):
    """How one channel delivers: pushes by status, and how many attempts the finished ones
    (sent or failed) took (``percentile_cont``)."""

    channel: str
    total: int
    sent: int
    failed: int
    pending: int
    withdrawn: int
    attempts_p50: float | None = None
    attempts_p90: float | None = None
    last_sent_at: dt.datetime | None = None


def delivery_cursor_key(item: DeliveryRead) -> tuple[str, int]:
    """The sort key a cursor carries: (created_at, id)."""
    return item.created_at.isoformat(), item.id
