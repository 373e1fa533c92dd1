"""Keyset pagination: opaque cursors, the ``Page`` envelope and the shared query fields.

A cursor is the sort key of the last item of a page (e.g. its time and id), as
URL-safe base64 of a JSON list. The next page asks for rows strictly after that key, so
pages neither repeat nor skip rows even while new rows arrive at the top.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_MAX_CURSOR = 512

T = TypeVar("T", bound=BaseModel)


class PageQuery(BaseModel):
    """Query parameters every paginated list takes; domains add their filters."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")
    cursor: str | None = Field(
        None, max_length=_MAX_CURSOR, description="``next_cursor`` of the previous page"
    )


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: str | int) -> str:
    """An opaque cursor for a sort key."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *parsers: Callable[[Any], Any]) -> tuple[Any, ...]:
    """The sort key in ``cursor``, each part converted by its parser; 422 when not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(parsers):
            raise ValueError("wrong shape")
        return tuple(parse(value) for parse, value in zip(parsers, values, strict=True))
    except (binascii.Error, UnicodeError, ValueError, TypeError) as exc:
        raise InvalidInput.for_field(
            "cursor", "query", "not a cursor from this list; use next_cursor as given"
        ) from exc


def parse_aware_time(value: Any) -> dt.datetime:
    """A cursor's time part: an RFC 3339 string with an offset."""
    if not isinstance(value, str):
        raise TypeError("time must be a string")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("time has no offset")
    return parsed


def parse_int(value: Any) -> int:
    """A cursor's integer part (an id): a 64-bit integer, as the database stores."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("integer out of range")
    return value


def parse_str(value: Any) -> str:
    """A cursor's string part (an identifier)."""
    if not isinstance(value, str):
        raise TypeError("expected a string")
    if "\x00" in value:
        raise ValueError("NUL character")
    value.encode("utf-8")  # UnicodeEncodeError for a lone surrogate
    return value


def make_page(
    rows: Sequence[dict[str, Any]],
    limit: int,
    model: type[T],
    key: Callable[[T], tuple[str | int, ...]],
) -> tuple[list[T], str | None]:
    """Items and next cursor from ``limit + 1`` fetched rows (the extra row says: more).

    The caller wraps them in ``Page[XRead]``: a page typed by its item model serialises
    every field of the items.
    """
    items = [model.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_cursor(*key(items[-1])) if len(rows) > limit and items else None
    return items, next_cursor
