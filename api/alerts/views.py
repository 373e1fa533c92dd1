"""Routes of the alerts domain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from api.alerts import service
from api.alerts.models import AlertAcknowledge, AlertDetail, AlertQuery, AlertRead, AlertResolve
from api.deps import ConnDep
from api.errors import ERROR_RESPONSES, ErrorResponse
from api.pagination import Page
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(prefix="/alerts", tags=["alerts"])

Reader = Annotated[Principal, Depends(allow(Perm.ALERTS_READ))]
Handler = Annotated[Principal, Depends(allow(Perm.ALERTS_HANDLE))]

AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the alert's id")]

_TRANSITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {"model": ErrorResponse, "description": "The alert's state does not allow it"},
}


@router.get("", response_model=Page[AlertRead], responses=ERROR_RESPONSES)
async def list_alerts(conn: ConnDep, principal: Reader,
                      query: Annotated[AlertQuery, Query()]) -> Page[AlertRead]:
    """Alerts in one's place, newest first; repeat ``status`` to ask for several."""
    return await service.list_alerts(conn=conn, query=query, principal=principal)


@router.get("/{alert_id}", response_model=AlertDetail, responses=ERROR_RESPONSES)
async def get_alert(conn: ConnDep, principal: Reader, alert_id: AlertId) -> AlertDetail:
    """One alert with its timeline and notifications (never the channels' URLs)."""
    return await service.get_alert(conn=conn, alert_id=alert_id, principal=principal)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail,
             responses=_TRANSITION_RESPONSES)
async def acknowledge(conn: ConnDep, principal: Handler, alert_id: AlertId,
                      body: AlertAcknowledge) -> AlertDetail:
    """Take an open alert on (409 if it is not open)."""
    return await service.acknowledge(conn=conn, alert_id=alert_id, request=body,
                                     principal=principal)


@router.post("/{alert_id}/resolve", response_model=AlertDetail,
             responses=_TRANSITION_RESPONSES)
async def resolve(conn: ConnDep, principal: Handler, alert_id: AlertId,
                  body: AlertResolve) -> AlertDetail:
    """Close an open or acknowledged alert with a note (409 if it is already closed)."""
    return await service.resolve(conn=conn, alert_id=alert_id, request=body,
                                 principal=principal)
