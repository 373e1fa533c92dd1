"""Routes of the installer's console (installers and admins, in their place)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from api.alerts.photos import PHOTO_TYPES
from api.deps import ConnDep, StateDep
from api.errors import ERROR_RESPONSES
from api.installer import follow, frames, service
from api.installer.models import AdoptRequest, Credentials, FrameStored, InstalledDevice, ProfileRead
from api.live import service as live_service
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["installer"])
Installer = Annotated[Principal, Depends(allow(Perm.DEVICES_MANAGE))]
StreamingInstaller = Annotated[Principal, Depends(allow(Perm.DEVICES_MANAGE, streaming=True))]
BUILDING = "/communities/{community}/buildings/{building}"
DEVICE = BUILDING + "/devices/{device}"
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/device-profiles", response_model=list[ProfileRead], responses=ERROR_RESPONSES)
async def list_profiles(principal: Installer) -> list[ProfileRead]:
    """The device families a device can be adopted as, with the settings each needs."""
    return service.list_profiles()


@router.get(BUILDING + "/installed-devices", response_model=list[InstalledDevice],
            responses=ERROR_RESPONSES)
async def list_installed(conn: ConnDep, principal: Installer, community: str,
                         building: str) -> list[InstalledDevice]:
    """The building's adopted devices; secrets are flags only, never values."""
    return await service.list_installed(conn=conn, principal=principal, community=community,
                                        building=building)


@router.post(DEVICE + "/adopt", response_model=InstalledDevice, responses=ERROR_RESPONSES,
             status_code=201)
async def adopt(conn: ConnDep, principal: Installer, community: str, building: str,
                device: str, body: AdoptRequest, response: Response) -> InstalledDevice:
    """Adopt a device seen on the wire from a profile (201), or change its settings (200);
    validated as ``linli hardware provision`` validates a devices file (422 names the
    field). The device becomes registered."""
    shown, inserted = await service.adopt(conn=conn, principal=principal, community=community,
                                          building=building, device=device, body=body)
    response.status_code = 201 if inserted else 200
    return shown


@router.get(BUILDING + "/agent.yaml", response_class=PlainTextResponse, responses={
    **ERROR_RESPONSES, 200: {"content": {"application/yaml": {"schema": {"type": "string"}}}}})
async def agent_config(conn: ConnDep, principal: Installer, community: str,
                       building: str) -> PlainTextResponse:
    """The building agent's configuration from its adopted devices, secrets hidden."""
    text = await service.agent_config(conn=conn, principal=principal, community=community,
                                      building=building)
    return PlainTextResponse(text, media_type="application/yaml", headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="{community}-{building}.yaml"'})


@router.post(BUILDING + "/agent/credentials", response_model=Credentials,
             responses={**ERROR_RESPONSES, 409: ERROR_RESPONSES[404]})
async def issue_credentials(conn: ConnDep, state: StateDep, principal: Installer,
                            community: str, building: str, response: Response) -> Credentials:
    """New MQTT credentials for the agent, with its full configuration: shown this once."""
    response.headers.update(NO_STORE)
    return await service.issue_credentials(conn=conn, principal=principal,
                                           settings=state.settings, community=community,
                                           building=building)


@router.post(DEVICE + "/frame", response_model=FrameStored, status_code=201, responses={
    **ERROR_RESPONSES, 413: ERROR_RESPONSES[404], 415: ERROR_RESPONSES[404]},
    openapi_extra={"requestBody": {"content": {kind: {"schema": {"type": "string",
                                                                  "format": "binary"}}
                                               for kind in PHOTO_TYPES}}})
async def upload_frame(conn: ConnDep, principal: Installer, community: str, building: str,
                       device: str, request: Request) -> FrameStored:
    """A frame of a camera's view (raw JPEG or PNG body), to draw its counting line on."""
    return await frames.upload(conn=conn, principal=principal, community=community,
                               building=building, device=device, request=request)


@router.get(DEVICE + "/frame", response_class=Response, responses={
    **ERROR_RESPONSES, 200: {"content": {kind: {} for kind in PHOTO_TYPES}}})
async def get_frame(conn: ConnDep, principal: Installer, community: str, building: str,
                    device: str) -> Response:
    """The camera's uploaded frame."""
    content_type, data = await frames.frame(conn=conn, principal=principal,
                                            community=community, building=building,
                                            device=device)
    return Response(data, media_type=content_type, headers=NO_STORE)


@router.get(DEVICE + "/events/stream", response_class=StreamingResponse, responses={
    **ERROR_RESPONSES,
    200: {"description": "``event`` events (the device's, newest last, without person or "
                         "credential), ``device`` and ``health`` events, ``: ping``",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def follow_device(state: StateDep, principal: StreamingInstaller, community: str,
                        building: str, device: str) -> StreamingResponse:
    """"Test this device": its events of the last day, then each new one as it arrives."""
    async with state.pool.connection() as conn:
        await service.require_device(conn, principal, community, building, device)
    first = await live_service.health_note(pool=state.pool, broker=state.broker)
    idle = dt.timedelta(hours=state.settings.api.session_idle_h)
    recheck = partial(live_service.still_valid, pool=state.pool, principal=principal, idle=idle)
    return StreamingResponse(
        follow.events(hub=state.live, pool=state.pool, principal=principal,
                      community=community, building=building, device=device,
                      first_health=first, recheck=recheck),
        media_type="text/event-stream", headers={**NO_STORE, "X-Accel-Buffering": "no"})
