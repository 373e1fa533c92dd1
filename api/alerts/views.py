"""Routes of the alerts domain: reads, the steps of the loop, photos, contacts, and the
workers the control room dispatches to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.alerts import loop, photos, service
from api.alerts.models import (
    AlertAcknowledge,
    AlertArchive,
    AlertContacts,
    AlertDetail,
    AlertDispatch,
    AlertFeedback,
    AlertQuery,
    AlertRead,
    AlertReview,
    PhotoCreated,
    WorkerRead,
)
from api.deps import ConnDep, StateDep
from api.errors import ERROR_RESPONSES, ErrorResponse
from api.pagination import Page
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(prefix="/alerts", tags=["alerts"])
workers_router = APIRouter(prefix="/communities", tags=["alerts"])

Reader = Annotated[Principal, Depends(allow(Perm.ALERTS_READ))]
Handler = Annotated[Principal, Depends(allow(Perm.ALERTS_HANDLE))]
Dispatcher = Annotated[Principal, Depends(allow(Perm.ALERTS_DISPATCH))]
ContactsReader = Annotated[Principal, Depends(allow(Perm.CONTACTS_READ))]

AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the alert's id")]
PhotoId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the photo's id")]


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        403: "The role may not, or the alert is another grid worker's",
        409: "The alert's state does not allow it",
        413: "The photo is too large",
        415: "Not a JPEG or PNG image",
    }
    return {**ERROR_RESPONSES,
            **{c: {"model": ErrorResponse, "description": described[c]} for c in codes}}


_STEP = _responses(403, 409)


@router.get("", response_model=Page[AlertRead], responses=ERROR_RESPONSES)
async def list_alerts(conn: ConnDep, principal: Reader,
                      query: Annotated[AlertQuery, Query()]) -> Page[AlertRead]:
    """Alerts in one's place, newest first; repeat ``status`` to ask for several;
    ``assignee=me`` for those dispatched to oneself."""
    return await service.list_alerts(conn=conn, query=query, principal=principal)


@router.get("/{alert_id}", response_model=AlertDetail, responses=ERROR_RESPONSES)
async def get_alert(conn: ConnDep, principal: Reader, alert_id: AlertId) -> AlertDetail:
    """One alert with its timeline, notifications (never the channels' URLs) and photos."""
    return await service.get_alert(conn=conn, alert_id=alert_id, principal=principal)


@router.post("/{alert_id}/dispatch", response_model=AlertDetail, responses=_STEP)
async def dispatch(conn: ConnDep, state: StateDep, principal: Dispatcher, alert_id: AlertId,
                   body: AlertDispatch) -> AlertDetail:
    """派单 to a grid worker of the alert's community (转办 to another: ``reason`` needed);
    the worker gets a push with a link to the alert."""
    return await loop.dispatch(conn=conn, alert_id=alert_id, request=body, principal=principal,
                               settings=state.settings)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail, responses=_STEP)
async def acknowledge(conn: ConnDep, state: StateDep, principal: Handler, alert_id: AlertId,
                      body: AlertAcknowledge) -> AlertDetail:
    """Take an open alert on (409 if it is not open); the feedback deadline starts."""
    return await loop.acknowledge(conn=conn, alert_id=alert_id, request=body,
                                  principal=principal, settings=state.settings)


@router.post("/{alert_id}/photos", response_model=PhotoCreated, status_code=201,
             responses=_responses(403, 409, 413, 415), openapi_extra={"requestBody": {
                 "required": True, "description": "the image, at most 5 MB",
                 "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                             for kind in photos.PHOTO_TYPES}}})
async def upload_photo(conn: ConnDep, principal: Handler, alert_id: AlertId,
                       request: Request) -> PhotoCreated:
    """A photo for the on-site feedback: the raw JPEG or PNG body."""
    return await photos.upload(conn=conn, alert_id=alert_id, request=request,
                               principal=principal)


@router.get("/{alert_id}/photos/{photo_id}", response_class=Response,
            responses={**ERROR_RESPONSES, 200: {
                "description": "the image",
                "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in photos.PHOTO_TYPES}}})
async def get_photo(conn: ConnDep, principal: Reader, alert_id: AlertId,
                    photo_id: PhotoId) -> Response:
    """One photo of the alert; private, never cached."""
    content_type, data = await photos.photo(conn=conn, alert_id=alert_id, photo_id=photo_id,
                                            principal=principal)
    return Response(content=data, media_type=content_type, headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline"})


@router.post("/{alert_id}/feedback", response_model=AlertDetail, responses=_STEP)
async def feedback(conn: ConnDep, principal: Handler, alert_id: AlertId,
                   body: AlertFeedback) -> AlertDetail:
    """核查反馈: the outcome found on site, a note and photos; closes the alert."""
    return await loop.feedback(conn=conn, alert_id=alert_id, request=body, principal=principal)


@router.post("/{alert_id}/review", response_model=AlertDetail, responses=_STEP)
async def review(conn: ConnDep, state: StateDep, principal: Dispatcher, alert_id: AlertId,
                 body: AlertReview) -> AlertDetail:
    """考核评价: accept the feedback, or return it for rework (a note is needed)."""
    return await loop.review(conn=conn, alert_id=alert_id, request=body, principal=principal,
                             settings=state.settings)


@router.post("/{alert_id}/archive", response_model=AlertDetail, responses=_STEP)
async def archive(conn: ConnDep, principal: Dispatcher, alert_id: AlertId,
                  body: AlertArchive) -> AlertDetail:
    """归档 a closed alert whose feedback was accepted, or that closed by itself."""
    return await loop.archive(conn=conn, alert_id=alert_id, request=body, principal=principal)


@router.get("/{alert_id}/contacts", response_model=AlertContacts, responses=_responses(403))
async def contacts(conn: ConnDep, principal: ContactsReader,
                   alert_id: AlertId) -> AlertContacts:
    """The resident's phone, home and emergency contacts, read now (the read is audited)."""
    return await service.contacts(conn=conn, alert_id=alert_id, principal=principal)


@workers_router.get("/{community}/workers", response_model=list[WorkerRead],
                    responses=ERROR_RESPONSES)
async def dispatch_workers(conn: ConnDep, principal: Dispatcher,
                           community: Annotated[str, Path(max_length=64)]) -> list[WorkerRead]:
    """The community's active grid workers and their grids, to dispatch to."""
    return await service.dispatch_workers(conn=conn, community=community, principal=principal)
