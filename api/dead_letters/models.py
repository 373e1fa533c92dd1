"""Pydantic models of the dead-letters domain."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, Field

from api.pagination import PageQuery

PAYLOAD_SHOWN_BYTES = 2048


class DeadLetterRead(BaseModel):
    """A rejected message: its topic, why, and (the start of) its payload as text."""

    id: int
    received_at: dt.datetime
    topic: str
    reason: str
    payload: str = Field(description="invalid UTF-8 replaced, at most 2 KB")
    payload_bytes: int = Field(description="size of the whole payload")
    payload_truncated: bool


class DeadLetterQuery(PageQuery):
    """Filters of ``GET /api/v1/dead-letters``."""

    community: str | None = Field(None, description="the community named in the topic")
    since: AwareDatetime | None = Field(None, description="received at or after")


def dead_letter_cursor_key(letter: DeadLetterRead) -> tuple[str, int]:
    """The sort key a cursor carries: (received_at, id)."""
    return letter.received_at.isoformat(), letter.id
