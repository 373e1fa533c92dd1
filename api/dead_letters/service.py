"""Data access of the dead-letters domain."""

from __future__ import annotations

from typing import Any

from api.dead_letters import queries
from api.dead_letters.models import (
    PAYLOAD_SHOWN_BYTES,
    DeadLetterQuery,
    DeadLetterRead,
    dead_letter_cursor_key,
)
from api.deps import Conn
from api.pagination import Page, decode_cursor, make_page, parse_aware_time, parse_int
from api.security import Principal
from api.text import payload_text


async def list_dead_letters(*, conn: Conn, query: DeadLetterQuery,
                            principal: Principal) -> Page[DeadLetterRead]:
    """One page of dead letters, newest first."""
    after_at, after_id = None, None
    if query.cursor:
        after_at, after_id = decode_cursor(query.cursor, parse_aware_time, parse_int)
    params: dict[str, Any] = {
        "community": principal.community_filter(query.community),
        "scope_buildings": principal.scope["scope_buildings"],
        "since": query.since,
        "after_at": after_at,
        "after_id": after_id,
        "shown_bytes": PAYLOAD_SHOWN_BYTES,
        "limit": query.limit + 1,
    }
    cur = await conn.execute(queries.LIST_DEAD_LETTERS, params)
    rows = [_with_text(row) for row in await cur.fetchall()]
    items, next_cursor = make_page(rows, query.limit, DeadLetterRead, dead_letter_cursor_key)
    return Page[DeadLetterRead](items=items, next_cursor=next_cursor)


def _with_text(row: dict[str, Any]) -> dict[str, Any]:
    head = bytes(row.pop("payload_head"))
    cut = row["payload_bytes"] > len(head)
    return {**row, "payload": payload_text(head, cut=cut), "payload_truncated": cut}
