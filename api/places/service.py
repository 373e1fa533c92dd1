"""Data access of the places domain: the place tree, the watch list and the trends."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.communities import queries as community_queries
from api.communities.models import CommunityRead
from api.communities.service import local_day_start
from api.deps import Conn
from api.devices.models import ACTIVE_WITHIN
from api.errors import NotFound
from api.places import queries
from api.places.models import (
    BuildingPlace,
    GridPlace,
    PlaceAlerts,
    PlaceDevices,
    Places,
    PlanPoint,
    TrendDay,
    Trends,
    UnitPlace,
    Watch,
    WatchedResident,
    WatchState,
)
from api.security import Principal
from linli.accounts import Perm

WATCH_STATES: tuple[WatchState, ...] = ("home", "out", "away", "silent", "unknown")
SILENT_RULE = "silent_resident"


def grid_layout(index: int, count: int) -> tuple[float, float]:
    """Where the ``index``-th of ``count`` buildings sits on a square-ish grid, each cell's
    centre, 0–1 from the left and top."""
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    row, column = divmod(index, columns)
    return round((column + 0.5) / columns, 4), round((row + 0.5) / rows, 4)


async def places(*, conn: Conn, community: str, principal: Principal,
                 now: dt.datetime | None = None) -> Places:
    """Grids → buildings → units of ``community`` within ``principal``'s place."""
    about = await _community(conn, community, principal)
    as_of = now or dt.datetime.now(dt.UTC)
    scoped = {"community": community, **principal.scope}
    buildings = await _all(conn, queries.PLACE_BUILDINGS, scoped)
    unit_alerts: dict[tuple[str, str], PlaceAlerts] | None = None
    if principal.can(Perm.ALERTS_READ):
        unit_alerts = defaultdict(PlaceAlerts)
        for row in await _all(conn, queries.PLACE_UNIT_ALERTS, scoped):
            _add(unit_alerts[row["building"], row["unit"]], row)
    units: dict[str, list[UnitPlace]] = defaultdict(list)
    for row in await _all(conn, queries.PLACE_UNITS, scoped):
        units[row["building"]].append(UnitPlace(
            id=row["id"], name=row["name"],
            alerts=unit_alerts.get((row["building"], row["id"]), PlaceAlerts())
            if unit_alerts is not None else None))
    devices = {row["building"]: PlaceDevices.model_validate(row) for row in await _all(
        conn, queries.PLACE_DEVICES, {**scoped, "now": as_of, "active_within": ACTIVE_WITHIN})}
    alerts: dict[str | None, PlaceAlerts] | None = None
    if principal.can(Perm.ALERTS_READ):
        alerts = defaultdict(PlaceAlerts)
        for row in await _all(conn, queries.PLACE_ALERTS, scoped):
            _add(alerts[row["building"]], row)
    watched: dict[str, int] | None = None
    if principal.sees_personal_data and principal.can(Perm.RESIDENTS_READ):
        watched = {row["building"]: row["watched"]
                   for row in await _all(conn, queries.PLACE_WATCHED, scoped)}
    occupancy: dict[str, dict[WatchState, int]] | None = None
    total: dict[WatchState, int] | None = None
    if watched is not None:
        occupancy = defaultdict(_no_one)
        total = _no_one()
        for row in await _all(conn, queries.PLACE_OCCUPANCY, {**scoped, "now": as_of}):
            occupancy[row["building"]][row["state"]] = row["residents"]
            total[row["state"]] += row["residents"]
    grids: dict[str | None, GridPlace] = {}
    for row in buildings:
        grid = grids.setdefault(row["grid"], GridPlace(id=row["grid"], name=row["grid_name"],
                                                       buildings=[]))
        grid.buildings.append(BuildingPlace(
            id=row["id"], name=row["name"], plan=_plan(row), units=units[row["id"]],
            alerts=alerts.get(row["id"], PlaceAlerts()) if alerts is not None else None,
            devices=devices.get(row["id"], PlaceDevices()),
            watched=watched.get(row["id"], 0) if watched is not None else None,
            occupancy=occupancy[row["id"]] if occupancy is not None else None))
    return Places(community=about, as_of=as_of, grids=list(grids.values()),
                  unplaced_alerts=alerts.get(None, PlaceAlerts()) if alerts is not None
                  else None, occupancy=total)


def _add(counts: PlaceAlerts, row: dict[str, Any]) -> None:
    counts.open += row["open"]
    counts.acknowledged += row["acknowledged"]
    counts.by_severity[row["severity"]] = row["open"] + row["acknowledged"]


