"""Routes of the residents domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.residents import service
from api.residents.models import (
    AbsenceCancel,
    AbsenceCreate,
    AbsenceRead,
    ResidentTimeline,
    TimelineQuery,
)

router = APIRouter(tags=["residents"])


@router.get(
    "/communities/{community}/residents/{resident}/timeline",
    response_model=ResidentTimeline,
    responses=ERROR_RESPONSES,
)
async def resident_timeline(
    conn: ConnDep,
    community: Annotated[str, Path(max_length=64)],
    resident: Annotated[str, Path(max_length=64)],
    query: Annotated[TimelineQuery, Query()],
) -> ResidentTimeline:
    """A resident: who they are, where last seen, their recent events and alerts."""
    return await service.resident_timeline(
        conn=conn, community=community, resident=resident, query=query
    )


ABSENCES = "/communities/{community}/residents/{resident}/absences"
Community = Annotated[str, Path(max_length=64)]
Resident = Annotated[str, Path(max_length=64)]


@router.get(ABSENCES, response_model=list[AbsenceRead], responses=ERROR_RESPONSES)
async def list_absences(conn: ConnDep, community: Community,
                        resident: Resident) -> list[AbsenceRead]:
    """The resident's registered absences (外出报备), newest first."""
    return await service.list_absences(conn=conn, community=community, resident=resident)


@router.post(ABSENCES, response_model=AbsenceRead, status_code=201, responses=ERROR_RESPONSES)
async def register_absence(conn: ConnDep, community: Community, resident: Resident,
                           request: AbsenceCreate) -> AbsenceRead:
    """Register "away until …": no silence alert meanwhile; a reminder if not back by then."""
    return await service.register_absence(conn=conn, community=community, resident=resident,
                                          request=request)


@router.post(ABSENCES + "/{absence}/cancel", response_model=AbsenceRead,
             responses=ERROR_RESPONSES)
async def cancel_absence(conn: ConnDep, community: Community, resident: Resident,
                         absence: Annotated[int, Path(ge=1, le=2**62)],
                         request: AbsenceCancel) -> AbsenceRead:
    """Back early: the watch resumes at once."""
    return await service.cancel_absence(conn=conn, community=community, resident=resident,
                                        absence=absence, request=request)
