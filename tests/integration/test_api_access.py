"""Every route × every role: allowed, denied (403), out of place (404) or filtered.

``ROUTES`` holds one rule per ``/api/`` route: how to call it on a thing inside grid worker
w-01's grid (juxin, grid g1, building b01) and the status each role must get. A route of
the application without a rule here fails ``test_every_route_has_an_access_rule``, so a new
route cannot ship without its access decided. ``FILTERS`` then checks that lists hold only
what each role's place allows.

Roles: an admin and an auditor of every community; juxin's control room; heping's control
room (another community: juxin's things are not there for them); juxin's grid worker w-01
(grid g1 = building b01; b02 is grid g2); an installer of juxin's building b02; anonymous.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.security import api_operations
from api.server import ApiServer
from linli.settings import Settings
from tests.accounts import add_user, logged_in
from tests.integration.test_api_seed import (
    COMMUNITY,
    OTHER,
    Db,
    insert_alert,
    insert_dead_letter,
    insert_events,
    make_events,
)

ROLES = ("anonymous", "admin", "auditor", "control_room", "other_control_room", "grid_worker",
         "installer")
USERS = {  # role → (username, role, community, worker, buildings)
    "admin": ("admin", "admin", None, None, ()),
    "auditor": ("aud", "auditor", None, None, ()),
    "control_room": ("ctl", "control_room", COMMUNITY, None, ()),
    "other_control_room": ("ctl-heping", "control_room", OTHER, None, ()),
    "grid_worker": ("w-01", "grid_worker", COMMUNITY, "w-01", ()),
    "installer": ("inst", "installer", COMMUNITY, None, ("b02",)),
}
RESIDENTS = f"/api/v1/communities/{COMMUNITY}/residents"


@dataclass
class World:
    """The seeded database and what the calls need to find in it."""

    db: Db
    url: str
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def alert(self, **values: Any) -> int:
        """A fresh open alert in grid g1, building b01 (every call changes its own)."""
        values = {"subject": "r-0001", "rule": f"rule-{uuid.uuid4().hex[:8]}", "grid": "g1",
                  "building": "b01", **values}
        return insert_alert(self.db, **values)

    def closed_by_the_system(self) -> int:
        """A fresh alert in g1 that resolved itself (archived without review)."""
        alert_id = self.alert(status="resolved")
        self.db.execute("UPDATE alerts SET resolved_by = 'system' WHERE id = %s", (alert_id,))
        return alert_id

    def photo(self) -> str:
        """The path of a photo of a fresh alert in g1."""
        alert_id = self.alert()
        row = self.db.execute(
            "INSERT INTO alert_photos (alert_id, uploaded_by, content_type, sha256, data)"
            " VALUES (%s, 'w-01', 'image/png', %s, %s) RETURNING id",
            (alert_id, uuid.uuid4().bytes, b"\x89PNG\r\n\x1a\n")).fetchone()
        assert row is not None
        return f"/api/v1/alerts/{alert_id}/photos/{row['id']}"

    def absence(self) -> int:
        row = self.db.execute(
            "INSERT INTO absences (community, resident, starts_at, ends_at, created_by)"
            " VALUES (%s, 'r-0001', now(), now() + interval '1 day', 'ctl') RETURNING id",
            (COMMUNITY,)).fetchone()
        assert row is not None
        return int(row["id"])


Call = tuple[str, dict[str, Any] | None]  # (path, JSON body)
Build = Callable[[World, httpx.Client], Call]


@dataclass(frozen=True)
class Route:
    """How to call one route, and the status each role must get."""

    method: str
    path: str
    build: Build
    expect: dict[str, int]
    fresh_session: bool = False
    """Call it from a session of its own (e.g. logout, which ends the session)."""
    streaming: bool = False
    """Its answer does not end (a stream): read the status and headers only."""


def everyone(status: int, **others: int) -> dict[str, int]:
    """``status`` for every logged-in role, 401 for anonymous, ``others`` overriding."""
    return {"anonymous": 401, **dict.fromkeys(ROLES[1:], status), **others}


def readers_of_personal_data(status: int) -> dict[str, int]:
    return everyone(status, other_control_room=404, installer=403)


def handlers(status: int) -> dict[str, int]:
    """Those who act on alerts and absences: the control room and the grid worker."""
    return everyone(403, control_room=status, grid_worker=status, other_control_room=404)


def dispatchers(status: int) -> dict[str, int]:
    """Those who dispatch, review and archive: the control room."""
    return everyone(403, control_room=status, other_control_room=404)


def fitters(status: int, **others: int) -> dict[str, int]:
    """The installer's console: admins and installers; the installer of b02 finds nothing
    in b01 (404)."""
    return everyone(403, **{"admin": status, "installer": 404, **others})


BUILDING = "/api/v1/communities/{community}/buildings/{building}"
DEVICE = BUILDING + "/devices/{device}"
B01 = f"/api/v1/communities/{COMMUNITY}/buildings/b01"


def own_token(world: World, client: httpx.Client) -> Call:
    made = client.post("/api/v1/auth/tokens", json={"name": "t", "scope": "read"})
    token_id = made.json()["id"] if made.status_code == 201 else 1
    return f"/api/v1/auth/tokens/{token_id}/revoke", None


ROUTES = [
    Route("POST", "/api/v1/auth/login",
          lambda w, c: ("/api/v1/auth/login", {"username": f"nobody-{uuid.uuid4().hex[:6]}",
                                               "password": "wrong-wrong"}),
          dict.fromkeys(ROLES, 401)),
    Route("POST", "/api/v1/auth/logout", lambda w, c: ("/api/v1/auth/logout", None),
          everyone(204), fresh_session=True),
    Route("GET", "/api/v1/auth/me", lambda w, c: ("/api/v1/auth/me", None), everyone(200)),
    Route("POST", "/api/v1/auth/password",
          lambda w, c: ("/api/v1/auth/password", {"current_password": "wrong-wrong",
                                                  "new_password": "new-passphrase-1"}),
          everyone(422)),  # 422: the wrong current password, so allowed to try
    Route("GET", "/api/v1/auth/tokens", lambda w, c: ("/api/v1/auth/tokens", None),
          everyone(200)),
    Route("POST", "/api/v1/auth/tokens",
          lambda w, c: ("/api/v1/auth/tokens", {"name": "大屏", "scope": "read"}),
          everyone(201)),
    Route("POST", "/api/v1/auth/tokens/{token_id}/revoke", own_token, everyone(200)),
    Route("GET", "/api/v1/events", lambda w, c: ("/api/v1/events", None), everyone(200)),
    Route("GET", "/api/v1/devices", lambda w, c: ("/api/v1/devices", None), everyone(200)),
    Route("GET", "/api/v1/dead-letters", lambda w, c: ("/api/v1/dead-letters", None),
          everyone(200, grid_worker=403)),
    Route("GET", "/api/v1/communities", lambda w, c: ("/api/v1/communities", None),
          everyone(200)),
    Route("GET", "/api/v1/communities/{community}/summary",
          lambda w, c: (f"/api/v1/communities/{COMMUNITY}/summary", None),
          everyone(200, other_control_room=404)),
    Route("GET", "/api/v1/communities/{community}/residents",
          lambda w, c: (RESIDENTS, None), readers_of_personal_data(200)),
    Route("GET", "/api/v1/communities/{community}/residents/{resident}/timeline",
          lambda w, c: (f"{RESIDENTS}/r-0001/timeline", None), readers_of_personal_data(200)),
    Route("GET", "/api/v1/communities/{community}/residents/{resident}/absences",
          lambda w, c: (f"{RESIDENTS}/r-0001/absences", None), readers_of_personal_data(200)),
    Route("POST", "/api/v1/communities/{community}/residents/{resident}/absences",
          lambda w, c: (f"{RESIDENTS}/r-0001/absences",
                        {"until": (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat(),
                         "reason": "探亲"}),
          handlers(201)),
    Route("POST", "/api/v1/communities/{community}/residents/{resident}/absences/{absence}/cancel",
          lambda w, c: (f"{RESIDENTS}/r-0001/absences/{w.absence()}/cancel", {}),
          handlers(200)),
    Route("GET", "/api/v1/figures", lambda w, c: (f"/api/v1/figures?community={COMMUNITY}", None),
          everyone(200, installer=403, other_control_room=404)),
    Route("GET", "/api/v1/figures.csv",
          lambda w, c: (f"/api/v1/figures.csv?community={COMMUNITY}&by=grid", None),
          everyone(200, installer=403, other_control_room=404)),
    Route("GET", "/api/v1/notifications", lambda w, c: ("/api/v1/notifications", None),
          everyone(200, installer=403, grid_worker=403)),
    Route("GET", "/api/v1/notifications/channels",
          lambda w, c: ("/api/v1/notifications/channels", None),
          everyone(200, installer=403, grid_worker=403)),
    Route("GET", "/api/v1/audit", lambda w, c: ("/api/v1/audit", None),
          everyone(403, admin=200, auditor=200)),
    Route("GET", "/api/v1/alerts", lambda w, c: ("/api/v1/alerts", None),
          everyone(200, installer=403)),
    Route("GET", "/api/v1/alerts/{alert_id}",
          lambda w, c: (f"/api/v1/alerts/{w.alert()}", None),
          everyone(200, installer=403, other_control_room=404)),
    Route("POST", "/api/v1/alerts/{alert_id}/acknowledge",
          lambda w, c: (f"/api/v1/alerts/{w.alert()}/acknowledge", {}), handlers(200)),
    Route("POST", "/api/v1/alerts/{alert_id}/dispatch",
          lambda w, c: (f"/api/v1/alerts/{w.alert()}/dispatch", {"worker": "w-01"}),
          dispatchers(200)),
    Route("POST", "/api/v1/alerts/{alert_id}/photos",
          lambda w, c: (f"/api/v1/alerts/{w.alert()}/photos", {"not": "an image"}),
          handlers(415)),  # 415: allowed to upload, but JSON is no photo
    Route("GET", "/api/v1/alerts/{alert_id}/photos/{photo_id}",
          lambda w, c: (w.photo(), None),
          everyone(200, installer=403, other_control_room=404)),
    Route("POST", "/api/v1/alerts/{alert_id}/feedback",
          lambda w, c: (f"/api/v1/alerts/{w.alert()}/feedback",
                        {"outcome": "safe", "note": "上门确认平安"}),
          handlers(200)),
    Route("POST", "/api/v1/alerts/{alert_id}/review",
          lambda w, c: (f"/api/v1/alerts/{w.alert(status='resolved')}/review",
                        {"decision": "accepted"}),
          dispatchers(200)),
    Route("POST", "/api/v1/alerts/{alert_id}/archive",
          lambda w, c: (f"/api/v1/alerts/{w.closed_by_the_system()}/archive", {}),
          dispatchers(200)),
    Route("GET", "/api/v1/alerts/{alert_id}/contacts",
          lambda w, c: (f"/api/v1/alerts/{w.alert()}/contacts", None), handlers(200)),
    Route("GET", "/api/v1/communities/{community}/workers",
          lambda w, c: (f"/api/v1/communities/{COMMUNITY}/workers", None), dispatchers(200)),
    Route("GET", "/api/v1/communities/{community}/places",
          lambda w, c: (f"/api/v1/communities/{COMMUNITY}/places", None),
          everyone(200, other_control_room=404)),
    Route("GET", "/api/v1/communities/{community}/watch",
          lambda w, c: (f"/api/v1/communities/{COMMUNITY}/watch", None),
          readers_of_personal_data(200)),
    Route("GET", "/api/v1/communities/{community}/trends",
          lambda w, c: (f"/api/v1/communities/{COMMUNITY}/trends", None),
          everyone(200, installer=403, other_control_room=404)),
    Route("GET", "/api/v1/stream", lambda w, c: ("/api/v1/stream", None), everyone(200),
          streaming=True),
    # the installer's console: installers (of b02 here: b01 is not there for them) and admins
    Route("GET", "/api/v1/device-profiles", lambda w, c: ("/api/v1/device-profiles", None),
          fitters(200, installer=200)),
    Route("GET", f"{BUILDING}/installed-devices",
          lambda w, c: (f"{B01}/installed-devices", None), fitters(200)),
    Route("POST", f"{DEVICE}/adopt",
          lambda w, c: (f"{B01}/devices/b01-x-door/adopt", {"profile": "generic-log"}),
          fitters(201)),
    Route("GET", f"{BUILDING}/agent.yaml", lambda w, c: (f"{B01}/agent.yaml", None),
          fitters(200)),  # the admin adopted b01-x-door just before
    Route("POST", f"{BUILDING}/agent/credentials",
          lambda w, c: (f"{B01}/agent/credentials", {}),
          fitters(409)),  # 409: allowed, but this API knows no broker address for agents
    Route("POST", f"{DEVICE}/frame",
          lambda w, c: (f"{B01}/devices/b01-u1-door/frame", {"not": "an image"}),
          fitters(404)),  # 404: b01-u1-door is no camera
    Route("GET", f"{DEVICE}/frame", lambda w, c: (f"{B01}/devices/b01-u1-door/frame", None),
          fitters(404)),
    Route("GET", f"{DEVICE}/events/stream",
          lambda w, c: (f"{B01}/devices/b01-u1-door/events/stream", None), fitters(200),
          streaming=True),
]


def _seed(db: Db) -> None:
    """Building b02 is grid g2: grid worker w-01 (g1) sees b01 only. Alerts, events and
    dead letters in both buildings and both communities."""
    db.execute("INSERT INTO grids VALUES (%s, 'g2', '第二网格')", (COMMUNITY,))
    db.execute("UPDATE buildings SET grid = 'g2' WHERE community = %s AND id = 'b02'",
               (COMMUNITY,))
    insert_events(db, make_events(24))
    for community in (COMMUNITY, OTHER):
        for building in ("b01", "b02"):
            insert_dead_letter(db, f"linli/v1/{community}/{building}/dev/events", b"{", "bad")
    insert_alert(db, subject="r-0002", rule="in_g2", grid="g2", building="b02")
    insert_alert(db, community=OTHER, subject="r-9", rule="in_heping")


@pytest.fixture(name="world")
def world_fixture(seeded: Db, server: ApiServer) -> Iterator[World]:
    _seed(seeded)
    world = World(db=seeded, url=server.url)
    for role, (username, kind, community, worker, buildings) in USERS.items():
        add_user(seeded, username, kind, community=community, worker=worker,
                 buildings=buildings)
        world.clients[role] = logged_in(server.url, username)
    world.clients["anonymous"] = httpx.Client(base_url=server.url, timeout=10)
    yield world
    for client in world.clients.values():
        client.close()


def _routes_of_the_app(make_settings: Callable[..., Settings]) -> set[tuple[str, str]]:
    app = create_app(make_settings(database_url="postgresql://unused/unused"))
    return {(method, path) for method, path, _ in api_operations(app.routes)
            if path.startswith("/api/")}


def test_every_route_has_an_access_rule(make_settings: Callable[..., Settings]) -> None:
    ruled = {(r.method, r.path) for r in ROUTES}
    served = _routes_of_the_app(make_settings)
    assert served - ruled == set(), "routes without a rule in ROUTES (decide who may call them)"
    assert ruled - served == set(), "rules for routes that no longer exist"


def test_every_route_answers_every_role_as_its_rule_says(world: World) -> None:
    wrong = []
    for route in ROUTES:
        for role in ROLES:
            client = world.clients[role]
            if route.fresh_session and role != "anonymous":
                client = logged_in(world.url, USERS[role][0])
            path, body = route.build(world, client)
            response = _call(client, route, path, body)
            if response.status_code != route.expect[role]:
                wrong.append(f"{route.method} {route.path} as {role}: "
                             f"{response.status_code} (expected {route.expect[role]}) "
                             f"{response.text[:120]}")
            if response.status_code >= 400:
                assert response.json()["error"]["code"], response.text
    assert wrong == [], "\n".join(wrong)


def _call(client: httpx.Client, route: Route, path: str,
          body: dict[str, Any] | None) -> httpx.Response:
    if not route.streaming:
        return client.request(route.method, path, json=body)
    with client.stream(route.method, path, json=body) as response:
        if response.status_code >= 400:
            response.read()
        return response


def _items(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    return list(body["items"] if isinstance(body, dict) else body)


def _places(items: list[dict[str, Any]], *keys: str) -> set[tuple[Any, ...]]:
    return {tuple(item[k] for k in keys) for item in items}


def test_lists_hold_only_what_the_role_may_see(world: World) -> None:
    get = {role: world.clients[role].get for role in USERS}

    events = {role: _items(get[role]("/api/v1/events", params={"limit": 1000}))
              for role in USERS}
    assert _places(events["admin"], "community") == {(COMMUNITY,), (OTHER,)}
    assert _places(events["control_room"], "community") == {(COMMUNITY,)}
    assert _places(events["other_control_room"], "community") == {(OTHER,)}
    assert _places(events["grid_worker"], "community", "building") == {(COMMUNITY, "b01")}
    assert _places(events["installer"], "community", "building") == {(COMMUNITY, "b02")}
    assert {(e["person_id"], e["person_name"], e["credential"])
            for e in events["installer"]} == {(None, None, None)}
    assert any(e["person_id"] for e in events["grid_worker"])

    devices = {role: _items(get[role]("/api/v1/devices")) for role in USERS}
    assert _places(devices["grid_worker"], "building") == {("b01",)}
    assert _places(devices["installer"], "building") == {("b02",)}
    assert _places(devices["other_control_room"], "community") == {(OTHER,)}

    dead = {role: _items(get[role]("/api/v1/dead-letters"))
            for role in USERS if role != "grid_worker"}
    assert {d["topic"].split("/")[3] for d in dead["installer"]} == {"b02"}
    assert {d["topic"].split("/")[2] for d in dead["other_control_room"]} == {OTHER}
    assert len(dead["admin"]) == 4

    alerts = {role: _items(get[role]("/api/v1/alerts")) for role in USERS if role != "installer"}
    assert {a["rule"] for a in alerts["grid_worker"]} == set()  # nothing in g1 yet
    assert {a["rule"] for a in alerts["control_room"]} == {"in_g2"}
    assert {a["rule"] for a in alerts["other_control_room"]} == {"in_heping"}
    assert {a["rule"] for a in alerts["auditor"]} == {"in_g2", "in_heping"}
    mine = world.alert(grid="g1", building="b01", rule="in_g1")
    assert [a["id"] for a in _items(get["grid_worker"]("/api/v1/alerts"))] == [mine]
    assert_hidden = get["grid_worker"](f"/api/v1/alerts/{mine - 1}")  # the heping alert
    assert assert_hidden.status_code == 404

    residents = {role: _items(get[role](RESIDENTS)) for role in
                 ("admin", "auditor", "control_room", "grid_worker")}
    assert [r["id"] for r in residents["grid_worker"]] == ["r-0001"]
    assert [r["id"] for r in residents["control_room"]] == ["r-0001", "r-0002"]
    for shown in residents.values():  # lists mask phones for everyone
        assert {r["phone"] for r in shown} <= {"138****0001", "138****0002"}
    hidden = get["grid_worker"](f"{RESIDENTS}/r-0002/timeline")
    assert hidden.status_code == 404

    communities = {role: _items(get[role]("/api/v1/communities")) for role in USERS}
    assert [c["id"] for c in communities["admin"]] == [OTHER, COMMUNITY]
    assert [c["id"] for c in communities["other_control_room"]] == [OTHER]
    assert [c["id"] for c in communities["installer"]] == [COMMUNITY]


def test_contacts_are_shown_in_full_only_to_the_control_room_and_the_grid_worker(
    world: World
) -> None:
    shown = {}
    for role in ("admin", "auditor", "control_room", "grid_worker"):
        response = world.clients[role].get(f"{RESIDENTS}/r-0001/timeline")
        assert response.status_code == 200, response.text
        shown[role] = response.json()["resident"]
    for role in ("control_room", "grid_worker"):
        assert shown[role]["phone"] == "13800000001"
        assert shown[role]["emergency_contacts"][0]["phone"] == "13900000009"
        assert shown[role]["contacts_masked"] is False
    for role in ("admin", "auditor"):
        assert shown[role]["phone"] == "138****0001"
        assert shown[role]["emergency_contacts"][0]["phone"] == "139****0009"
        assert shown[role]["contacts_masked"] is True
    reads = world.db.execute(
        "SELECT username, detail FROM audit_log WHERE action = 'read.resident'"
        " AND target = %s ORDER BY id", (f"resident:{COMMUNITY}/r-0001",)).fetchall()
    assert [(r["username"], r["detail"]["contacts"]) for r in reads] == [
        ("admin", False), ("aud", False), ("ctl", True), ("w-01", True)]


def test_personal_data_reads_are_audited_with_who_and_what(world: World) -> None:
    world.clients["grid_worker"].get("/api/v1/events", params={"person_id": "r-0001"})
    world.clients["installer"].get("/api/v1/events")
    world.clients["control_room"].get(RESIDENTS, params={"watched": "true"})

    rows = world.db.execute(
        "SELECT username, role, community, action, target, via, ip, detail FROM audit_log"
        " WHERE action LIKE 'read.%' ORDER BY id").fetchall()
    assert [(r["username"], r["action"], r["target"]) for r in rows] == [
        ("w-01", "read.events", f"resident:{COMMUNITY}/r-0001"),
        ("ctl", "read.residents", f"community:{COMMUNITY}"),
    ]  # the installer's read holds no personal data
    assert rows[0]["detail"] == {"person_id": "r-0001", "limit": 100}
    assert rows[0]["ip"] == "127.0.0.1" and rows[0]["via"] == "session"
    assert rows[1]["detail"] == {"watched": True, "limit": 100}
