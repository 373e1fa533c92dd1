"""Cursors and pages, the shape of validation errors, and where "today" starts (no
services needed)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest
from pydantic import BaseModel

from api.communities.service import local_day_start
from api.errors import InvalidInput, validation_fields
from api.pagination import (
    decode_cursor,
    encode_cursor,
    make_page,
    parse_aware_time,
    parse_int,
    parse_str,
)


class Item(BaseModel):
    at: dt.datetime
    id: int


def test_cursor_round_trip_keeps_microseconds_and_offset() -> None:
    at = dt.datetime(2026, 11, 22, 8, 1, 2, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    key = str(uuid.uuid4())

    cursor = encode_cursor(at.isoformat(), key)

    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # URL-safe
    assert decode_cursor(cursor, parse_aware_time, parse_str) == (at, key)


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "bm90IGpzb24",  # "not json"
        encode_cursor("2026-11-22T08:00:00"),  # too few parts
        encode_cursor("2026-11-22T08:00:00", 7),  # no offset on the time
        encode_cursor("2026-11-22T08:00:00Z", "7"),  # the id must be a number
        encode_cursor("yesterday", 7),
        encode_cursor("2026-11-22T08:00:00Z", 2**63),  # beyond bigint: never from the database
        encode_cursor("2026-11-22T08:00:00Z", -(2**63) - 1),
        base64.urlsafe_b64encode(b'["2026-11-22T08:00:00Z", true]').decode(),
    ],
)
def test_foreign_cursors_are_a_422_about_the_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor, parse_aware_time, parse_int)
    assert caught.value.status_code == 422
    assert caught.value.fields and caught.value.fields[0].field == "cursor"


@pytest.mark.parametrize("cursor", [
    base64.urlsafe_b64encode(b'["2026-11-22T08:00:00Z", "r-\\u0000"]').decode(),
    base64.urlsafe_b64encode(b'["2026-11-22T08:00:00Z", "\\ud800"]').decode(),
])
def test_cursor_strings_the_database_cannot_hold_are_a_422(cursor: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(cursor, parse_aware_time, parse_str)


def test_cursor_ids_at_the_limits_of_bigint_pass() -> None:
    for value in (2**63 - 1, -(2**63)):
        at = "2026-11-22T08:00:00+00:00"
        assert decode_cursor(encode_cursor(at, value), parse_aware_time, parse_int)[1] == value


def test_next_cursor_only_when_an_extra_row_was_fetched() -> None:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [{"at": base - dt.timedelta(seconds=i), "id": i} for i in range(4)]

    items, cursor = make_page(rows, 3, Item, lambda it: (it.at.isoformat(), it.id))
    last_items, last_cursor = make_page(rows[:3], 3, Item, lambda it: (it.at.isoformat(), it.id))

    assert [it.id for it in items] == [0, 1, 2]
    assert cursor is not None
    assert decode_cursor(cursor, parse_aware_time, parse_int) == (rows[2]["at"], 2)
    assert [it.id for it in last_items] == [0, 1, 2]
    assert last_cursor is None


def test_validation_errors_name_field_and_location() -> None:
    errors = [
        {"loc": ("query", "limit"), "msg": "Input should be less than or equal to 1000"},
        {"loc": ("body", "note"), "msg": "Field required"},
        {"loc": ("body",), "msg": "Field required"},
    ]

    fields = validation_fields(errors)

    assert [(f.field, f.location) for f in fields] == [
        ("limit", "query"), ("note", "body"), ("body", "body")]
    assert fields[0].message == "Input should be less than or equal to 1000"


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        # 2026-11-22 01:30 in Shanghai is still 2026-11-21 in UTC.
        ("Asia/Shanghai", dt.datetime(2026, 11, 21, 16, 0, tzinfo=dt.UTC)),
        ("Europe/Berlin", dt.datetime(2026, 11, 20, 23, 0, tzinfo=dt.UTC)),
        ("Mars/Olympus", dt.datetime(2026, 11, 21, 16, 0, tzinfo=dt.UTC)),  # the default
        (None, dt.datetime(2026, 11, 21, 16, 0, tzinfo=dt.UTC)),
    ],
)
def test_today_starts_at_midnight_in_the_community_zone(
    timezone: str | None, expected: dt.datetime
) -> None:
    now = dt.datetime(2026, 11, 21, 17, 30, tzinfo=dt.UTC)
    assert local_day_start(now, timezone, "Asia/Shanghai") == expected
