"""The delivery log through the API: pushes per channel with status, attempts and scrubbed
errors, keyset pages, filters, per-channel counts with exact attempt percentiles, scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from api.pagination import encode_cursor
from api.server import ApiServer
from tests.accounts import add_user, logged_in
from tests.integration.test_api_seed import (
    BASE_TIME,
    COMMUNITY,
    NOTIFY_URLS,
    OTHER,
    SECRET_MARKERS,
    Db,
    assert_error,
    insert_alert,
    walk_pages,
)

HEPING_URL = "dingtalk://DINGSECRET0123456789abcdef/"


def insert_push(db: Db, alert_id: int, *, url_index: int, status: str, attempts: int,
                minutes: int, community: str = COMMUNITY, worker: str = "w-01",
                last_error: str | None = None) -> int:
    """A push to channel ``url_index`` of ``worker``, queued ``minutes`` after BASE_TIME."""
    channel = {(COMMUNITY, 0): "json://127.0.0.1:9999", (COMMUNITY, 1): "wecombot://***",
               (OTHER, 0): "dingtalk://***"}[(community, url_index)]
    created = BASE_TIME + dt.timedelta(minutes=minutes)
    row = db.execute(
        "INSERT INTO notifications (alert_id, community, worker, url_index, channel, title,"
        " body, status, attempts, next_attempt_at, created_at, sent_at, last_error)"
        " VALUES (%s, %s, %s, %s, %s, %s, '张桂英 今日未出现', %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (alert_id, community, worker, url_index, channel, f"告警 {minutes}", status, attempts,
         created, created, created if status == "sent" else None, last_error),
    ).fetchone()
    assert row is not None
    return int(row["id"])


@pytest.fixture(name="pushes")
def pushes_fixture(seeded: Db) -> dict[str, int]:
    """Pushes of two juxin alerts over both of w-01's channels, and one of heping."""
    seeded.execute("INSERT INTO grid_workers (community, id, name, notify_urls)"
                   " VALUES ('heping', 'w-09', '钱七', %s)", ([HEPING_URL],))
    first = insert_alert(seeded)
    second = insert_alert(seeded, rule="door_forced", subject="b01-u1-door",
                          raised_at=BASE_TIME + dt.timedelta(minutes=30))
    other = insert_alert(seeded, community=OTHER, subject="r-0001")
    ids = {
        "json_sent_1": insert_push(seeded, first, url_index=0, status="sent", attempts=1,
                                   minutes=1),
        "wecom_failed": insert_push(
            seeded, first, url_index=1, status="failed", attempts=3, minutes=1,
            last_error=f"{NOTIFY_URLS[1]} said: invalid webhook key "
                       "3f9a1c2e-5b7d-4e8f-9a0b-WECOMKEY4242"),
        "json_failed": insert_push(
            seeded, first, url_index=0, status="failed", attempts=6, minutes=5,
            last_error=f"POST {NOTIFY_URLS[0]} failed: 503"),
        "json_withdrawn": insert_push(seeded, first, url_index=0, status="withdrawn",
                                      attempts=0, minutes=6),
        "json_sent_2": insert_push(seeded, second, url_index=0, status="sent", attempts=2,
                                   minutes=31),
        "wecom_sent": insert_push(seeded, second, url_index=1, status="sent", attempts=1,
                                  minutes=31),
        "json_pending": insert_push(seeded, second, url_index=0, status="pending", attempts=1,
                                    minutes=40),
        "heping": insert_push(seeded, other, url_index=0, status="failed", attempts=4,
                              minutes=2, community=OTHER, worker="w-09",
                              last_error=f"{HEPING_URL} refused"),
        "first": first, "second": second, "other": other,
    }
    return ids


@pytest.fixture(name="auditor")
def auditor_fixture(seeded: Db, server: ApiServer) -> Iterator[httpx.Client]:
    """An auditor of every community."""
    add_user(seeded, "aud-all", "auditor")
    client = logged_in(server.url, "aud-all")
    yield client
    client.close()


def test_the_log_is_paged_newest_first_within_the_community(
        pushes: dict[str, int], control: httpx.Client) -> None:
    pages = walk_pages(control, "/api/v1/notifications", {"limit": 2})
    items = [item for page in pages for item in page]

    assert [len(page) for page in pages] == [2, 2, 2, 1]
    expected = ["json_pending", "wecom_sent", "json_sent_2", "json_withdrawn", "json_failed",
                "wecom_failed", "json_sent_1"]
    # two pushes of the same minute come newest id first
    assert [i["id"] for i in items] == [pushes[name] for name in expected]
    failed = next(i for i in items if i["id"] == pushes["json_failed"])
    assert (failed["alert_id"], failed["alert_rule"], failed["worker"], failed["worker_name"],
            failed["channel"], failed["status"], failed["attempts"]) == (
        pushes["first"], "silent_resident", "w-01", "王芳", "json://127.0.0.1:9999", "failed", 6)
    assert failed["last_error"] == "POST json://*** failed: 503"
    assert "body" not in failed


