"""Data access of the residents domain, limited to the principal's place.

A resident outside the principal's place is answered like one that does not exist (404).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from api import audit
from api.alerts.models import ContactRead
from api.alerts.service import alerts_for_subject
from api.deps import Conn
from api.errors import Conflict, InvalidInput, NotFound
from api.events.models import EventQuery
from api.events.service import list_events
from api.pagination import Page, decode_cursor, make_page, parse_str
from api.residents import queries
from api.residents.models import (
    MAX_ABSENCE_DAYS,
    AbsenceCancel,
    AbsenceCreate,
    AbsenceRead,
    PresenceRead,
    ResidentCard,
    ResidentQuery,
    ResidentRead,
    ResidentTimeline,
    TimelineQuery,
)
from api.security import Principal
from linli.accounts import mask_phone


def _read(row: dict[str, Any], principal: Principal, *, in_list: bool) -> dict[str, Any]:
    full = principal.sees_contacts and not in_list
    shown = {k: v for k, v in row.items() if k != "emergency_contacts"}
    return {**shown, "phone": row["phone"] if full else mask_phone(row["phone"])}


def card(row: dict[str, Any], principal: Principal) -> ResidentCard:
    """The resident's card: contacts in full only for ``contacts:read``."""
    full = principal.sees_contacts
    contacts = [
        ContactRead(name=c.get("name"), relation=c.get("relation"),
                    phone=c.get("phone") if full else mask_phone(c.get("phone")))
        for c in (row.get("emergency_contacts") or []) if isinstance(c, dict)
    ]
    return ResidentCard(**_read(row, principal, in_list=False), emergency_contacts=contacts,
                        contacts_masked=not full)


async def find_resident(conn: Conn, principal: Principal, community: str,
                        resident: str) -> dict[str, Any]:
    """The resident's row if in the principal's place; 404 otherwise."""
    principal.require_community(community)
    params = {"community": community, "resident": resident, **principal.scope}
    row = await (await conn.execute(queries.GET_RESIDENT, params)).fetchone()
    if row is None:
        raise NotFound(f"resident {resident!r} does not exist in community {community!r}")
    return row


async def list_residents(*, conn: Conn, community: str, query: ResidentQuery,
                         principal: Principal) -> Page[ResidentRead]:
    """Residents of one's place by id, phones masked."""
    principal.require_community(community)
    after = decode_cursor(query.cursor, parse_str)[0] if query.cursor else None
    rows = await (await conn.execute(queries.LIST_RESIDENTS, {
        "community": community, **principal.scope, "building": query.building,
        "watched": query.watched, "after_id": after, "limit": query.limit + 1})).fetchall()
    items, next_cursor = make_page([_read(r, principal, in_list=True) for r in rows],
                                   query.limit, ResidentRead, lambda r: (r.id,))
    await audit.record(conn, principal, "read.residents", f"community:{community}",
                       query.model_dump(mode="json", exclude_none=True, exclude={"cursor"}),
                       community=community)
    return Page[ResidentRead](items=items, next_cursor=next_cursor)


async def resident_timeline(
    *, conn: Conn, community: str, resident: str, query: TimelineQuery, principal: Principal
) -> ResidentTimeline:
    """Everything the control room needs about one resident; 404 when not in one's place."""
    row = await find_resident(conn, principal, community, resident)
    params = {"community": community, "resident": resident}
    presence = await (await conn.execute(queries.GET_PRESENCE, params)).fetchone()
    events = await list_events(conn=conn, principal=principal, query=EventQuery(
        community=community, person_id=resident, limit=query.limit, cursor=query.cursor,
    ))
    shown = card(row, principal)
    await audit.record(conn, principal, "read.resident", f"resident:{community}/{resident}",
                       {"contacts": not shown.contacts_masked}, community=community)
    return ResidentTimeline(
        resident=shown,
        presence=PresenceRead.model_validate(presence) if presence else None,
        events=events,
        alerts=await alerts_for_subject(conn=conn, community=community, subject=resident,
                                        principal=principal),
    )


async def list_absences(*, conn: Conn, community: str, resident: str,
                        principal: Principal) -> list[AbsenceRead]:
    """The resident's registered absences, newest first (50 at most)."""
    await find_resident(conn, principal, community, resident)
    rows = await (await conn.execute(queries.LIST_ABSENCES,
                                     {"community": community, "resident": resident})).fetchall()
    return [AbsenceRead.model_validate(row) for row in rows]


async def register_absence(*, conn: Conn, community: str, resident: str,
                           request: AbsenceCreate, principal: Principal) -> AbsenceRead:
    """Register "away until …" for a resident (外出报备)."""
    await find_resident(conn, principal, community, resident)
    now = dt.datetime.now(dt.UTC)
    starts = request.starts_at or now
    if request.until <= max(starts, now):
        raise InvalidInput.for_field("until", "body", "must lie in the future, after starts_at")
    if request.until - starts > dt.timedelta(days=MAX_ABSENCE_DAYS):
        raise InvalidInput.for_field("until", "body",
                                     f"an absence lasts {MAX_ABSENCE_DAYS} days at most")
    async with conn.transaction():
        row = await (await conn.execute(queries.INSERT_ABSENCE, {
            "community": community, "resident": resident, "starts_at": starts,
            "ends_at": request.until, "reason": request.reason,
            "actor": principal.username})).fetchone()
        assert row is not None
        await audit.record(conn, principal, "absence.registered",
                           f"resident:{community}/{resident}",
                           {"absence": row["id"], "until": request.until.isoformat()},
                           community=community)
    return AbsenceRead.model_validate(row)


async def cancel_absence(*, conn: Conn, community: str, resident: str, absence: int,
                         request: AbsenceCancel, principal: Principal) -> AbsenceRead:
    """End an absence early: the watch resumes at once."""
    await find_resident(conn, principal, community, resident)
    async with conn.transaction():
        row = await (await conn.execute(queries.CANCEL_ABSENCE, {
            "community": community, "resident": resident, "absence": absence,
            "actor": principal.username})).fetchone()
        if row is None:
            raise Conflict(f"absence {absence} of resident {resident!r} does not exist or was "
                           "already cancelled")
        await audit.record(conn, principal, "absence.cancelled",
                           f"resident:{community}/{resident}",
                           {"absence": absence, "note": request.note}, community=community)
    return AbsenceRead.model_validate(row)
