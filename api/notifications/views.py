"""Routes of the notifications domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.notifications import service
from api.notifications.models import ChannelCounts, ChannelQuery, DeliveryQuery, DeliveryRead
from api.pagination import Page
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(prefix="/notifications", tags=["notifications"])

Reader = Annotated[Principal, Depends(allow(Perm.NOTIFICATIONS_READ))]


@router.get("", response_model=Page[DeliveryRead], responses=ERROR_RESPONSES)
async def list_notifications(conn: ConnDep, principal: Reader,
                             query: Annotated[DeliveryQuery, Query()]) -> Page[DeliveryRead]:
    """The delivery log: pushes newest first with status, attempts and last error (never
    a channel's URL or its secrets)."""
    return await service.list_deliveries(conn=conn, query=query, principal=principal)


@router.get("/channels", response_model=list[ChannelCounts], responses=ERROR_RESPONSES)
async def channel_counts(conn: ConnDep, principal: Reader,
                         query: Annotated[ChannelQuery, Query()]) -> list[ChannelCounts]:
    """Per channel (a notify URL's scheme): pushes sent, failed, pending and withdrawn,
    and the median and p90 of the attempts that sent or failed ones took."""
    return await service.channel_counts(conn=conn, query=query, principal=principal)
