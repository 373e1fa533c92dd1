"""The health route (outside /api/v1, for load balancers and compose health checks)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import StateDep
from api.health import service
from api.health.models import HealthRead

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthRead,
            responses={503: {"model": HealthRead, "description": "A dependency failed"}})
async def health(state: StateDep, response: Response) -> HealthRead:
    """200 when the database and the broker answer, 503 naming what failed."""
    result = await service.health(state)
    if result.status != "ok":
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    return result
