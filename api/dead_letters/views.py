"""Routes of the dead-letters domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.dead_letters import service
from api.dead_letters.models import DeadLetterQuery, DeadLetterRead
from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.pagination import Page
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["dead letters"])


@router.get("/dead-letters", response_model=Page[DeadLetterRead], responses=ERROR_RESPONSES)
async def list_dead_letters(
    conn: ConnDep, principal: Annotated[Principal, Depends(allow(Perm.DEAD_LETTERS_READ))],
    query: Annotated[DeadLetterQuery, Query()],
) -> Page[DeadLetterRead]:
    """Messages of one's place that ingest rejected, newest first, with reason and topic."""
    return await service.list_dead_letters(conn=conn, query=query, principal=principal)
