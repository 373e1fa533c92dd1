"""Routes of the residents domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.pagination import Page
from api.residents import service
from api.residents.models import (
    AbsenceCancel,
    AbsenceCreate,
    AbsenceRead,
    ResidentQuery,
    ResidentRead,
    ResidentTimeline,
    TimelineQuery,
)
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["residents"])

Community = Annotated[str, Path(max_length=64)]
Resident = Annotated[str, Path(max_length=64)]
Reader = Annotated[Principal, Depends(allow(Perm.RESIDENTS_READ))]
AbsenceReader = Annotated[Principal, Depends(allow(Perm.ABSENCES_READ))]
AbsenceWriter = Annotated[Principal, Depends(allow(Perm.ABSENCES_WRITE))]


@router.get("/communities/{community}/residents", response_model=Page[ResidentRead],
            responses=ERROR_RESPONSES)
async def list_residents(conn: ConnDep, principal: Reader, community: Community,
                         query: Annotated[ResidentQuery, Query()]) -> Page[ResidentRead]:
    """Residents of one's place, by id; phones masked."""
    return await service.list_residents(conn=conn, community=community, query=query,
                                        principal=principal)


@router.get(
    "/communities/{community}/residents/{resident}/timeline",
    response_model=ResidentTimeline,
    responses=ERROR_RESPONSES,
)
async def resident_timeline(
    conn: ConnDep,
    principal: Reader,
    community: Community,
    resident: Resident,
    query: Annotated[TimelineQuery, Query()],
) -> ResidentTimeline:
    """A resident's card (contacts as one's role may see them), where last seen, their
    recent events and alerts. Audited."""
    return await service.resident_timeline(
        conn=conn, community=community, resident=resident, query=query, principal=principal
    )


ABSENCES = "/communities/{community}/residents/{resident}/absences"


@router.get(ABSENCES, response_model=list[AbsenceRead], responses=ERROR_RESPONSES)
async def list_absences(conn: ConnDep, principal: AbsenceReader, community: Community,
                        resident: Resident) -> list[AbsenceRead]:
    """The resident's registered absences (外出报备), newest first."""
    return await service.list_absences(conn=conn, community=community, resident=resident,
                                       principal=principal)


@router.post(ABSENCES, response_model=AbsenceRead, status_code=201, responses=ERROR_RESPONSES)
async def register_absence(conn: ConnDep, principal: AbsenceWriter, community: Community,
                           resident: Resident, request: AbsenceCreate) -> AbsenceRead:
    """Register "away until …": no silence alert meanwhile; a reminder if not back by then."""
    return await service.register_absence(conn=conn, community=community, resident=resident,
                                          request=request, principal=principal)


@router.post(ABSENCES + "/{absence}/cancel", response_model=AbsenceRead,
             responses=ERROR_RESPONSES)
async def cancel_absence(conn: ConnDep, principal: AbsenceWriter, community: Community,
                         resident: Resident, absence: Annotated[int, Path(ge=1, le=2**62)],
                         request: AbsenceCancel) -> AbsenceRead:
    """Back early: the watch resumes at once."""
    return await service.cancel_absence(conn=conn, community=community, resident=resident,
                                        absence=absence, request=request, principal=principal)
