"""Pydantic models of the places domain."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from api.communities.models import CommunityRead


class PlanPoint(BaseModel):
    """Where a building sits on the site plan, 0–1 from the left and top edges;
    ``laid_out``: no position in the directory, placed on a grid by the API."""

    x: float
    y: float
    laid_out: bool


class PlaceAlerts(BaseModel):
    """Active alerts of a building: open and acknowledged, and both by severity."""

    open: int = 0
    acknowledged: int = 0
    by_severity: dict[str, int] = Field(default_factory=dict)


class PlaceDevices(BaseModel):
    """Devices of a building by live state (a log-based door with a recent event is online)."""

    online: int = 0
    offline: int = 0
    unknown: int = 0


class UnitPlace(BaseModel):
    """A unit; ``alerts``: the active alerts about residents living in it (null for roles
    that do not read alerts)."""

    id: str
    name: str
    alerts: PlaceAlerts | None = None


WatchState = Literal["home", "out", "away", "silent", "unknown"]


class BuildingPlace(BaseModel):
    """A building with its units and status; ``alerts`` null for roles that do not read
    alerts, ``watched`` and ``occupancy`` null for roles that do not see residents.
    ``occupancy``: its active residents by state now, as ``WatchedResident.state`` (every
    resident, not only the watched)."""

    id: str
    name: str
    plan: PlanPoint
    units: list[UnitPlace]
    alerts: PlaceAlerts | None
    devices: PlaceDevices
    watched: int | None
    occupancy: dict[WatchState, int] | None = None


class GridPlace(BaseModel):
    """A grid and its buildings; ``id`` null for the buildings in no grid."""

    id: str | None
    name: str | None
    buildings: list[BuildingPlace]


class Places(BaseModel):
    """The community's places within one's own, grid by grid."""

    community: CommunityRead
    as_of: dt.datetime
    grids: list[GridPlace]
    unplaced_alerts: PlaceAlerts | None
    """Active alerts about no building (community-wide ones)."""
    occupancy: dict[WatchState, int] | None = None
    """Residents by state now in all of one's place; null for roles that do not see
    residents."""


class WatchedResident(BaseModel):
    """A watched resident (elderly, living alone) and their state now.

    ``silent``: an open silence alert; ``away``: a registered absence covers now; ``home`` /
    ``out``: by their last sign (the last door passage's direction, or in-home activity
    after it); ``unknown``: no sign yet. ``since``: when that state began, as far as known.
    """

    id: str
    name: str
    building: str | None
    building_name: str | None
    unit: str | None
    unit_name: str | None
    room: str | None
    state: WatchState
    since: dt.datetime | None
    last_sign: Literal["door_in", "door_out", "door", "activity"] | None
    last_sign_at: dt.datetime | None
    alert: int | None
    """Their open or acknowledged alert (a silence first), if any."""
    alert_rule: str | None
    away_until: dt.datetime | None


class Watch(BaseModel):
    """Today's watched residents in one's place, and how many are in each state."""

    community: CommunityRead
    as_of: dt.datetime
    day_start: dt.datetime
    counts: dict[WatchState, int]
    residents: list[WatchedResident]


class TrendDay(BaseModel):
    """One local day: alerts raised, in all and by rule, and passages through doors."""

    day: dt.date
    alerts: int
    alerts_by_rule: dict[str, int]
    passages: int


class Trends(BaseModel):
    """The last ``days`` local days of the community, oldest first, today included."""

    community: CommunityRead
    as_of: dt.datetime
    rules: list[str]
    days: list[TrendDay]
