"""Routes of the events domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api import audit
from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.events import service
from api.events.models import EventQuery, EventRead
from api.pagination import Page
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["events"])


@router.get("/events", response_model=Page[EventRead], responses=ERROR_RESPONSES)
async def list_events(conn: ConnDep, principal: Annotated[Principal, Depends(allow(Perm.EVENTS_READ))],
                      query: Annotated[EventQuery, Query()]) -> Page[EventRead]:
    """Events in one's place, newest first, filtered; follow ``next_cursor`` for older ones.
    Who passed is left out for installers; every read of who passed is audited."""
    page = await service.list_events(conn=conn, query=query, principal=principal)
    if principal.sees_personal_data:
        await audit.record(conn, principal, "read.events", query.person_id and
                           f"resident:{principal.community_filter(query.community)}/{query.person_id}",
                           query.model_dump(mode="json", exclude_none=True, exclude={"cursor"}))
    return page
