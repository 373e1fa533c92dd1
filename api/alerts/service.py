"""Data access of the alerts domain: reads, and the acknowledge / resolve transitions.

A transition is the shared UPDATE of ``linli.alerts`` plus a timeline row, in one
transaction. The UPDATE only matches an alert in a state that allows the change, so two
people acting at once cannot both succeed; when it matches nothing we look at why and
answer 404 (no such alert) or 409 (its state forbids it).
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from api import audit
from api.alerts import queries
from api.alerts.models import (
    AlertAcknowledge,
    AlertDetail,
    AlertQuery,
    AlertRead,
    AlertResolve,
    NotificationRead,
    TimelineEntryRead,
    alert_cursor_key,
)
from api.deps import Conn
from api.errors import Conflict, NotFound
from api.pagination import Page, decode_cursor, make_page, parse_aware_time, parse_int
from api.security import Principal
from api.text import scrub
from linli import alerts as shared

SUBJECT_ALERTS_LIMIT = 50
"""How many of a resident's alerts the timeline shows (newest first)."""


PRIVATE_DETAILS = ("phone", "emergency_contacts")
"""Keys older alerts' details may hold; contacts are looked up at read time instead."""


def _alert(row: dict[str, Any]) -> AlertRead:
    details = {k: v for k, v in (row.get("details") or {}).items() if k not in PRIVATE_DETAILS}
    return AlertRead.model_validate({**row, "details": details})


async def list_alerts(*, conn: Conn, query: AlertQuery, principal: Principal) -> Page[AlertRead]:
    """One page of the alerts ``principal`` may see matching ``query``, newest first."""
    after_at, after_id = None, None
    if query.cursor:
        after_at, after_id = decode_cursor(query.cursor, parse_aware_time, parse_int)
    params: dict[str, Any] = {
        **principal.scope,
        "community": principal.community_filter(query.community),
        "statuses": [s.value for s in query.status] or None,
        "rule": query.rule,
        "subject": None,
        "since": query.since,
        "after_at": after_at,
        "after_id": after_id,
        "limit": query.limit + 1,
    }
    cur = await conn.execute(queries.LIST_ALERTS, params)
    rows = [_alert(row).model_dump() for row in await cur.fetchall()]
    items, next_cursor = make_page(rows, query.limit, AlertRead, alert_cursor_key)
    return Page[AlertRead](items=items, next_cursor=next_cursor)


async def alerts_for_subject(*, conn: Conn, community: str, subject: str,
                             principal: Principal) -> list[AlertRead]:
    """The newest alerts about one subject (e.g. a resident) ``principal`` may see."""
    params: dict[str, Any] = {
        **principal.scope, "community": community, "statuses": None, "rule": None, "subject": subject,
        "since": None, "after_at": None, "after_id": None, "limit": SUBJECT_ALERTS_LIMIT,
    }
    cur = await conn.execute(queries.LIST_ALERTS, params)
    return [_alert(row) for row in await cur.fetchall()]


async def get_alert(*, conn: Conn, alert_id: int, principal: Principal) -> AlertDetail:
    """One alert with its timeline and notifications; 404 when there is none in the
    principal's place."""
    params = {"alert_id": alert_id}
    row = await (await conn.execute(queries.GET_ALERT, {**params, **principal.scope})).fetchone()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist")
    timeline = await (await conn.execute(queries.ALERT_TIMELINE, params)).fetchall()
    notifications = await (await conn.execute(queries.ALERT_NOTIFICATIONS, params)).fetchall()
    return AlertDetail(
        **_alert(row).model_dump(),
        timeline=[TimelineEntryRead.model_validate(t) for t in timeline],
        notifications=await _scrubbed(conn, alert_id, notifications),
    )


async def _scrubbed(
    conn: Conn, alert_id: int, rows: list[dict[str, Any]]
) -> list[NotificationRead]:
    """Notifications with the channels' secrets removed from what the notifier stored."""
    if not rows:
        return []
    cur = await conn.execute(queries.ALERT_SECRET_URLS, {"alert_id": alert_id})
    secrets = [r["url"] for r in await cur.fetchall()]
    return [
        NotificationRead.model_validate({
            **n,
            "channel": scrub(n["channel"], secrets),
            "last_error": scrub(n["last_error"], secrets),
        })
        for n in rows
    ]


async def _require_visible(conn: Conn, alert_id: int, principal: Principal) -> None:
    params = {"alert_id": alert_id, **principal.scope}
    if await (await conn.execute(queries.GET_ALERT, params)).fetchone() is None:
        raise NotFound(f"alert {alert_id} does not exist")


async def acknowledge(*, conn: Conn, alert_id: int, request: AlertAcknowledge,
                      principal: Principal) -> AlertDetail:
    """The principal takes an open alert on: stops its escalation timer."""
    await _require_visible(conn, alert_id, principal)
    async with conn.transaction():
        cur = await conn.execute(shared.ACKNOWLEDGE,
                                 {"alert_id": alert_id, "actor": principal.username})
        if await cur.fetchone() is None:
            await _refuse(conn, alert_id, "acknowledged", allowed=("open",))
        await _add_timeline(conn, alert_id, principal, "acknowledged", request.note, {})
    return await get_alert(conn=conn, alert_id=alert_id, principal=principal)


async def resolve(*, conn: Conn, alert_id: int, request: AlertResolve,
                  principal: Principal) -> AlertDetail:
    """The principal closes an open or acknowledged alert with what they found."""
    await _require_visible(conn, alert_id, principal)
    async with conn.transaction():
        cur = await conn.execute(
            shared.RESOLVE, {"alert_id": alert_id, "actor": principal.username,
                             "note": request.note, "at": None}
        )
        if await cur.fetchone() is None:
            await _refuse(conn, alert_id, "resolved", allowed=shared.ACTIVE_STATUSES)
        data = {"outcome": request.outcome} if request.outcome else {}
        await _add_timeline(conn, alert_id, principal, "resolved", request.note, data)
    return await get_alert(conn=conn, alert_id=alert_id, principal=principal)


async def _add_timeline(conn: Conn, alert_id: int, principal: Principal, action: str,
                        note: str | None, data: dict[str, Any]) -> None:
    """A timeline row by the principal, and the same step in the audit log."""
    await conn.execute(shared.ADD_TIMELINE, {
        "alert_id": alert_id, "actor": principal.username, "action": action, "note": note,
        "at": None, "data": Jsonb({**data, "via": principal.via, "role": principal.role.value}),
    })
    await audit.record(conn, principal, f"alert.{action}", f"alert:{alert_id}", data)


async def _refuse(conn: Conn, alert_id: int, action: str, *, allowed: tuple[str, ...]) -> None:
    """Raise why the transition matched nothing: the alert is missing or in another state."""
    row = await (await conn.execute(queries.ALERT_STATUS, {"alert_id": alert_id})).fetchone()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist")
    wanted = " or ".join(allowed)
    raise Conflict(
        f"alert {alert_id} is {row['status']}: only an alert that is {wanted} "
        f"can be {action}"
    )