def _no_one() -> dict[WatchState, int]:
    return dict.fromkeys(WATCH_STATES, 0)


def _plan(row: dict[str, Any]) -> PlanPoint:
    if row["plan_x"] is not None and row["plan_y"] is not None:
        return PlanPoint(x=row["plan_x"], y=row["plan_y"], laid_out=False)
    x, y = grid_layout(row["place_index"], row["place_count"])
    return PlanPoint(x=x, y=y, laid_out=True)


def watch_state(row: dict[str, Any]) -> tuple[WatchState, dt.datetime | None]:
    """A watched resident's state and since when, from ``WATCHED_RESIDENTS``'s row: an
    open silence alert first (it needs someone), then a registered absence, then the last
    sign — in-home activity after the last passage means home, else the passage's
    direction."""
    if row["alert_rule"] == SILENT_RULE:
        return "silent", row["alert_raised_at"]
    if row["away_since"] is not None:
        return "away", row["away_since"]
    door, direction, activity = (row["last_door_at"], row["last_door_direction"],
                                 row["last_activity_at"])
    if activity is not None and (door is None or activity > door):
        return "home", activity if door is None or direction != "in" else door
    if door is not None and direction in ("in", "out"):
        return ("home" if direction == "in" else "out"), door
    return "unknown", None


def _last_sign(row: dict[str, Any]) -> tuple[str | None, dt.datetime | None]:
    door, activity = row["last_door_at"], row["last_activity_at"]
    if activity is not None and (door is None or activity > door):
        return "activity", activity
    if door is not None:
        direction = row["last_door_direction"]
        return (f"door_{direction}" if direction in ("in", "out") else "door"), door
    return None, None


async def watch(*, conn: Conn, community: str, principal: Principal, default_timezone: str,
                now: dt.datetime | None = None) -> Watch:
    """The watched residents of ``community`` within ``principal``'s place, with states."""
    about = await _community(conn, community, principal)
    as_of = now or dt.datetime.now(dt.UTC)
    rows = await _all(conn, queries.WATCHED_RESIDENTS,
                      {"community": community, "now": as_of, **principal.scope})
    residents = []
    for row in rows:
        state, since = watch_state(row)
        sign, sign_at = _last_sign(row)
        residents.append(WatchedResident(
            id=row["id"], name=row["name"], building=row["building"],
            building_name=row["building_name"], unit=row["unit"], unit_name=row["unit_name"],
            room=row["room"], state=state, since=since, last_sign=sign,
            last_sign_at=sign_at, alert=row["alert_id"], alert_rule=row["alert_rule"],
            away_until=row["away_until"]))
    counts = {state: sum(1 for r in residents if r.state == state) for state in WATCH_STATES}
    return Watch(community=about, as_of=as_of,
                 day_start=local_day_start(as_of, about.timezone, default_timezone),
                 counts=counts, residents=residents)


async def trends(*, conn: Conn, community: str, days: int, principal: Principal,
                 default_timezone: str, now: dt.datetime | None = None) -> Trends:
    """Alerts raised by rule and passages per local day, the last ``days`` days."""
    about = await _community(conn, community, principal)
    as_of = now or dt.datetime.now(dt.UTC)
    zone = _zone(about.timezone, default_timezone)
    today = as_of.astimezone(zone).date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    params = {"community": community, "since": since, "timezone": zone.key, **principal.scope}
    by_day = {first + dt.timedelta(days=n): TrendDay(day=first + dt.timedelta(days=n),
                                                      alerts=0, alerts_by_rule={}, passages=0)
              for n in range(days)}
    rules: set[str] = set()
    for row in await _all(conn, queries.TREND_ALERTS, params):
        if (day := by_day.get(row["day"])) is not None:
            day.alerts_by_rule[row["rule"]] = row["raised"]
            day.alerts += row["raised"]
            rules.add(row["rule"])
    for row in await _all(conn, queries.TREND_PASSAGES, params):
        if (day := by_day.get(row["day"])) is not None:
            day.passages = int(row["passages"] or 0)
    return Trends(community=about, as_of=as_of, rules=sorted(rules), days=list(by_day.values()))


def _zone(timezone: str, default_timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default_timezone)


async def _community(conn: Conn, community: str, principal: Principal) -> CommunityRead:
    principal.require_community(community)
    row = await (await conn.execute(community_queries.GET_COMMUNITY,
                                    {"community": community})).fetchone()
    if row is None:
        raise NotFound(f"community {community!r} does not exist")
    return CommunityRead.model_validate(row)


async def _all(conn: Conn, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return await (await conn.execute(query, params)).fetchall()
