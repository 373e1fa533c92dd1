"""Data access of the events domain (keyword-only verbs over a pooled connection)."""

from __future__ import annotations

import uuid
from typing import Any

from api.deps import Conn
from api.events import queries
from api.events.models import EventQuery, EventRead, event_cursor_key
from api.pagination import Page, decode_cursor, make_page, parse_aware_time, parse_str
from api.security import Forbidden, Principal


async def list_events(*, conn: Conn, query: EventQuery, principal: Principal) -> Page[EventRead]:
    """One page of the events ``principal`` may see matching ``query``, newest first.

    An installer sees devices at work, never who passed: person, name and credential are
    left out, and asking for a person is refused.
    """
    if query.person_id is not None and not principal.sees_personal_data:
        raise Forbidden("an installer may not look up a person's events")
    after_at, after_id = None, None
    if query.cursor:
        after_at, after_id = decode_cursor(query.cursor, parse_aware_time, _parse_uuid)
    params: dict[str, Any] = {
        "community": principal.community_filter(query.community),
        "scope_buildings": principal.scope["scope_buildings"],
        "building": query.building,
        "device": query.device,
        "person_id": query.person_id,
        "kind": query.kind.value if query.kind else None,
        "direction": query.direction.value if query.direction else None,
        "since": query.since,
        "until": query.until,
        "after_at": after_at,
        "after_id": after_id,
        "limit": query.limit + 1,
    }
    cur = await conn.execute(queries.LIST_EVENTS, params)
    rows = await cur.fetchall()
    if not principal.sees_personal_data:
        rows = [{**row, "person_id": None, "person_name": None, "credential": None}
                for row in rows]
    items, next_cursor = make_page(rows, query.limit, EventRead, event_cursor_key)
    return Page[EventRead](items=items, next_cursor=next_cursor)


def _parse_uuid(value: Any) -> str:
    return str(uuid.UUID(parse_str(value)))
