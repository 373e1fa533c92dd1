"""Figures through the API: alerts seeded with known timings in May 2026 (Asia/Shanghai),
exact medians and p90s, shares, scoping for a grid worker, the CSV export.

The seeded month of juxin (escalation after the default 30 minutes):

| # | grid | worker | rule | acknowledged | closed | outcome | feedback due | state |
|---|------|--------|------|--------------|--------|---------|--------------|-------|
| 1 | g1 | w-01 | silent | 5 min | 2 h | safe | 4 h | archived |
| 2 | g1 | w-01 | silent | 10 min | 1 h | false_alarm | 4 h | resolved |
| 3 | g1 | w-01 | door_forced | 40 min | 6 h | hospital | 4 h | archived |
| 4 | g1 | – | silent | – | 10 min, system | – | – | resolved |
| 5 | g1 | – | silent | – | 50 min, system | – | – | archived |
| 6 | g2 | w-02 | door_forced | 20 min | 3 h | device_fault | 2 h | resolved |
| 7 | g2 | w-02 | silent | 15 min | – | – | 1 h (passed) | acknowledged |

Alert 1 is raised at 00:30 on 1 May local time (30 April in UTC); an alert at 00:30 on
1 June local time (31 May in UTC) and one of heping lie outside juxin's May.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.server import ApiServer
from tests.accounts import add_user, logged_in
from tests.integration.conftest import StartApi
from tests.integration.test_api_seed import COMMUNITY, OTHER, Db, assert_error

MAY_FIRST_LOCAL = dt.datetime(2026, 4, 30, 16, 30, tzinfo=dt.UTC)  # 1 May 00:30 in Shanghai
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def insert_alert(db: Db, *, raised_at: dt.datetime, rule: str = "silent_resident",
                 grid: str = "g1", building: str = "b01", community: str = COMMUNITY,
                 assignee: str | None = None, ack: dt.timedelta | None = None,
                 closed: dt.timedelta | None = None, by_system: bool = False,
                 outcome: str | None = None, feedback_due: dt.timedelta | None = None,
                 archived: bool = False) -> int:
    """An alert whose steps happened at the given times after ``raised_at``."""
    status = ("archived" if archived else "resolved" if closed is not None
              else "acknowledged" if ack is not None else "open")
    resolved_at = raised_at + closed if closed is not None else None
    row = db.execute(
        "INSERT INTO alerts (community, rule, subject, status, title, raised_at, grid, building,"
        " assignee, assigned_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,"
        " outcome, feedback_due_at, review, archived_at)"
        " VALUES (%s, %s, %s, %s, 'alert', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (community, rule, f"s-{raised_at.timestamp()}-{rule}", status, raised_at, grid,
         building, assignee, raised_at if assignee else None,
         raised_at + ack if ack is not None else None, assignee,
         resolved_at, ("system" if by_system else assignee) if resolved_at else None, outcome,
         raised_at + feedback_due if feedback_due is not None else None,
         "accepted" if archived and not by_system else None,
         resolved_at + HOUR if archived and resolved_at else None),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def seed_month(db: Db) -> None:
    """The alerts of the table in the module's docstring, and those outside the month."""
    db.execute("INSERT INTO grids VALUES ('juxin', 'g2', '第二网格')")
    db.execute("INSERT INTO buildings VALUES ('juxin', 'b03', '3栋', 'g2')")
    db.execute("INSERT INTO grid_workers (community, id, name) VALUES ('juxin', 'w-02', '赵磊')")
    db.execute("INSERT INTO grid_worker_grids VALUES ('juxin', 'w-02', 'g2')")
    day = dt.timedelta(days=1)
    start = MAY_FIRST_LOCAL
    insert_alert(db, raised_at=start, assignee="w-01", ack=5 * MIN, closed=2 * HOUR,
                 outcome="safe", feedback_due=4 * HOUR, archived=True)
    insert_alert(db, raised_at=start + day, assignee="w-01", ack=10 * MIN, closed=HOUR,
                 outcome="false_alarm", feedback_due=4 * HOUR)
    insert_alert(db, raised_at=start + 2 * day, rule="door_forced", assignee="w-01",
                 ack=40 * MIN, closed=6 * HOUR, outcome="hospital", feedback_due=4 * HOUR,
                 archived=True)
    insert_alert(db, raised_at=start + 3 * day, closed=10 * MIN, by_system=True)
    insert_alert(db, raised_at=start + 4 * day, closed=50 * MIN, by_system=True, archived=True)
    insert_alert(db, raised_at=start + 5 * day, rule="door_forced", grid="g2", building="b03",
                 assignee="w-02", ack=20 * MIN, closed=3 * HOUR, outcome="device_fault",
                 feedback_due=2 * HOUR)
    insert_alert(db, raised_at=start + 6 * day, grid="g2", building="b03", assignee="w-02",
                 ack=15 * MIN, feedback_due=HOUR)
    # Outside juxin's May: 1 June 00:30 local, 30 April 23:00 local, and heping.
    insert_alert(db, raised_at=dt.datetime(2026, 5, 31, 16, 30, tzinfo=dt.UTC),
                 assignee="w-01", ack=MIN)
    insert_alert(db, raised_at=MAY_FIRST_LOCAL - 90 * MIN, assignee="w-01", ack=MIN)
    insert_alert(db, raised_at=start + day, community=OTHER, ack=2 * MIN)


