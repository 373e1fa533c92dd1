"""A camera's frame for the counting-line editor: uploaded by the installer.

The agent keeps its pictures on its own disk (no frame leaves it: ``edge.camera.snapshots``),
so the API has none of its own. The installer grabs one on the agent's machine with
``linli camera snapshot`` (or takes any picture of the view) and uploads it here, a raw JPEG
or PNG body typed by its magic number as alert photos are; one per camera, replaced by the
next. The editor stretches it over the counting configuration's ``frame_size``, as the agent
scales its frames.
"""

from __future__ import annotations

from fastapi import Request

from api import audit
from api.alerts.photos import declared_type, read_limited, sniff
from api.deps import Conn
from api.errors import NotFound, UnsupportedMediaType
from api.installer import queries
from api.installer.models import FrameStored
from api.installer.service import require_device
from api.security import Principal

MAX_FRAME_BYTES = 5 * 1024 * 1024


async def upload(*, conn: Conn, principal: Principal, community: str, building: str,
                 device: str, request: Request) -> FrameStored:
    """Store the body as the camera's frame."""
    found = await require_device(conn, principal, community, building, device)
    if found["kind"] != "camera":
        raise NotFound(f"device {device!r} is not a camera")
    declared = declared_type(request)
    data = await read_limited(request, MAX_FRAME_BYTES)
    kind = sniff(data)
    if kind is None or (declared and declared != kind):
        raise UnsupportedMediaType("a frame is a JPEG or PNG image sent as the body")
    await conn.execute(queries.UPSERT_FRAME, {
        "community": community, "building": building, "device": device,
        "content_type": kind, "data": data, "uploaded_by": principal.username})
    await audit.record(conn, principal, "device.frame_uploaded",
                       f"device:{community}/{building}/{device}",
                       {"content_type": kind, "bytes": len(data)}, community=community)
    return FrameStored(content_type=kind, bytes=len(data))


async def frame(*, conn: Conn, principal: Principal, community: str, building: str,
                device: str) -> tuple[str, bytes]:
    """The camera's frame: its type and bytes; 404 when none was uploaded."""
    await require_device(conn, principal, community, building, device)
    row = await (await conn.execute(queries.GET_FRAME, {
        "community": community, "building": building, "device": device})).fetchone()
    if row is None:
        raise NotFound(f"no frame of {device!r} has been uploaded")
    return row["content_type"], bytes(row["data"])
