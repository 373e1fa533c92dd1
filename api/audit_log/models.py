"""Pydantic models of the audit-log domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from api.pagination import PageQuery


class AuditEntryRead(BaseModel):
    """Who did or read what, when, from where (``detail`` never holds a secret)."""

    id: int
    at: dt.datetime
    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    community: str | None = None
    action: str
    target: str | None = None
    via: str | None = None
    ip: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditQuery(PageQuery):
    """Filters of ``GET /api/v1/audit``."""

    community: str | None = Field(None, max_length=64)
    user: str | None = Field(None, max_length=64, description="a username (any case)")
    action: str | None = Field(None, max_length=64,
                               description="actions starting with this, e.g. 'read.' or "
                                           "'alert.'")
    target: str | None = Field(None, max_length=200,
                               description="exactly this target, e.g. 'alert:12'")
    since: AwareDatetime | None = Field(None, description="at or after (inclusive)")
    until: AwareDatetime | None = Field(None, description="before (exclusive)")

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be later than since")
        return self


def audit_cursor_key(entry: AuditEntryRead) -> tuple[str, int]:
    """The sort key a cursor carries: (at, id)."""
    return entry.at.isoformat(), entry.id
