"""Data access of the audit-log domain."""

from __future__ import annotations

from typing import Any

from api import audit
from api.audit_log import queries
from api.audit_log.models import AuditEntryRead, AuditQuery, audit_cursor_key
from api.deps import Conn
from api.pagination import Page, decode_cursor, make_page, parse_aware_time, parse_int
from api.security import Principal


async def list_audit(*, conn: Conn, query: AuditQuery,
                     principal: Principal) -> Page[AuditEntryRead]:
    """One page of the audit log of the principal's place, newest first; the read itself
    is recorded (``read.audit``) after the page was taken, so it is on the next read."""
    after_at, after_id = None, None
    if query.cursor:
        after_at, after_id = decode_cursor(query.cursor, parse_aware_time, parse_int)
    params: dict[str, Any] = {
        "scope_community": principal.community,
        "community": principal.community_filter(query.community),
        "username": query.user,
        "action": query.action,
        "target": query.target,
        "since": query.since,
        "until": query.until,
        "after_at": after_at,
        "after_id": after_id,
        "limit": query.limit + 1,
    }
    rows = await (await conn.execute(queries.LIST_AUDIT, params)).fetchall()
    items, next_cursor = make_page(rows, query.limit, AuditEntryRead, audit_cursor_key)
    await audit.record(conn, principal, "read.audit", None,
                       query.model_dump(mode="json", exclude_none=True, exclude={"cursor"}),
                       community=params["community"])
    return Page[AuditEntryRead](items=items, next_cursor=next_cursor)
