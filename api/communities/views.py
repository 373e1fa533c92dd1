"""Routes of the communities domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.communities import service
from api.communities.models import CommunityRead, CommunitySummary
from api.deps import ConnDep, StateDep
from api.errors import ERROR_RESPONSES
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(prefix="/communities", tags=["communities"])

Reader = Annotated[Principal, Depends(allow(Perm.COMMUNITIES_READ))]


@router.get("", response_model=list[CommunityRead])
async def list_communities(conn: ConnDep, principal: Reader) -> list[CommunityRead]:
    """The communities one belongs to (id, name, time zone)."""
    return await service.list_communities(conn=conn, principal=principal)


@router.get("/{community}/summary", response_model=CommunitySummary, responses=ERROR_RESPONSES)
async def summary(
    conn: ConnDep, state: StateDep, principal: Reader,
    community: Annotated[str, Path(max_length=64)],
) -> CommunitySummary:
    """Open alerts by rule, events today (community time), devices, dead letters today,
    counted within one's place."""
    return await service.summary(conn=conn, community=community, principal=principal,
                                 default_timezone=state.settings.timezone)