@pytest.fixture(name="month")
def month_fixture(seeded: Db) -> Db:
    seed_month(seeded)
    return seeded


@pytest.fixture(name="installer")
def installer_fixture(seeded: Db, server: ApiServer) -> Iterator[httpx.Client]:
    add_user(seeded, "inst-1", "installer", community=COMMUNITY)
    client = logged_in(server.url, "inst-1")
    yield client
    client.close()


MAY = {"month": "2026-05"}


def figures(client: httpx.Client, **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/figures", params={**MAY, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


def group(report: dict[str, Any], key: str | None) -> dict[str, Any]:
    found = [g for g in report["groups"] if g["key"] == key]
    assert len(found) == 1, report["groups"]
    return dict(found[0])


def rule(group_: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(r for r in group_["rules"] if r["rule"] == name))


def test_community_figures_are_exact(month: Db, control: httpx.Client) -> None:
    report = figures(control)

    assert (report["by"], report["month"], report["escalate_after_min"]) == ("community",
                                                                            "2026-05", 30.0)
    assert [(g["community"], g["key"]) for g in report["groups"]] == [(COMMUNITY, COMMUNITY)]
    juxin = group(report, COMMUNITY)
    assert (juxin["name"], juxin["month"], juxin["raised"]) == ("聚鑫家园", "2026-05", 7)
    # acknowledged after 300, 600, 900, 1200, 2400 s
    assert (juxin["acknowledged"], juxin["ack_median_s"], juxin["ack_p90_s"]) == (5, 900.0,
                                                                                 1920.0)
    # closed after 600, 3000, 3600, 7200, 10800, 21600 s
    assert (juxin["closed"], juxin["close_median_s"], juxin["close_p90_s"]) == (6, 5400.0,
                                                                               16200.0)
    # due: the five acknowledged and #5 (unacknowledged past 30 min); #4 closed in time
    assert (juxin["ack_due"], juxin["ack_on_time"], juxin["ack_on_time_share"]) == (6, 4,
                                                                                   0.6667)
    assert (juxin["feedback_due"], juxin["feedback_on_time"],
            juxin["feedback_on_time_share"]) == (5, 2, 0.4)
    assert (juxin["settled"], juxin["resolution_rate"]) == (6, 0.8571)
    assert (juxin["archived"], juxin["completion_rate"]) == (3, 0.4286)
    assert (juxin["with_outcome"], juxin["false_alarms"], juxin["false_alarm_share"]) == (
        4, 1, 0.25)

    assert [r["rule"] for r in juxin["rules"]] == ["door_forced", "silent_resident"]
    door = rule(juxin, "door_forced")
    assert (door["raised"], door["ack_median_s"], door["ack_p90_s"]) == (2, 1800.0, 2280.0)
    assert (door["with_outcome"], door["false_alarms"], door["false_alarm_share"]) == (2, 0,
                                                                                      0.0)
    silent = rule(juxin, "silent_resident")
    assert (silent["raised"], silent["ack_median_s"], silent["ack_p90_s"]) == (5, 600.0, 840.0)
    assert (silent["with_outcome"], silent["false_alarms"], silent["false_alarm_share"]) == (
        2, 1, 0.5)


def test_grid_and_worker_figures(month: Db, control: httpx.Client) -> None:
    by_grid = figures(control, by="grid")
    assert [(g["key"], g["name"], g["raised"]) for g in by_grid["groups"]] == [
        ("g1", "第一网格", 5), ("g2", "第二网格", 2)]
    g1, g2 = group(by_grid, "g1"), group(by_grid, "g2")
    assert (g1["ack_median_s"], g1["ack_p90_s"]) == (600.0, 2040.0)
    assert (g1["close_median_s"], g1["close_p90_s"]) == (3600.0, 15840.0)
    assert (g2["ack_median_s"], g2["ack_p90_s"], g2["closed"]) == (1050.0, 1170.0, 1)

    by_worker = figures(control, by="worker")
    assert [(g["key"], g["name"], g["raised"]) for g in by_worker["groups"]] == [
        ("w-01", "王芳", 3), ("w-02", "赵磊", 2), (None, None, 2)]
    nobody = group(by_worker, None)
    assert (nobody["ack_median_s"], nobody["ack_due"], nobody["ack_on_time_share"]) == (
        None, 1, 0.0)
    assert (nobody["settled"], nobody["resolution_rate"]) == (2, 1.0)

    by_rule = figures(control, by="rule")
    assert [(g["key"], g["raised"], g["rules"]) for g in by_rule["groups"]] == [
        ("door_forced", 2, []), ("silent_resident", 5, [])]


def test_a_grid_worker_sees_their_grids_and_themselves(month: Db,
                                                       worker: httpx.Client) -> None:
    assert [(g["key"], g["raised"]) for g in figures(worker)["groups"]] == [(COMMUNITY, 5)]
    assert [g["key"] for g in figures(worker, by="grid")["groups"]] == ["g1"]
    mine = figures(worker, by="worker")["groups"]
    assert [(g["key"], g["raised"], g["ack_median_s"]) for g in mine] == [("w-01", 3, 600.0)]
    assert_error(worker.get("/api/v1/figures", params={"community": "heping"}), 404,
                 "not_found")


def test_an_admin_sees_every_community_each_in_its_month(month: Db, api: httpx.Client) -> None:
    report = figures(api)
    assert [(g["community"], g["raised"]) for g in report["groups"]] == [(OTHER, 1),
                                                                         (COMMUNITY, 7)]
    only = figures(api, community=COMMUNITY)
    assert [g["community"] for g in only["groups"]] == [COMMUNITY]
    assert figures(api, month="2026-06")["groups"][0]["raised"] == 1  # 1 June local
    assert figures(api, community=COMMUNITY, month="2026-03")["groups"] == []


def test_the_current_month_is_the_default(month: Db, api: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC)
    insert_alert(month, raised_at=now - MIN, ack=MIN / 2)
    response = api.get("/api/v1/figures", params={"community": COMMUNITY})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["month"] is None
    assert [(g["raised"], g["ack_median_s"]) for g in report["groups"]] == [(1, 30.0)]


def test_on_time_follows_the_escalation_setting(month: Db, start_api: StartApi,
                                                db_url: str) -> None:
    add_user(month, "ctl-2", "control_room", community=COMMUNITY)
    server, _ = start_api(database_url=db_url, rules={"escalate_after_min": 12})
    client = logged_in(server.url, "ctl-2")
    try:
        report = figures(client)
    finally:
        client.close()
    juxin = report["groups"][0]
    assert report["escalate_after_min"] == 12.0
    # within 12 min: #1 (5) and #2 (10); due: the five acknowledged, #5 (50 min)
    assert (juxin["ack_due"], juxin["ack_on_time"]) == (6, 2)


@pytest.mark.parametrize("params", [
    {"month": "2026-13"}, {"month": "2026-5"}, {"month": "May"}, {"by": "building"},
    {"lang": "en"}, {"month": "1999-12"}, {"community": "x" * 65},
])
def test_bad_parameters_are_422(params: dict[str, str], month: Db,
                                control: httpx.Client) -> None:
    assert_error(control.get("/api/v1/figures", params=params), 422, "validation_error")


def test_roles_without_figures_are_refused(month: Db, installer: httpx.Client) -> None:
    assert_error(installer.get("/api/v1/figures"), 403, "forbidden")
    assert_error(installer.get("/api/v1/figures.csv"), 403, "forbidden")


def read_csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM Excel needs
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_in_chinese_round_trips(month: Db, control: httpx.Client) -> None:
    rows = read_csv(control.get("/api/v1/figures.csv", params={**MAY, "by": "grid"}))

    assert [(r["网格"], r["名称"], r["规则"], r["告警数"]) for r in rows] == [
        ("g1", "第一网格", "全部", "5"), ("g1", "第一网格", "door_forced", "1"),
        ("g1", "第一网格", "silent_resident", "4"),
        ("g2", "第二网格", "全部", "2"), ("g2", "第二网格", "door_forced", "1"),
        ("g2", "第二网格", "silent_resident", "1")]
    g1 = rows[0]
    assert (g1["社区"], g1["月份"]) == (COMMUNITY, "2026-05")
    assert (g1["确认用时中位数(秒)"], g1["确认用时P90(秒)"]) == ("600", "2040")
    assert (g1["处置用时中位数(秒)"], g1["处置用时P90(秒)"]) == ("3600", "15840")
    assert (g1["化解率(%)"], g1["办结率(%)"]) == ("100.0", "60.0")
    assert (g1["按时确认率(%)"], g1["误报率(%)"]) == ("50.0", "33.3")
    g2_silent = rows[-1]
    assert (g2_silent["已处置"], g2_silent["处置用时中位数(秒)"], g2_silent["化解率(%)"]) == (
        "0", "", "0.0")

    audit = month.execute("SELECT username, action, detail FROM audit_log"
                          " WHERE action = 'export.figures'").fetchall()
    assert [(a["username"], a["detail"]["by"]) for a in audit] == [("ctl-1", "grid")]


def test_csv_in_english_by_worker(month: Db, control: httpx.Client) -> None:
    rows = read_csv(control.get("/api/v1/figures.csv",
                                params={**MAY, "by": "worker", "lang": "en"}))
    totals = [r for r in rows if r["rule"] == "all"]
    assert [(r["worker"], r["name"], r["alerts raised"]) for r in totals] == [
        ("w-01", "王芳", "3"), ("w-02", "赵磊", "2"), ("(not dispatched)", "", "2")]
    assert totals[0]["resolution rate (%)"] == "100.0"
    assert list(rows[0])[:5] == ["community", "month", "worker", "name", "rule"]


def test_csv_cells_never_start_a_formula(month: Db, control: httpx.Client) -> None:
    month.execute("UPDATE grids SET name = '=HYPERLINK(\"http://x\")' WHERE id = 'g2'")
    rows = read_csv(control.get("/api/v1/figures.csv", params={**MAY, "by": "grid"}))
    assert {r["名称"] for r in rows if r["网格"] == "g2"} == {"'=HYPERLINK(\"http://x\")"}
