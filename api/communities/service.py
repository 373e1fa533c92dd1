"""Data access of the communities domain."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.communities import queries
from api.communities.models import (
    AlertCounts,
    CommunityRead,
    CommunitySummary,
    DeviceCounts,
    RuleCount,
)
from api.deps import Conn
from api.errors import NotFound
from api.security import Principal

log = logging.getLogger(__name__)


async def list_communities(*, conn: Conn, principal: Principal) -> list[CommunityRead]:
    """The communities ``principal`` belongs to (all of them for a global role), by id."""
    cur = await conn.execute(queries.LIST_COMMUNITIES, {"community": principal.community})
    return [CommunityRead.model_validate(row) for row in await cur.fetchall()]


async def summary(*, conn: Conn, community: str, default_timezone: str,
                  principal: Principal) -> CommunitySummary:
    """Counts of the community, limited to ``principal``'s place; 404 when it does not
    exist or lies outside that place."""
    principal.require_community(community)
    row = await _one(conn, queries.GET_COMMUNITY, {"community": community})
    if row is None:
        raise NotFound(f"community {community!r} does not exist")
    as_of = dt.datetime.now(dt.UTC)
    day_start = local_day_start(as_of, row["timezone"], default_timezone)
    scoped = {"community": community, **principal.scope}
    since = {**scoped, "since": day_start}
    by_rule = [RuleCount.model_validate(r) for r in await _all(
        conn, queries.ACTIVE_ALERTS_BY_RULE, scoped)]
    events = await _one(conn, queries.EVENTS_SINCE, since)
    devices = await _one(conn, queries.DEVICE_COUNTS, scoped)
    dead = await _one(conn, queries.DEAD_LETTERS_SINCE, since)
    assert events is not None and devices is not None and dead is not None
    return CommunitySummary(
        community=CommunityRead.model_validate(row),
        as_of=as_of,
        day_start=day_start,
        alerts=AlertCounts(
            open=sum(r.open for r in by_rule),
            acknowledged=sum(r.acknowledged for r in by_rule),
            by_rule=by_rule,
        ),
        events_today=events["events"],
        passages_today=events["passages"],
        devices=DeviceCounts.model_validate(devices),
        dead_letters_today=dead["n"],
    )


def local_day_start(now: dt.datetime, timezone: str | None, default_timezone: str) -> dt.datetime:
    """Midnight of ``now``'s day in ``timezone`` (an unknown zone falls back to the default)."""
    try:
        zone = ZoneInfo(timezone or default_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r, using %s", timezone, default_timezone)
        zone = ZoneInfo(default_timezone)
    local = now.astimezone(zone)
    return dt.datetime.combine(local.date(), dt.time(), zone).astimezone(dt.UTC)


async def _one(conn: Conn, query: str, params: dict[str, Any]) -> dict[str, Any] | None:
    return await (await conn.execute(query, params)).fetchone()


async def _all(conn: Conn, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return await (await conn.execute(query, params)).fetchall()
