"""Routes of the events domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.events import service
from api.events.models import EventQuery, EventRead
from api.pagination import Page

router = APIRouter(tags=["events"])


@router.get("/events", response_model=Page[EventRead], responses=ERROR_RESPONSES)
async def list_events(conn: ConnDep, query: Annotated[EventQuery, Query()]) -> Page[EventRead]:
    """Events, newest first, filtered; follow ``next_cursor`` for older ones."""
    return await service.list_events(conn=conn, query=query)
