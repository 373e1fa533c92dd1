"""Data access of the residents domain."""

from __future__ import annotations

from api.alerts.service import alerts_for_subject
from api.deps import Conn
from api.errors import NotFound
from api.events.models import EventQuery
from api.events.service import list_events
from api.residents import queries
from api.residents.models import PresenceRead, ResidentRead, ResidentTimeline, TimelineQuery


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
