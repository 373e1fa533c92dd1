"""Routes of the communities domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.communities import service
from api.communities.models import CommunityRead, CommunitySummary
from api.deps import ConnDep, StateDep
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/communities", tags=["communities"])


@router.get("", response_model=list[CommunityRead])
async def list_communities(conn: ConnDep) -> list[CommunityRead]:
    """Every community (id, name, time zone)."""
    return await service.list_communities(conn=conn)


@router.get("/{community}/summary", response_model=CommunitySummary, responses=ERROR_RESPONSES)
async def summary(
    conn: ConnDep, state: StateDep, community: Annotated[str, Path(max_length=64)]
) -> CommunitySummary:
    """Open alerts by rule, events today (community time), devices, dead letters today."""
    return await service.summary(conn=conn, community=community,
                                 default_timezone=state.settings.timezone)
