"""Registered absences (外出报备) through the API: register, list, cancel, bad input."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.integration.test_api_seed import (
    COMMUNITY,
    OTHER,
    Db,
    assert_error,
)

URL = f"/api/v1/communities/{COMMUNITY}/residents/r-0001/absences"


def later(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()


def test_an_absence_is_registered_listed_and_cancelled(seeded: Db, control: httpx.Client) -> None:
    created = control.post(URL, json={"until": later(days=3),
                                  "reason": "去女儿家住几天"})
    assert created.status_code == 201, created.text
    absence = created.json()
    assert (absence["resident"], absence["created_by"], absence["reason"]) == (
        "r-0001", "ctl-1", "去女儿家住几天")
    row = seeded.execute("SELECT starts_at, ends_at FROM absences WHERE id = %s",
                         (absence["id"],)).fetchone()
    assert row["ends_at"] - row["starts_at"] > dt.timedelta(days=2, hours=23)
    assert [a["id"] for a in control.get(URL).json()] == [absence["id"]]
    cancelled = control.post(f"{URL}/{absence['id']}/cancel", json={})
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_by"] == "ctl-1" and cancelled.json()["cancelled_at"]
    again = control.post(f"{URL}/{absence['id']}/cancel", json={})
    assert_error(again, 409, "conflict")


def test_bad_absences_are_refused_with_the_field(seeded: Db, control: httpx.Client) -> None:
    past = control.post(URL, json={"until": later(hours=-1), "reason": "x"})
    assert_error(past, 422, "validation_error")
    assert past.json()["error"]["fields"][0]["field"] == "until"
    too_long = control.post(URL, json={"until": later(days=120), "reason": "x"})
    assert_error(too_long, 422, "validation_error")
    naive = control.post(URL, json={"until": "2030-01-01T08:00:00", "reason": "x"})
    assert_error(naive, 422, "validation_error")
    nul = control.post(URL, json={"until": later(days=1), "reason": "a\u0000b"})
    assert_error(nul, 422, "validation_error")
    unknown = control.post(f"/api/v1/communities/{OTHER}/residents/r-0001/absences",
                       json={"until": later(days=1), "reason": "x"})
    assert_error(unknown, 404, "not_found")
    assert_error(control.post(f"{URL}/99999999999999999999/cancel", json={}), 422,
                 "validation_error")
