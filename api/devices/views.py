"""Routes of the devices domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ConnDep
from api.devices import service
from api.devices.models import DeviceQuery, DeviceRead
from api.errors import ERROR_RESPONSES
from api.pagination import Page
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["devices"])


@router.get("/devices", response_model=Page[DeviceRead], responses=ERROR_RESPONSES)
async def list_devices(
    conn: ConnDep, principal: Annotated[Principal, Depends(allow(Perm.DEVICES_READ))],
    query: Annotated[DeviceQuery, Query()],
) -> Page[DeviceRead]:
    """Devices in one's place with their status; ``registered=false`` lists unknown ones."""
    return await service.list_devices(conn=conn, query=query, principal=principal)
