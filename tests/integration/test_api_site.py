"""The control room's site: places (grids → buildings → units with status and plan
positions), the watch list of residents living alone, and the daily trends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
from psycopg.types.json import Jsonb

from api.places.service import grid_layout
from api.server import ApiServer
from tests.accounts import add_user, logged_in
from tests.integration.test_api_seed import COMMUNITY, OTHER, Db, assert_error, insert_alert

PLACES = f"/api/v1/communities/{COMMUNITY}/places"
WATCH = f"/api/v1/communities/{COMMUNITY}/watch"
TRENDS = f"/api/v1/communities/{COMMUNITY}/trends"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _buildings(body: dict[str, object]) -> dict[str, dict[str, object]]:
    grids = body["grids"]
    assert isinstance(grids, list)
    return {b["id"]: b for g in grids for b in g["buildings"]}


def test_places_hold_the_tree_with_status_and_plan(seeded: Db, control: httpx.Client) -> None:
    seeded.execute("UPDATE buildings SET plan_x = 0.2, plan_y = 0.3 WHERE id = 'b01'")
    insert_alert(seeded, grid="g1", building="b01")
    critical = insert_alert(seeded, rule="fall", subject="r-0002", grid="g1", building="b02")
    seeded.execute("UPDATE alerts SET severity = 'critical', status = 'acknowledged'"
                   " WHERE id = %s", (critical,))
    insert_alert(seeded, rule="other", subject="r-0002", status="resolved", building="b02")
    insert_alert(seeded, rule="wide", subject="x")  # about no building
    insert_alert(seeded, community=OTHER, rule="theirs", building="b01")
    seeded.execute("UPDATE devices SET last_event_at = now() WHERE id = 'b02-cam'")

    response = control.get(PLACES)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["community"]["id"] == COMMUNITY
    assert [(g["id"], g["name"], [b["id"] for b in g["buildings"]]) for g in body["grids"]] \
        == [("g1", "第一网格", ["b01", "b02"])]
    b01, b02 = _buildings(body)["b01"], _buildings(body)["b02"]
    assert b01["plan"] == {"x": 0.2, "y": 0.3, "laid_out": False}
    x, y = grid_layout(1, 2)
    assert b02["plan"] == {"x": x, "y": y, "laid_out": True}
    # A unit counts the alerts about the residents living in it.
    assert b01["units"] == [{"id": "u1", "name": "1单元", "alerts": {
        "open": 1, "acknowledged": 0, "by_severity": {"warning": 1}}}]
    assert b02["units"][0]["alerts"] == {"open": 0, "acknowledged": 1,
                                         "by_severity": {"critical": 1}}
    assert b01["alerts"] == {"open": 1, "acknowledged": 0, "by_severity": {"warning": 1}}
    assert b02["alerts"] == {"open": 0, "acknowledged": 1, "by_severity": {"critical": 1}}
    assert body["unplaced_alerts"] == {"open": 1, "acknowledged": 0,
                                       "by_severity": {"warning": 1}}
    # b01: a door reporting online and an unregistered one; b02: one offline, and a camera
    # with no status report but an event just now.
    assert b01["devices"] == {"online": 2, "offline": 0, "unknown": 0}
    assert b02["devices"] == {"online": 1, "offline": 1, "unknown": 0}
    assert (b01["watched"], b02["watched"]) == (1, 0)


def test_places_follow_the_role(seeded: Db, server: ApiServer) -> None:
    seeded.execute("INSERT INTO grids VALUES (%s, 'g2', '第二网格')", (COMMUNITY,))
    seeded.execute("UPDATE buildings SET grid = 'g2' WHERE community = %s AND id = 'b02'",
                   (COMMUNITY,))
    add_user(seeded, "w-01", "grid_worker", community=COMMUNITY, worker="w-01")
    add_user(seeded, "inst", "installer", community=COMMUNITY, buildings=["b02"])
    add_user(seeded, "ctl-heping", "control_room", community=OTHER)
    worker, installer = logged_in(server.url, "w-01"), logged_in(server.url, "inst")
    other = logged_in(server.url, "ctl-heping")
    try:
        mine = worker.get(PLACES).json()
        assert [(g["id"], list(_buildings({"grids": [g]}))) for g in mine["grids"]] \
            == [("g1", ["b01"])]
        fitted = installer.get(PLACES).json()
        assert list(_buildings(fitted)) == ["b02"]
        # An installer sees neither alerts nor residents; the position is everyone's same.
        assert (_buildings(fitted)["b02"]["alerts"], _buildings(fitted)["b02"]["watched"]) \
            == (None, None)
        assert fitted["unplaced_alerts"] is None
        assert _buildings(fitted)["b02"]["units"][0]["alerts"] is None
        assert (fitted["occupancy"], _buildings(fitted)["b02"]["occupancy"]) == (None, None)
        assert mine["occupancy"] == {"home": 0, "out": 0, "away": 0, "silent": 0,
                                     "unknown": 1}
        assert _buildings(fitted)["b02"]["plan"]["x"] == grid_layout(1, 2)[0]
        assert_error(other.get(PLACES), 404, "not_found")
    finally:
        for client in (worker, installer, other):
            client.close()


def _resident(db: Db, resident: str, name: str) -> None:
    db.execute("INSERT INTO residents (community, id, name, household, is_elderly, lives_alone)"
               " VALUES (%s, %s, %s, 'h-b02-202', true, true)", (COMMUNITY, resident, name))


def _signals(db: Db, resident: str, *, door: dt.datetime | None = None,
             direction: str | None = None, activity: dt.datetime | None = None) -> None:
    db.execute(
        "INSERT INTO resident_signals (community, resident, last_door_at, last_door_direction,"
        " last_activity_at, first_signal_at) VALUES (%s, %s, %s, %s, %s, %s)",
        (COMMUNITY, resident, door, direction, activity,
         min(t for t in (door, activity) if t is not None)))


def test_watch_says_who_is_home_out_away_or_silent(seeded: Db, control: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC)
    hour = dt.timedelta(hours=1)
    for resident, name in (("r-away", "赵"), ("r-silent", "钱"), ("r-out", "孙"),
                           ("r-home", "李"), ("r-back", "周")):
        _resident(seeded, resident, name)
    seeded.execute("INSERT INTO absences (community, resident, starts_at, ends_at, created_by)"
                   " VALUES (%s, 'r-away', %s, %s, 'ctl')", (COMMUNITY, now - hour, now + hour))
    seeded.execute("INSERT INTO absences (community, resident, starts_at, ends_at, created_by,"
                   " cancelled_at) VALUES (%s, 'r-out', %s, %s, 'ctl', now())",
                   (COMMUNITY, now - hour, now + hour))
    silent = insert_alert(seeded, subject="r-silent", raised_at=now - 2 * hour)
    _signals(seeded, "r-silent", door=now - 30 * hour, direction="in")
    _signals(seeded, "r-out", door=now - 3 * hour, direction="out")
    _signals(seeded, "r-home", door=now - 5 * hour, direction="in")
    _signals(seeded, "r-back", door=now - 5 * hour, direction="out", activity=now - hour)
    seeded.execute("INSERT INTO residents (community, id, name, is_elderly, lives_alone,"
                   " active) VALUES (%s, 'r-gone', '吴', true, true, false)", (COMMUNITY,))

    response = control.get(WATCH)
    assert response.status_code == 200, response.text
    body = response.json()
    states = {r["id"]: (r["state"], r["last_sign"], r["alert"]) for r in body["residents"]}
    assert states == {
        "r-0001": ("unknown", None, None),
        "r-away": ("away", None, None),
        "r-silent": ("silent", "door_in", silent),
        "r-out": ("out", "door_out", None),
        "r-home": ("home", "door_in", None),
        "r-back": ("home", "activity", None),
    }
    assert body["counts"] == {"home": 2, "out": 1, "away": 1, "silent": 1, "unknown": 1}
    by_id = {r["id"]: r for r in body["residents"]}
    assert by_id["r-away"]["away_until"] is not None
    assert (by_id["r-home"]["building"], by_id["r-home"]["unit"], by_id["r-home"]["room"]) \
        == ("b02", "u1", "202")
    assert by_id["r-back"]["since"] is not None and by_id["r-0001"]["since"] is None

    # The place tree counts every active resident (r-0002 too, not watched) the same way.
    places = control.get(PLACES).json()
    b01, b02 = _buildings(places)["b01"], _buildings(places)["b02"]
    assert b01["occupancy"] == {"home": 0, "out": 0, "away": 0, "silent": 0, "unknown": 1}
    assert b02["occupancy"] == {"home": 2, "out": 1, "away": 1, "silent": 1, "unknown": 1}
    assert places["occupancy"] == {"home": 2, "out": 1, "away": 1, "silent": 1, "unknown": 2}


def test_trends_count_alerts_by_rule_and_passages_per_local_day(
        seeded: Db, control: httpx.Client) -> None:
    now = dt.datetime.now(dt.UTC)
    yesterday = now - dt.timedelta(days=1)
    insert_alert(seeded, raised_at=now, status="resolved")
    insert_alert(seeded, rule="fall", raised_at=now, status="resolved")
    insert_alert(seeded, rule="fall", raised_at=yesterday, status="resolved")
    insert_alert(seeded, rule="fall", raised_at=now - dt.timedelta(days=5))  # too old
    insert_alert(seeded, community=OTHER, rule="theirs", raised_at=now)
    for when, count in ((now, 2), (now, 1), (yesterday, 3)):
        seeded.execute(
            "INSERT INTO events (event_id, occurred_at, community, building, device, kind,"
            " direction, count, source, attrs) VALUES (gen_random_uuid(), %s, %s, 'b01',"
            " 'b01-u1-door', 'passage', 'in', %s, 'door', %s)",
            (when, COMMUNITY, count, Jsonb({})))

    response = control.get(TRENDS, params={"days": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rules"] == ["fall", "silent_resident"]
    days = {d["day"]: d for d in body["days"]}
    assert len(body["days"]) == 3
    today, before = now.astimezone(SHANGHAI).date(), yesterday.astimezone(SHANGHAI).date()
    assert body["days"][-1]["day"] == today.isoformat()
    assert (days[today.isoformat()]["alerts_by_rule"], days[today.isoformat()]["passages"]) \
        == ({"fall": 1, "silent_resident": 1}, 3)
    assert (days[before.isoformat()]["alerts"], days[before.isoformat()]["passages"]) == (1, 3)
    assert len(control.get(TRENDS).json()["days"]) == 14
    for bad in ("0", "93", "x"):
        assert_error(control.get(TRENDS, params={"days": bad}), 422, "validation_error")


def test_devices_say_their_live_state(seeded: Db, control: httpx.Client) -> None:
    """A log-based door sends no status: it is active while its events arrive."""
    def live() -> dict[str, str]:
        items = control.get("/api/v1/devices").json()["items"]
        return {d["id"]: d["live_state"] for d in items}

    assert live() == {"b01-u1-door": "online", "b01-x-door": "online",
                      "b02-u1-door": "offline", "b02-cam": "quiet"}
    seeded.execute("UPDATE devices SET last_event_at = now() - interval '1 minute'"
                   " WHERE id = 'b02-cam'")
    assert live()["b02-cam"] == "active"
