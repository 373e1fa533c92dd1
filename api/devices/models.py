"""Pydantic models of the devices domain."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from api.pagination import PageQuery

ACTIVE_WITHIN = dt.timedelta(minutes=10)
"""A device that sends no status is ``active`` when an event came this recently."""


class DeviceState(StrEnum):
    """A device's state as its retained status says; ``unknown`` when none arrived yet."""

    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


class DeviceRead(BaseModel):
    """A device; ``registered`` is false for one seen on the wire but not provisioned."""

    community: str
    building: str
    id: str
    kind: str
    name: str | None = None
    registered: bool
    state: str | None = None
    live_state: str
    """``state`` as reported; for a device that reports none (a log-based door) ``active``
    when an event came within 10 minutes, else ``quiet``."""
    status: dict[str, Any] | None = None
    status_at: dt.datetime | None = None
    first_seen_at: dt.datetime | None = None
    last_event_at: dt.datetime | None = None
    created_at: dt.datetime


class DeviceQuery(PageQuery):
    """Filters of ``GET /api/v1/devices``."""

    community: str | None = None
    building: str | None = None
    registered: bool | None = None
    state: DeviceState | None = None


def device_cursor_key(device: DeviceRead) -> tuple[str, str, str]:
    """The sort key a cursor carries: (community, building, id)."""
    return device.community, device.building, device.id
