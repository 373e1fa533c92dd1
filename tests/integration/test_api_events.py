"""GET /api/v1/events: filters, keyset pagination, and validation errors as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.integration.test_api_seed import (
    BASE_TIME,
    COMMUNITY,
    OTHER,
    Db,
    assert_error,
    insert_events,
    make_events,
    walk_pages,
)


def _expected_order(events: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(events, key=lambda e: (e["occurred_at"], e["event_id"]), reverse=True)
    return [str(e["event_id"]) for e in ordered]


def test_pages_cover_every_event_once_in_order(seeded: Db, api: httpx.Client) -> None:
    events = make_events(250)
    insert_events(seeded, events)

    pages = walk_pages(api, "/api/v1/events", {"limit": 37})

    assert [len(p) for p in pages] == [37] * 6 + [28]
    ids = [item["event_id"] for page in pages for item in page]
    assert ids == _expected_order(events)  # no duplicates, no gaps, newest first


def test_rows_arriving_between_pages_neither_repeat_nor_shift_older_pages(
    seeded: Db, api: httpx.Client
) -> None:
    events = make_events(60)
    insert_events(seeded, events)
    first = api.get("/api/v1/events", params={"limit": 25}).json()

    # Newer events arrive while the reader is on page one.
    insert_events(seeded, make_events(9, start=BASE_TIME + dt.timedelta(hours=1)))
    rest = walk_pages(api, "/api/v1/events", {"limit": 25, "cursor": first["next_cursor"]})

    ids = [e["event_id"] for e in first["items"]] + [e["event_id"] for p in rest for e in p]
    assert ids == _expected_order(events)


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"community": COMMUNITY}, lambda e: e["community"] == COMMUNITY),
        ({"community": COMMUNITY, "building": "b02"},
         lambda e: e["community"] == COMMUNITY and e["building"] == "b02"),
        ({"device": "b01-u1-door"}, lambda e: e["device"] == "b01-u1-door"),
        ({"person_id": "r-0001"}, lambda e: e["person_id"] == "r-0001"),
        ({"kind": "access_denied"}, lambda e: e["kind"] == "access_denied"),
        ({"direction": "out"}, lambda e: e["direction"] == "out"),
        ({"since": "2026-11-20T01:59:50Z", "until": "2026-11-20T09:59:58+08:00"},
         lambda e: BASE_TIME - dt.timedelta(seconds=10) <= e["occurred_at"]
         < BASE_TIME - dt.timedelta(seconds=2)),
    ],
)
def test_filters_select_exactly_the_matching_events(
    seeded: Db, api: httpx.Client, params: dict[str, str], keep: Any
) -> None:
    events = make_events(120)
    insert_events(seeded, events)

    pages = walk_pages(api, "/api/v1/events", {**params, "limit": 17})

    expected = _expected_order([e for e in events if keep(e)])
    assert expected, "the filter must match something for the test to mean anything"
    assert [e["event_id"] for p in pages for e in p] == expected


def test_events_carry_device_and_person_names(seeded: Db, api: httpx.Client) -> None:
    insert_events(seeded, make_events(6))

    items = api.get("/api/v1/events", params={"person_id": "r-0001"}).json()["items"]

    # r-0001 is 张桂英 in juxin only: in heping the same id names nobody we know.
    names = {(e["community"], e["device"], e["person_name"], e["device_name"]) for e in items}
    assert names == {
        (COMMUNITY, "b01-u1-door", "张桂英", "1栋1单元门禁"),
        (OTHER, "b01-u1-door", None, "和平里1栋门禁"),
    }
    assert all(e["occurred_at"].endswith("Z") for e in items)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "1001"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"kind": "teleport"}, "kind"),
        ({"direction": "sideways"}, "direction"),
        ({"since": "2026-11-20T10:00:00"}, "since"),  # no offset: ambiguous
        ({"until": "yesterday"}, "until"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyJ4Il0"}, "cursor"),  # base64 JSON of the wrong shape
        ({"comunity": COMMUNITY}, "comunity"),  # a typo must not silently list everything
    ],
)
def test_bad_query_is_a_json_422_naming_the_field(
    api: httpx.Client, params: dict[str, str], field: str
) -> None:
    error = assert_error(api.get("/api/v1/events", params=params), 422, "validation_error")
    assert field in [f["field"] for f in error["fields"]]
    assert field in error["message"]


def test_default_page_is_one_hundred(seeded: Db, api: httpx.Client) -> None:
    insert_events(seeded, make_events(130))

    body = api.get("/api/v1/events").json()

    assert len(body["items"]) == 100
    assert body["next_cursor"]
