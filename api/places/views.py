"""Routes of the places domain: the place tree, the watch list, the trends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import ConnDep, StateDep
from api.errors import ERROR_RESPONSES
from api.places import service
from api.places.models import Places, Trends, Watch
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(prefix="/communities", tags=["places"])

CommunityId = Annotated[str, Path(max_length=64)]


@router.get("/{community}/places", response_model=Places, responses=ERROR_RESPONSES)
async def places(conn: ConnDep, community: CommunityId,
                 principal: Annotated[Principal, Depends(allow(Perm.COMMUNITIES_READ))]
                 ) -> Places:
    """Grids → buildings → units within one's place, each building with its position on
    the site plan, active alerts by severity, devices by state and watched residents."""
    return await service.places(conn=conn, community=community, principal=principal)


@router.get("/{community}/watch", response_model=Watch, responses=ERROR_RESPONSES)
async def watch(conn: ConnDep, state: StateDep, community: CommunityId,
                principal: Annotated[Principal, Depends(allow(Perm.RESIDENTS_READ))]) -> Watch:
    """Watched residents (elderly, living alone) now: home, out, away (registered absence),
    silent (an open silence alert) or unknown, with counts per state."""
    return await service.watch(conn=conn, community=community, principal=principal,
                               default_timezone=state.settings.timezone)


@router.get("/{community}/trends", response_model=Trends, responses=ERROR_RESPONSES)
async def trends(conn: ConnDep, state: StateDep, community: CommunityId,
                 principal: Annotated[Principal, Depends(allow(Perm.FIGURES_READ))],
                 days: Annotated[int, Query(ge=1, le=92)] = 14) -> Trends:
    """Per local day of the community, the last ``days`` days (today included): alerts
    raised by rule, and passages through doors."""
    return await service.trends(conn=conn, community=community, days=days,
                                principal=principal, default_timezone=state.settings.timezone)
