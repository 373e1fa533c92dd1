"""Data access of the residents domain."""

from __future__ import annotations

import datetime as dt

from api.alerts.service import alerts_for_subject
from api.deps import Conn
from api.errors import Conflict, InvalidInput, NotFound
from api.events.models import EventQuery
from api.events.service import list_events
from api.residents import queries
from api.residents.models import (
    MAX_ABSENCE_DAYS,
    AbsenceCancel,
    AbsenceCreate,
    AbsenceRead,
    PresenceRead,
    ResidentRead,
    ResidentTimeline,
    TimelineQuery,
)


async def resident_timeline(
    *, conn: Conn, community: str, resident: str, query: TimelineQuery
) -> ResidentTimeline:
    """Everything the control room needs about one resident; 404 when unknown."""
    params = {"community": community, "resident": resident}
    row = await (await conn.execute(queries.GET_RESIDENT, params)).fetchone()
    if row is None:
        raise NotFound(f"resident {resident!r} does not exist in community {community!r}")
    presence = await (await conn.execute(queries.GET_PRESENCE, params)).fetchone()
    events = await list_events(conn=conn, query=EventQuery(
        community=community, person_id=resident, limit=query.limit, cursor=query.cursor,
    ))
    return ResidentTimeline(
        resident=ResidentRead.model_validate(row),
        presence=PresenceRead.model_validate(presence) if presence else None,
        events=events,
        alerts=await alerts_for_subject(conn=conn, community=community, subject=resident),
    )


async def _require_resident(conn: Conn, community: str, resident: str) -> None:
    params = {"community": community, "resident": resident}
    if await (await conn.execute(queries.GET_RESIDENT, params)).fetchone() is None:
        raise NotFound(f"resident {resident!r} does not exist in community {community!r}")


async def list_absences(*, conn: Conn, community: str, resident: str) -> list[AbsenceRead]:
    """The resident's registered absences, newest first (50 at most)."""
    await _require_resident(conn, community, resident)
    rows = await (await conn.execute(queries.LIST_ABSENCES,
                                     {"community": community, "resident": resident})).fetchall()
    return [AbsenceRead.model_validate(row) for row in rows]


async def register_absence(*, conn: Conn, community: str, resident: str,
                           request: AbsenceCreate) -> AbsenceRead:
    """Register "away until …" for a resident (外出报备)."""
    await _require_resident(conn, community, resident)
    now = dt.datetime.now(dt.UTC)
    starts = request.starts_at or now
    if request.until <= max(starts, now):
        raise InvalidInput.for_field("until", "body", "must lie in the future, after starts_at")
    if request.until - starts > dt.timedelta(days=MAX_ABSENCE_DAYS):
        raise InvalidInput.for_field("until", "body",
                                     f"an absence lasts {MAX_ABSENCE_DAYS} days at most")
    row = await (await conn.execute(queries.INSERT_ABSENCE, {
        "community": community, "resident": resident, "starts_at": starts,
        "ends_at": request.until, "reason": request.reason, "actor": request.actor,
    })).fetchone()
    assert row is not None
    return AbsenceRead.model_validate(row)


async def cancel_absence(*, conn: Conn, community: str, resident: str, absence: int,
                         request: AbsenceCancel) -> AbsenceRead:
    """End an absence early: the watch resumes at once."""
    await _require_resident(conn, community, resident)
    row = await (await conn.execute(queries.CANCEL_ABSENCE, {
        "community": community, "resident": resident, "absence": absence,
        "actor": request.actor})).fetchone()
    if row is None:
        raise Conflict(f"absence {absence} of resident {resident!r} does not exist or was "
                       "already cancelled")
    return AbsenceRead.model_validate(row)
