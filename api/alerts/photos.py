"""Photos filed with the on-site feedback: uploaded as a raw JPEG or PNG body, stored in
``alert_photos``, served only to those who see the alert, never cached, never logged.

The type is taken from the bytes (their magic number), not believed from the header:
a body that is not what it claims to be is refused (415), and so is one over
``MAX_PHOTO_BYTES`` (413), counted while it is read so that a false Content-Length does
not matter. Only the photo's id, type, size and hash reach the audit log.
"""

from __future__ import annotations

import hashlib

from fastapi import Request

from api import audit
from api.alerts import queries
from api.alerts.models import PhotoCreated
from api.alerts.service import alert_state, require_own
from api.deps import Conn
from api.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from api.security import Principal
from linli.alerts import ACTIVE_STATUSES

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 20
"""Photos one alert may hold."""

_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}
PHOTO_TYPES = tuple(_MAGIC)


def sniff(data: bytes) -> str | None:
    """``image/jpeg`` or ``image/png`` by the bytes' magic number, else None."""
    return next((kind for kind, magic in _MAGIC.items() if data.startswith(magic)), None)


def declared_type(request: Request) -> str:
    """The media type the request's Content-Type names, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body; 413 once more than ``limit`` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"a photo has at most {limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)


async def upload(*, conn: Conn, alert_id: int, request: Request,
                 principal: Principal) -> PhotoCreated:
    """Store the body as a photo of an active alert one may act on."""
    state = await alert_state(conn, alert_id, principal)
    require_own(state, principal)
    claimed = declared_type(request)
    if claimed not in PHOTO_TYPES:
        raise UnsupportedMediaType(f"a photo is sent as {' or '.join(PHOTO_TYPES)}, "
                                   f"not {claimed or 'no Content-Type'}")
    if state["status"] not in ACTIVE_STATUSES:
        raise Conflict(f"alert {alert_id} is {state['status']}: photos go with the feedback "
                       f"of an open or acknowledged alert")
    data = await read_limited(request, MAX_PHOTO_BYTES)
    if not data:
        raise InvalidInput.for_field("body", "body", "the photo is empty")
    if sniff(data) != claimed:
        raise UnsupportedMediaType(f"the body is not a {claimed} image")
    digest = hashlib.sha256(data).digest()
    async with conn.transaction():
        cur = await conn.execute(queries.INSERT_PHOTO, {
            "alert_id": alert_id, "actor": principal.username, "content_type": claimed,
            "sha256": digest, "data": data, "max_photos": MAX_PHOTOS})
        row = await cur.fetchone()
        if row is None:
            raise Conflict(f"alert {alert_id} already has {MAX_PHOTOS} photos")
        created = PhotoCreated(id=row["id"], sha256=digest.hex(), content_type=claimed,
                               bytes=row["bytes"])
        await audit.record(conn, principal, "alert.photo_added", f"alert:{alert_id}",
                           created.model_dump(), community=state["community"])
    return created


async def photo(*, conn: Conn, alert_id: int, photo_id: int,
                principal: Principal) -> tuple[str, bytes]:
    """A photo of an alert one sees: its type and bytes (the read is audited)."""
    state = await alert_state(conn, alert_id, principal)
    row = await (await conn.execute(queries.GET_PHOTO,
                                    {"alert_id": alert_id, "photo_id": photo_id})).fetchone()
    if row is None:
        raise NotFound(f"alert {alert_id} has no photo {photo_id}")
    await audit.record(conn, principal, "read.photo", f"alert:{alert_id}",
                       {"photo": photo_id}, community=state["community"])
    return row["content_type"], bytes(row["data"])
