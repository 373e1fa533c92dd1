"""Data access of the devices domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.deps import Conn
from api.devices import queries
from api.devices.models import ACTIVE_WITHIN, DeviceQuery, DeviceRead, device_cursor_key
from api.pagination import Page, decode_cursor, make_page, parse_str
from api.security import Principal


async def list_devices(*, conn: Conn, query: DeviceQuery,
                       principal: Principal) -> Page[DeviceRead]:
    """One page of devices ordered by community, building and id."""
    after: tuple[Any, ...] = (None, None, None)
    if query.cursor:
        after = decode_cursor(query.cursor, parse_str, parse_str, parse_str)
    params: dict[str, Any] = {
        "community": principal.community_filter(query.community),
        "scope_buildings": principal.scope["scope_buildings"],
        "building": query.building,
        "registered": query.registered,
        "state": query.state.value if query.state else None,
        "active_since": dt.datetime.now(dt.UTC) - ACTIVE_WITHIN,
        "after_community": after[0],
        "after_building": after[1],
        "after_id": after[2],
        "limit": query.limit + 1,
    }
    cur = await conn.execute(queries.LIST_DEVICES, params)
    items, next_cursor = make_page(await cur.fetchall(), query.limit, DeviceRead,
                                   device_cursor_key)
    return Page[DeviceRead](items=items, next_cursor=next_cursor)
