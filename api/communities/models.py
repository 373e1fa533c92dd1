"""Pydantic models of the communities domain."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class CommunityRead(BaseModel):
    """A community and its clock."""

    id: str
    name: str
    timezone: str
    locale: str


class RuleCount(BaseModel):
    """Active alerts of one rule."""

    rule: str
    open: int
    acknowledged: int


class AlertCounts(BaseModel):
    """Active alerts of the community, in all and by rule."""

    open: int
    acknowledged: int
    by_rule: list[RuleCount]


class DeviceCounts(BaseModel):
    """``unknown``: no status received yet; ``unregistered``: seen but not provisioned."""

    total: int
    online: int
    offline: int
    unknown: int
    unregistered: int


class CommunitySummary(BaseModel):
    """The control room's figures for one community; "today" is in its own time zone."""

    community: CommunityRead
    as_of: dt.datetime
    day_start: dt.datetime
    alerts: AlertCounts
    events_today: int
    passages_today: int
    devices: DeviceCounts
    dead_letters_today: int
