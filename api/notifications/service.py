"""Data access of the notifications domain: the delivery log and per-channel counts."""

from __future__ import annotations

from typing import Any

from api.deps import Conn
from api.notifications import queries
from api.notifications.models import (
    ChannelCounts,
    ChannelQuery,
    DeliveryQuery,
    DeliveryRead,
    delivery_cursor_key,
)
from api.pagination import Page, decode_cursor, make_page, parse_aware_time, parse_int
from api.security import Principal
from api.text import scrub


async def list_deliveries(*, conn: Conn, query: DeliveryQuery,
                          principal: Principal) -> Page[DeliveryRead]:
    """One page of pushes the principal may see, newest first, secrets scrubbed."""
    after_at, after_id = None, None
    if query.cursor:
        after_at, after_id = decode_cursor(query.cursor, parse_aware_time, parse_int)
    params: dict[str, Any] = {
        **principal.scope,
        "community": principal.community_filter(query.community),
        "status": query.status,
        "channel": query.channel.lower() if query.channel else None,
        "alert_id": query.alert,
        "worker": query.worker,
        "since": query.since,
        "after_at": after_at,
        "after_id": after_id,
        "limit": query.limit + 1,
    }
    rows = await (await conn.execute(queries.LIST_NOTIFICATIONS, params)).fetchall()
    rows = await _scrubbed(conn, rows)
    items, next_cursor = make_page(rows, query.limit, DeliveryRead, delivery_cursor_key)
    return Page[DeliveryRead](items=items, next_cursor=next_cursor)


async def _scrubbed(conn: Conn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their workers' notify URLs (and their long parts) removed from the text
    a channel echoed back."""
    if not rows:
        return rows
    workers = sorted({(row["community"], row["worker"]) for row in rows})
    cur = await conn.execute(queries.WORKERS_SECRET_URLS, {
        "communities": [c for c, _ in workers], "workers": [w for _, w in workers]})
    secrets = [row["url"] for row in await cur.fetchall()]
    return [{**row, "channel": scrub(row["channel"], secrets),
             "last_error": scrub(row["last_error"], secrets)} for row in rows]


async def channel_counts(*, conn: Conn, query: ChannelQuery,
                         principal: Principal) -> list[ChannelCounts]:
    """Per channel: pushes by status and the attempts finished ones took."""
    params: dict[str, Any] = {
        **principal.scope,
        "community": principal.community_filter(query.community),
        "channel": query.channel.lower() if query.channel else None,
        "since": query.since,
    }
    rows = await (await conn.execute(queries.CHANNEL_COUNTS, params)).fetchall()
    return [ChannelCounts.model_validate(row) for row in rows]
