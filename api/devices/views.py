"""Routes of the devices domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ConnDep
from api.devices import service
from api.devices.models import DeviceQuery, DeviceRead
from api.errors import ERROR_RESPONSES
from api.pagination import Page

router = APIRouter(tags=["devices"])


@router.get("/devices", response_model=Page[DeviceRead], responses=ERROR_RESPONSES)
async def list_devices(
    conn: ConnDep, query: Annotated[DeviceQuery, Query()]
) -> Page[DeviceRead]:
    """Devices with their status; ``registered=false`` lists unknown devices."""
    return await service.list_devices(conn=conn, query=query)
