"""Data access of the alerts domain: lists, one alert, its contacts, its photos, and the
workers one may dispatch to. The steps of the loop are in ``api.alerts.loop``.

An alert outside the principal's place is answered like one that does not exist (404).
"""

from __future__ import annotations

from typing import Any

from api import audit
from api.alerts import queries
from api.alerts.models import (
    AlertContacts,
    AlertDetail,
    AlertQuery,
    AlertRead,
    ContactRead,
    HomeRead,
    NotificationRead,
    PhotoRead,
    TimelineEntryRead,
    WorkerRead,
    alert_cursor_key,
)
from api.deps import Conn
from api.errors import NotFound
from api.pagination import Page, decode_cursor, make_page, parse_aware_time, parse_int
from api.security import Forbidden, Principal
from api.text import scrub
from linli.accounts import Role

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
    assignee = query.assignee
    if assignee == "me":
        if principal.worker is None:  # not a grid worker: nothing is dispatched to them
            return Page[AlertRead](items=[], next_cursor=None)
        assignee = principal.worker
    params: dict[str, Any] = {
        **principal.scope,
        "community": principal.community_filter(query.community),
        "statuses": [s.value for s in query.status] or None,
        "rule": query.rule,
        "subject": None,
        "since": query.since,
        "until": query.until,
        "grid": query.grid,
        "building": query.building,
        "text": query.q,
        "assignee": assignee,
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
        "since": None, "until": None, "grid": None, "building": None, "text": None,
        "assignee": None, "after_at": None, "after_id": None,
        "limit": SUBJECT_ALERTS_LIMIT,
    }
    cur = await conn.execute(queries.LIST_ALERTS, params)
    return [_alert(row) for row in await cur.fetchall()]


async def get_alert(*, conn: Conn, alert_id: int, principal: Principal) -> AlertDetail:
    """One alert with its timeline, notifications and photos; 404 when there is none in
    the principal's place."""
    params = {"alert_id": alert_id}
    row = await (await conn.execute(queries.GET_ALERT, {**params, **principal.scope})).fetchone()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist")
    timeline = await (await conn.execute(queries.ALERT_TIMELINE, params)).fetchall()
    notifications = await (await conn.execute(queries.ALERT_NOTIFICATIONS, params)).fetchall()
    photos = await (await conn.execute(queries.ALERT_PHOTOS, params)).fetchall()
    return AlertDetail(
        **_alert(row).model_dump(),
        timeline=[TimelineEntryRead.model_validate(t) for t in timeline],
        notifications=await _scrubbed(conn, alert_id, notifications),
        photos=[PhotoRead.model_validate({**p, "sha256": bytes(p["sha256"]).hex()})
                for p in photos],
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


async def alert_state(conn: Conn, alert_id: int, principal: Principal) -> dict[str, Any]:
    """What a step decides by (``queries.ALERT_STATE``); 404 outside the principal's place."""
    row = await (await conn.execute(queries.ALERT_STATE,
                                    {"alert_id": alert_id, **principal.scope})).fetchone()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist")
    return row


def acting_worker(principal: Principal) -> str | None:
    """The grid worker a step is limited to: a grid worker's own id, else None."""
    return principal.worker if principal.role is Role.GRID_WORKER else None


def require_own(state: dict[str, Any], principal: Principal) -> None:
    """A grid worker acts only on an alert dispatched to them, or to nobody yet."""
    worker = acting_worker(principal)
    if worker is not None and state["assignee"] not in (None, worker):
        raise Forbidden(f"alert {state['id']} is dispatched to another grid worker")


async def contacts(*, conn: Conn, alert_id: int, principal: Principal) -> AlertContacts:
    """The subject resident's phone, home and emergency contacts, read now and audited.

    For the control room, and for the grid worker the alert is dispatched to (or, while it
    is nobody's, the grid workers who see it).
    """
    state = await alert_state(conn, alert_id, principal)
    require_own(state, principal)
    row = await (await conn.execute(queries.ALERT_CONTACTS, {"alert_id": alert_id})).fetchone()
    if row is None:
        raise NotFound(f"alert {alert_id} is not about a resident")
    await audit.record(conn, principal, "read.contacts", f"resident:{state['community']}/"
                       f"{row['resident']}", {"alert": alert_id}, community=state["community"])
    return AlertContacts(
        alert_id=alert_id, resident=row["resident"], name=row["name"], phone=row["phone"],
        home=HomeRead.model_validate(row),
        emergency_contacts=[
            ContactRead(name=c.get("name"), relation=c.get("relation"), phone=c.get("phone"))
            for c in (row["emergency_contacts"] or []) if isinstance(c, dict)],
    )


async def dispatch_workers(*, conn: Conn, community: str,
                           principal: Principal) -> list[WorkerRead]:
    """The community's active grid workers, for the dispatch choice."""
    principal.require_community(community)
    rows = await (await conn.execute(queries.DISPATCH_WORKERS,
                                     {"community": community})).fetchall()
    return [WorkerRead.model_validate(r) for r in rows]
