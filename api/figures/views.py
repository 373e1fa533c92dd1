"""Routes of the figures domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api import audit
from api.deps import ConnDep, StateDep
from api.errors import ERROR_RESPONSES
from api.figures import service
from api.figures.export import figures_csv
from api.figures.models import FiguresCsvQuery, FiguresQuery, FiguresReport
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["figures"])

Reader = Annotated[Principal, Depends(allow(Perm.FIGURES_READ))]


def _escalate_after(state: StateDep) -> dt.timedelta:
    return dt.timedelta(minutes=state.settings.rules.escalate_after_min)


EscalateAfter = Annotated[dt.timedelta, Depends(_escalate_after)]


@router.get("/figures", response_model=FiguresReport, responses=ERROR_RESPONSES)
async def get_figures(conn: ConnDep, principal: Reader, escalate_after: EscalateAfter,
                      query: Annotated[FiguresQuery, Query()]) -> FiguresReport:
    """One month's figures per community, grid, worker or rule, each with its rules'.

    A grid worker sees their grids' alerts and those dispatched to them; by grid, only
    their grids' rows; by worker, only their own. The definitions of 化解率 (resolution
    rate), 办结率 (completion rate) and the on-time shares are in the README ("Figures").
    """
    return await service.figures(conn=conn, query=query, principal=principal,
                                 escalate_after=escalate_after)


@router.get("/figures.csv", response_class=Response, responses={
    **ERROR_RESPONSES,
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "CSV with a UTF-8 byte-order mark, for spreadsheets"},
})
async def get_figures_csv(conn: ConnDep, principal: Reader, escalate_after: EscalateAfter,
                          query: Annotated[FiguresCsvQuery, Query()]) -> Response:
    """The same figures as CSV (a row per group, then per rule); header in ``lang``.

    The export is audited (``export.figures``): the figures leave the system.
    """
    report = await service.figures(conn=conn, query=query, principal=principal,
                                   escalate_after=escalate_after)
    await audit.record(conn, principal, "export.figures",
                       f"community:{query.community}" if query.community else None,
                       query.model_dump(mode="json", exclude_none=True))
    filename = f"linli-figures-{query.month or 'current'}-{query.by}.csv"
    return Response(figures_csv(report, query.lang), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
