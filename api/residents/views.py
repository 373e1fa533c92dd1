"""Routes of the residents domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.residents import service
from api.residents.models import ResidentTimeline, TimelineQuery

router = APIRouter(tags=["residents"])


@router.get(
    "/communities/{community}/residents/{resident}/timeline",
    response_model=ResidentTimeline,
    responses=ERROR_RESPONSES,
)
async def resident_timeline(
    conn: ConnDep,
    community: Annotated[str, Path(max_length=64)],
    resident: Annotated[str, Path(max_length=64)],
    query: Annotated[TimelineQuery, Query()],
) -> ResidentTimeline:
    """A resident: who they are, where last seen, their recent events and alerts."""
    return await service.resident_timeline(
        conn=conn, community=community, resident=resident, query=query
    )
