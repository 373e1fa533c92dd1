"""The stream route: ``GET /api/v1/stream``, Server-Sent Events for the interfaces."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from api.deps import StateDep
from api.errors import ERROR_RESPONSES
from api.live import service
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["live"])

# No ConnDep here: a stream lasts, and must not hold a pooled connection meanwhile.
Watcher = Annotated[Principal, Depends(allow(Perm.COMMUNITIES_READ, streaming=True))]


@router.get("/stream", response_class=StreamingResponse, responses={
    **ERROR_RESPONSES,
    200: {"description": "``retry: 3000``, then ``alert``, ``device`` and ``health`` events "
                         "(health at once and every 5 s) and a ``: ping`` every 15 s",
          "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def stream(state: StateDep, principal: Watcher) -> StreamingResponse:
    """Live updates of one's place: alerts (for roles that read them) and devices as they
    change, and the health of the database and the broker — also while the database is
    down. The session cookie authenticates it (``EventSource`` sends it), or a token."""
    first = await service.health_note(pool=state.pool, broker=state.broker)
    idle = dt.timedelta(hours=state.settings.api.session_idle_h)
    recheck = partial(service.still_valid, pool=state.pool, principal=principal, idle=idle)
    return StreamingResponse(
        service.events(hub=state.live, principal=principal, first_health=first,
                       recheck=recheck),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