def test_errors_never_show_a_channel_secret(pushes: dict[str, int], control: httpx.Client,
                                            api: httpx.Client) -> None:
    texts = [control.get("/api/v1/notifications").text,
             api.get("/api/v1/notifications").text,
             api.get("/api/v1/notifications/channels").text]
    for text in texts:
        for marker in (*SECRET_MARKERS, "DINGSECRET"):
            assert marker not in text
    wecom = next(i for i in api.get("/api/v1/notifications").json()["items"]
                 if i["id"] == pushes["wecom_failed"])
    assert wecom["last_error"] is not None and "invalid webhook key" in wecom["last_error"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "failed"}, ["json_failed", "wecom_failed"]),
    ({"channel": "wecombot"}, ["wecom_sent", "wecom_failed"]),
    ({"channel": "JSON", "status": "sent"}, ["json_sent_2", "json_sent_1"]),
    ({"since": (BASE_TIME + dt.timedelta(minutes=31)).isoformat()},
     ["json_pending", "wecom_sent", "json_sent_2"]),
    ({"worker": "w-02"}, []),
])
def test_filters(params: dict[str, str], expected: list[str], pushes: dict[str, int],
                 control: httpx.Client) -> None:
    response = control.get("/api/v1/notifications", params=params)
    assert response.status_code == 200, response.text
    assert [i["id"] for i in response.json()["items"]] == [pushes[n] for n in expected]


def test_one_alerts_pushes(pushes: dict[str, int], control: httpx.Client) -> None:
    response = control.get("/api/v1/notifications", params={"alert": pushes["second"]})
    assert [i["id"] for i in response.json()["items"]] == [
        pushes["json_pending"], pushes["wecom_sent"], pushes["json_sent_2"]]


def test_channel_counts_and_attempt_percentiles(pushes: dict[str, int],
                                                control: httpx.Client,
                                                auditor: httpx.Client) -> None:
    response = control.get("/api/v1/notifications/channels")
    assert response.status_code == 200, response.text
    counts = {c["channel"]: c for c in response.json()}
    assert list(counts) == ["json", "wecombot"]
    json_ = counts["json"]
    assert (json_["total"], json_["sent"], json_["failed"], json_["pending"],
            json_["withdrawn"]) == (5, 2, 1, 1, 1)
    # finished pushes took 1, 2 and 6 attempts
    assert (json_["attempts_p50"], json_["attempts_p90"]) == (2.0, 5.2)
    assert dt.datetime.fromisoformat(json_["last_sent_at"]) == BASE_TIME + dt.timedelta(minutes=31)
    wecom = counts["wecombot"]
    assert (wecom["total"], wecom["sent"], wecom["failed"]) == (2, 1, 1)
    assert (wecom["attempts_p50"], wecom["attempts_p90"]) == (2.0, 2.8)

    everywhere = auditor.get("/api/v1/notifications/channels").json()
    assert [(c["channel"], c["failed"], c["attempts_p50"]) for c in everywhere] == [
        ("dingtalk", 1, 4.0), ("json", 1, 2.0), ("wecombot", 1, 2.0)]
    one = auditor.get("/api/v1/notifications/channels",
                      params={"community": OTHER, "channel": "dingtalk"}).json()
    assert [c["total"] for c in one] == [1]


def test_other_communities_are_out_of_reach(pushes: dict[str, int],
                                            control: httpx.Client) -> None:
    assert_error(control.get("/api/v1/notifications", params={"community": OTHER}), 404,
                 "not_found")
    assert_error(control.get("/api/v1/notifications/channels", params={"community": OTHER}),
                 404, "not_found")
    ids = [i["id"] for i in control.get("/api/v1/notifications",
                                        params={"alert": pushes["other"]}).json()["items"]]
    assert ids == []


def test_roles_without_the_log_are_refused(pushes: dict[str, int],
                                           worker: httpx.Client) -> None:
    assert_error(worker.get("/api/v1/notifications"), 403, "forbidden")
    assert_error(worker.get("/api/v1/notifications/channels"), 403, "forbidden")


@pytest.mark.parametrize("params", [
    {"status": "lost"}, {"channel": "wecom bot"}, {"alert": "0"}, {"alert": str(2**64)},
    {"since": "2026-11-20T02:00:00"}, {"cursor": "bm90LWEtY3Vyc29y"}, {"limit": "0"},
    {"unknown": "1"}, {"worker": "w\x00"},
    {"cursor": encode_cursor("2026-11-20T02:00:00+00:00", 2**70)},
])
def test_bad_parameters_are_422(params: dict[str, str], pushes: dict[str, int],
                                control: httpx.Client) -> None:
    assert_error(control.get("/api/v1/notifications", params=params), 422,
                 "validation_error")
