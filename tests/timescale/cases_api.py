"""Cases for the API's named statements (api/queries.py and api/*/queries.py).

Parameters are built the way the API's services build them (``api/*/service.py``):
every optional filter present, as None when unused, and ``limit`` one more than a page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from linli.accounts import token_hash
from tests.timescale.compare import Case, Params, execute, table
from tests.timescale.seed import Seed

PAGE = 51

EVERYWHERE = {"scope_community": None, "scope_buildings": None, "scope_grids": None,
              "scope_worker": None}
"""The scope of an admin: no limit (``api.security.Principal.scope``)."""

GRID_WORKER = {"scope_community": "juxin", "scope_buildings": ["b01"], "scope_grids": ["g1"],
               "scope_worker": "w-01"}
"""The scope of juxin's grid worker w-01 (grid g1, building b01)."""


def alerts(seed: Seed, **values: Any) -> Params:
    return {**EVERYWHERE, "community": None, "statuses": None, "rule": None, "subject": None,
            "since": None, "until": None, "grid": None, "building": None, "text": None,
            "assignee": None, "after_at": None, "after_id": None, "limit": PAGE, **values}


def events(seed: Seed, **values: Any) -> Params:
    return {**EVERYWHERE, "community": None, "building": None, "device": None, "person_id": None,
            "kind": None, "direction": None, "since": None, "until": None,
            "after_at": None, "after_id": None, "limit": PAGE, **values}


def devices(seed: Seed, **values: Any) -> Params:
    return {**EVERYWHERE, "community": None, "building": None, "registered": None, "state": None,
            "active_since": seed.at(hours=2),
            "after_community": None, "after_building": None, "after_id": None,
            "limit": PAGE, **values}


def dead_letters(seed: Seed, **values: Any) -> Params:
    return {**EVERYWHERE, "shown_bytes": 16, "community": None, "since": None, "after_at": None,
            "after_id": None, "limit": PAGE, **values}


def figures(seed: Seed, **values: Any) -> Params:
    return {**EVERYWHERE, "community": None, "month": seeded_month(seed),
            "escalate_after": dt.timedelta(minutes=30), **values}


def seeded_month(seed: Seed) -> dt.date:
    """The first day of the month (in Shanghai) that alert 2 was raised in."""
    local = alert_raised_at(seed, 2).astimezone(ZoneInfo("Asia/Shanghai"))
    return local.date().replace(day=1)


def deliveries(seed: Seed, **values: Any) -> Params:
    return {**EVERYWHERE, "community": None, "status": None, "channel": None, "alert_id": None,
            "worker": None, "since": None, "after_at": None, "after_id": None, "limit": PAGE,
            **values}


def channels(seed: Seed, **values: Any) -> Params:
    return {**EVERYWHERE, "community": None, "channel": None, "since": None, **values}


def audit_entries(seed: Seed, **values: Any) -> Params:
    return {"scope_community": None, "community": None, "username": None, "action": None,
            "target": None, "since": None, "until": None, "after_at": None, "after_id": None,
            "limit": PAGE, **values}


def frequent_person(seed: Seed) -> str:
    """The resident with the most events in the seed (juxin)."""
    counts: dict[str, int] = {}
    for event in seed.rows("events"):
        if event["person_id"] and event["community"] == "juxin":
            counts[event["person_id"]] = counts.get(event["person_id"], 0) + 1
    return max(sorted(counts), key=lambda person: counts[person])


def event_cursor(seed: Seed, index: int) -> Params:
    event = seed.rows("events")[index]
    return {"after_at": event["occurred_at"], "after_id": event["event_id"]}


def alert_raised_at(seed: Seed, alert_id: int) -> Any:
    return next(a["raised_at"] for a in seed.rows("alerts") if a["id"] == alert_id)


A = "api.alerts.queries."
AU = "api.audit_log.queries."
C = "api.communities.queries."
F = "api.figures.queries."
N = "api.notifications.queries."
E = "api.events.queries."
R = "api.residents.queries."

P = "api.places.queries."
INSTALLER = {"scope_community": "juxin", "scope_buildings": ["b02"], "scope_grids": None,
             "scope_worker": None}
"""The scope of an installer given building b02."""


def placed(seed: Seed, scope: dict[str, Any], **values: Any) -> Params:
    return {**scope, "community": "juxin", **values}


def trend(seed: Seed, scope: dict[str, Any], **values: Any) -> Params:
    return {**scope, "community": "juxin", "since": seed.at(days=14),
            "timezone": "Asia/Shanghai", **values}


CASES = [
    # places (the control room's tree and plan, the watch list, the trends)
    Case(P + "PLACE_BUILDINGS", "all of juxin", lambda s: placed(s, EVERYWHERE)),
    Case(P + "PLACE_BUILDINGS", "an installer's building", lambda s: placed(s, INSTALLER)),
    Case(P + "PLACE_UNITS", "a grid worker's", lambda s: placed(s, GRID_WORKER)),
    Case(P + "PLACE_ALERTS", "all of juxin", lambda s: placed(s, EVERYWHERE)),
    Case(P + "PLACE_UNIT_ALERTS", "all of juxin", lambda s: placed(s, EVERYWHERE)),
    Case(P + "PLACE_UNIT_ALERTS", "a grid worker's", lambda s: placed(s, GRID_WORKER)),
    Case(P + "PLACE_ALERTS", "a grid worker's", lambda s: placed(s, GRID_WORKER)),
    Case(P + "PLACE_DEVICES", "recent events count as online",
         lambda s: placed(s, EVERYWHERE, now=s.at(hours=0),
                          active_within=dt.timedelta(hours=2))),
    Case(P + "PLACE_DEVICES", "an installer's building",
         lambda s: placed(s, INSTALLER, now=s.at(hours=0),
                          active_within=dt.timedelta(minutes=10))),
    Case(P + "PLACE_WATCHED", "all of juxin", lambda s: placed(s, EVERYWHERE)),
    Case(P + "PLACE_OCCUPANCY", "now, all of juxin",
         lambda s: placed(s, EVERYWHERE, now=s.at(hours=0))),
    Case(P + "PLACE_OCCUPANCY", "a grid worker's, 2 days ago",
         lambda s: placed(s, GRID_WORKER, now=s.at(hours=47))),
    Case(P + "WATCHED_RESIDENTS", "now, all of juxin",
         lambda s: placed(s, EVERYWHERE, now=s.at(hours=0))),
    Case(P + "WATCHED_RESIDENTS", "a grid worker's, 2 days ago",
         lambda s: placed(s, GRID_WORKER, now=s.at(hours=47))),
    Case(P + "TREND_ALERTS", "14 days", lambda s: trend(s, EVERYWHERE)),
    Case(P + "TREND_ALERTS", "a grid worker's", lambda s: trend(s, GRID_WORKER)),
    Case(P + "TREND_PASSAGES", "14 days, compressed chunks included",
         lambda s: trend(s, EVERYWHERE)),
    Case(P + "TREND_PASSAGES", "an installer's building", lambda s: trend(s, INSTALLER)),
    Case("api.queries.CONFIGURE_SESSION", "5s timeout",
         lambda s: {"statement_timeout": "5s"}),
    Case("api.health.queries.PING", "ping"),
    # alerts
    Case(A + "LIST_ALERTS", "first page, no filter", lambda s: alerts(s)),
    Case(A + "LIST_ALERTS", "community and active statuses",
         lambda s: alerts(s, community="juxin", statuses=["open", "acknowledged"])),
    Case(A + "LIST_ALERTS", "one resident's alerts",
         lambda s: alerts(s, community="juxin", rule="silent_resident", subject="r-0004")),
    Case(A + "LIST_ALERTS", "raised since 29 h",
         lambda s: alerts(s, since=s.at(hours=29))),
    Case(A + "LIST_ALERTS", "page after a cursor",
         lambda s: alerts(s, after_at=alert_raised_at(s, 4), after_id=4, limit=3)),
    Case(A + "LIST_ALERTS", "a grid worker's alerts", lambda s: alerts(s, **GRID_WORKER)),
    Case(A + "LIST_ALERTS", "history: archived in a window, one building, text",
         lambda s: alerts(s, community="juxin", statuses=["resolved", "archived"],
                          since=s.at(days=14), until=s.at(hours=1), grid="g1",
                          building="b01", text="ALERT 3")),
    Case(A + "GET_ALERT", "alert 2", lambda s: {"alert_id": 2, **EVERYWHERE}),
    Case(A + "GET_ALERT", "missing alert", lambda s: {"alert_id": 999, **EVERYWHERE},
         expect_empty=True),
    Case(A + "LIST_ALERTS", "dispatched to w-02",
         lambda s: alerts(s, community="juxin", assignee="w-02")),
    Case(A + "ALERT_STATE", "alert 2 for its grid worker",
         lambda s: {"alert_id": 2, **GRID_WORKER}),
    Case(A + "ALERT_STATE", "another community's alert",
         lambda s: {"alert_id": 6, **GRID_WORKER}, expect_empty=True),
    Case(A + "ALERT_TIMELINE", "alert 3", lambda s: {"alert_id": 3}),
    Case(A + "ALERT_NOTIFICATIONS", "alert 1", lambda s: {"alert_id": 1}),
    Case(A + "ALERT_SECRET_URLS", "alert 1", lambda s: {"alert_id": 1}),
    # communities (the dashboard)
    Case(C + "LIST_COMMUNITIES", "all", lambda s: {"community": None}),
    Case(C + "LIST_COMMUNITIES", "one's own", lambda s: {"community": "heping"}),
    Case(C + "GET_COMMUNITY", "juxin", lambda s: {"community": "juxin"}),
    Case(C + "ACTIVE_ALERTS_BY_RULE", "juxin",
         lambda s: {"community": "juxin", **EVERYWHERE}),
    Case(C + "ACTIVE_ALERTS_BY_RULE", "a grid worker's",
         lambda s: {"community": "juxin", **GRID_WORKER}),
    Case(C + "EVENTS_SINCE", "9 days, compressed chunks included",
         lambda s: {"community": "juxin", "since": s.at(days=9), **EVERYWHERE}),
    Case(C + "EVENTS_SINCE", "today",
         lambda s: {"community": "heping", "since": s.at(hours=20), **EVERYWHERE}),
    Case(C + "EVENTS_SINCE", "a grid worker's buildings",
         lambda s: {"community": "juxin", "since": s.at(days=9), **GRID_WORKER}),
    Case(C + "DEVICE_COUNTS", "juxin", lambda s: {"community": "juxin", **EVERYWHERE}),
    Case(C + "DEVICE_COUNTS", "a grid worker's buildings",
         lambda s: {"community": "juxin", **GRID_WORKER}),
    Case(C + "DEAD_LETTERS_SINCE", "2 days",
         lambda s: {"community": "juxin", "since": s.at(days=2), **EVERYWHERE}),
    # dead letters
    Case("api.dead_letters.queries.LIST_DEAD_LETTERS", "first page",
         lambda s: dead_letters(s)),
    Case("api.dead_letters.queries.LIST_DEAD_LETTERS", "community since 2 days",
         lambda s: dead_letters(s, community="juxin", since=s.at(days=2))),
    Case("api.dead_letters.queries.LIST_DEAD_LETTERS", "page after a cursor",
         lambda s: dead_letters(s, after_at=s.rows("dead_letters")[2]["received_at"],
                                after_id=3, limit=4)),
    # devices
    Case("api.devices.queries.LIST_DEVICES", "first page", lambda s: devices(s)),
    Case("api.devices.queries.LIST_DEVICES", "one building",
         lambda s: devices(s, community="juxin", building="b01")),
    Case("api.devices.queries.LIST_DEVICES", "unregistered",
         lambda s: devices(s, registered=False)),
    Case("api.devices.queries.LIST_DEVICES", "state unknown",
         lambda s: devices(s, state="unknown")),
    Case("api.devices.queries.LIST_DEVICES", "page after a cursor",
         lambda s: devices(s, after_community="juxin", after_building="b01",
                           after_id="b01-u1-door", limit=3)),
    # events
    Case(E + "LIST_EVENTS", "newest page", lambda s: events(s)),
    Case(E + "LIST_EVENTS", "community, 9 to 2 days ago (compressed and not)",
         lambda s: events(s, community="juxin", since=s.at(days=9), until=s.at(days=2),
                          limit=400)),
    Case(E + "LIST_EVENTS", "only compressed days",
         lambda s: events(s, community="juxin", until=s.at(days=12), limit=500)),
    Case(E + "LIST_EVENTS", "device and kind",
         lambda s: events(s, community="juxin", building="b01", device="b01-u1-door",
                          kind="passage", limit=101)),
    Case(E + "LIST_EVENTS", "an installer's building",
         lambda s: events(s, community="juxin", scope_buildings=["b02"])),
    Case(E + "LIST_EVENTS", "one person",
         lambda s: events(s, community="juxin", person_id=frequent_person(s))),
    Case(E + "LIST_EVENTS", "direction out",
         lambda s: events(s, community="heping", direction="out")),
    Case(E + "LIST_EVENTS", "page after a cursor in compressed days",
         lambda s: events(s, **event_cursor(s, 400), limit=30)),
    # residents
    Case(R + "GET_RESIDENT", "r-0000",
         lambda s: {"community": "juxin", "resident": "r-0000", **EVERYWHERE}),
    Case(R + "GET_RESIDENT", "outside a grid worker's buildings",
         lambda s: {"community": "juxin", "resident": "r-0000",
                    **GRID_WORKER, "scope_buildings": ["b99"]}, expect_empty=True),
    Case(R + "LIST_RESIDENTS", "watched residents of a grid worker",
         lambda s: {"community": "juxin", **GRID_WORKER, "building": None, "watched": True,
                    "after_id": None, "limit": PAGE}),
    Case(R + "LIST_RESIDENTS", "one building after a cursor",
         lambda s: {"community": "juxin", **EVERYWHERE, "building": "b01", "watched": None,
                    "after_id": "r-0001", "limit": 5}),
    Case("api.residents.queries.GET_PRESENCE", "a resident seen",
         lambda s: {"community": s.rows("presence")[0]["community"],
                    "resident": s.rows("presence")[0]["resident"]}),
    Case(R + "LIST_ABSENCES", "a current and an extended absence",
         lambda s: {"community": "juxin", "resident": "r-0006"}),
    Case(R + "INSERT_ABSENCE", "away for two days",
         lambda s: {"community": "juxin", "resident": "r-0004", "starts_at": s.anchor,
                    "ends_at": s.at(hours=-48), "reason": "住院", "actor": "w-01"},
         table("absences")),
    Case(R + "CANCEL_ABSENCE", "the current absence",
         lambda s: {"community": "juxin", "resident": "r-0006", "absence": 1,
                    "actor": "w-02"}, table("absences")),
    Case(R + "CANCEL_ABSENCE", "already cancelled",
         lambda s: {"community": "juxin", "resident": "r-0000", "absence": 3,
                    "actor": "w-02"}, table("absences"), expect_empty=True),
    # figures (one month in each community's time zone)
    Case(F + "FIGURES_BY_COMMUNITY", "every community", lambda s: figures(s)),
    Case(F + "FIGURES_BY_COMMUNITY", "a grid worker's",
         lambda s: figures(s, **GRID_WORKER, community="juxin")),
    Case(F + "FIGURES_BY_COMMUNITY", "a month without alerts",
         lambda s: figures(s, month=dt.date(2001, 1, 1)), expect_empty=True),
    Case(F + "FIGURES_BY_GRID", "juxin", lambda s: figures(s, community="juxin")),
    Case(F + "FIGURES_BY_GRID", "a grid worker's grids", lambda s: figures(s, **GRID_WORKER)),
    Case(F + "FIGURES_BY_WORKER", "every community", lambda s: figures(s)),
    Case(F + "FIGURES_BY_WORKER", "a grid worker's own",
         lambda s: figures(s, **GRID_WORKER, escalate_after=dt.timedelta(minutes=90))),
    Case(F + "FIGURES_BY_RULE", "juxin", lambda s: figures(s, community="juxin")),
    # notifications (the delivery log)
    Case(N + "LIST_NOTIFICATIONS", "first page", lambda s: deliveries(s)),
    Case(N + "LIST_NOTIFICATIONS", "failed pushes of one channel in juxin",
         lambda s: deliveries(s, community="juxin", status="failed", channel="tgram")),
    Case(N + "LIST_NOTIFICATIONS", "one alert, one worker, since 29 h",
         lambda s: deliveries(s, alert_id=2, worker="w-02", since=s.at(hours=29))),
    Case(N + "LIST_NOTIFICATIONS", "page after a cursor",
         lambda s: deliveries(s, after_at=s.rows("notifications")[5]["created_at"],
                              after_id=6, limit=4)),
    Case(N + "LIST_NOTIFICATIONS", "a grid worker's alerts",
         lambda s: deliveries(s, **GRID_WORKER)),
    Case(N + "WORKERS_SECRET_URLS", "two workers",
         lambda s: {"communities": ["juxin", "heping"], "workers": ["w-02", "w-01"]}),
    Case(N + "CHANNEL_COUNTS", "every channel", lambda s: channels(s)),
    Case(N + "CHANNEL_COUNTS", "one channel of juxin since 29 h",
         lambda s: channels(s, community="juxin", channel="json", since=s.at(hours=29))),
    # the audit log
    Case(AU + "LIST_AUDIT", "first page", lambda s: audit_entries(s)),
    Case(AU + "LIST_AUDIT", "an auditor of juxin",
         lambda s: audit_entries(s, scope_community="juxin", community="juxin")),
    Case(AU + "LIST_AUDIT", "one user's alert steps",
         lambda s: audit_entries(s, username="W-01", action="alert.")),
    Case(AU + "LIST_AUDIT", "a target between two times",
         lambda s: audit_entries(s, target="alert:2", since=s.at(hours=28),
                                 until=s.at(hours=26))),
    Case(AU + "LIST_AUDIT", "page after a cursor",
         lambda s: audit_entries(s, after_at=s.at(hours=27), after_id=5, limit=3)),
]

# accounts, sessions, tokens, audit (api/auth/queries.py, linli/accounts.py, linli/audit.py)
AQ = "api.auth.queries."
LA = "linli.accounts."
IDLE = dt.timedelta(hours=72)
WINDOW = dt.timedelta(minutes=15)


def new_user(seed: Seed, **values: Any) -> Params:
    return {"username": "juxin.w-03", "display_name": "网格员三", "role": "grid_worker",
            "community": "juxin", "worker": "w-03", "buildings": [],
            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA",
            "must_change_password": True, **values}


CASES += [
    Case(AQ + "PRINCIPAL_BY_SESSION", "a grid worker's live session",
         lambda s: {"token_hash": token_hash("session-w01"), "idle": IDLE}),
    Case(AQ + "PRINCIPAL_BY_SESSION", "a control room session",
         lambda s: {"token_hash": token_hash("session-ctl"), "idle": IDLE}),
    Case(AQ + "PRINCIPAL_BY_SESSION", "expired", expect_empty=True,
         params=lambda s: {"token_hash": token_hash("session-old"), "idle": IDLE}),
    Case(AQ + "PRINCIPAL_BY_SESSION", "revoked", expect_empty=True,
         params=lambda s: {"token_hash": token_hash("session-revoked"), "idle": IDLE}),
    Case(AQ + "PRINCIPAL_BY_TOKEN", "a read token",
         lambda s: {"token_hash": token_hash("linli_read")}),
    Case(AQ + "PRINCIPAL_BY_TOKEN", "a revoked token", expect_empty=True,
         params=lambda s: {"token_hash": token_hash("linli_gone")}),
    Case(AQ + "TOUCH_SESSION", "live session",
         lambda s: {"token_hash": token_hash("session-ctl")},
         snapshot="SELECT user_id, revoked_at IS NULL AS live FROM sessions ORDER BY user_id"),
    Case(AQ + "TOUCH_TOKEN", "token 1", lambda s: {"token_id": 1},
         snapshot="SELECT id, last_used_at IS NOT NULL AS used FROM api_tokens ORDER BY id"),
    Case(AQ + "RECENT_FAILURES", "a name with failures since its last login",
         lambda s: {"username": "JUXIN.W-01", "ip": "10.0.0.9", "window": WINDOW}),
    Case(AQ + "RECENT_FAILURES", "an unknown name",
         lambda s: {"username": "nobody", "ip": "10.0.0.1", "window": dt.timedelta(hours=1)}),
    Case(AQ + "INSERT_SESSION", "a new session",
         lambda s: {"token_hash": token_hash("new"), "user_id": 5,
                    "csrf_hash": token_hash("csrf-new"), "expires_at": s.at(hours=-24),
                    "ip": "10.0.0.7", "user_agent": "Mozilla/5.0"},
         snapshot="SELECT user_id, ip, user_agent FROM sessions ORDER BY user_id, ip"),
    Case(AQ + "LOGGED_IN", "with a rehash", lambda s: {"user_id": 3, "rehash": "$argon2id$x"},
         snapshot="SELECT id, password_hash, last_login_at IS NOT NULL AS in FROM users"
                  " ORDER BY id"),
    Case(AQ + "END_SESSION", "the control room's", lambda s: {"token_hash":
                                                               token_hash("session-ctl")},
         snapshot="SELECT user_id, revoked_at IS NOT NULL AS ended FROM sessions"
                  " ORDER BY user_id, ended"),
    Case(AQ + "USER_PASSWORD", "user 2", lambda s: {"user_id": 2}),
    Case(AQ + "SET_OWN_PASSWORD", "user 4", lambda s: {"user_id": 4, "password_hash": "$h"},
         snapshot="SELECT id, password_hash, must_change_password FROM users ORDER BY id"),
    Case(LA + "INSERT_USER", "a grid worker", lambda s: new_user(s),
         snapshot="SELECT username, role, community, worker FROM users ORDER BY id"),
    Case(LA + "INSERT_USER", "a taken name (any case)", expect_empty=True,
         params=lambda s: new_user(s, username="ADMIN", role="admin", community=None,
                                   worker=None)),
    Case(LA + "LIST_USERS", "everyone", lambda s: {"community": None}),
    Case(LA + "LIST_USERS", "juxin", lambda s: {"community": "juxin"}),
    Case(LA + "GET_USER_BY_NAME", "any case", lambda s: {"username": "Juxin.W-01"}),
    Case(LA + "SET_PASSWORD", "reset", lambda s: {"username": "installer",
                                                   "password_hash": "$new",
                                                   "must_change_password": True},
         snapshot="SELECT id, password_hash, must_change_password FROM users ORDER BY id"),
    Case(LA + "SET_DISABLED", "disable", lambda s: {"username": "auditor", "disabled": True},
         snapshot="SELECT id, disabled_at IS NOT NULL AS off FROM users ORDER BY id"),
    Case(LA + "SET_DISABLED", "enable", lambda s: {"username": "juxin.w-02", "disabled": False},
         snapshot="SELECT id, disabled_at IS NOT NULL AS off FROM users ORDER BY id"),
    Case(LA + "REVOKE_SESSIONS", "all but this one",
         lambda s: {"user_id": 3, "keep": token_hash("session-w01")},
         snapshot="SELECT user_id, revoked_at IS NOT NULL AS ended FROM sessions"
                  " ORDER BY user_id, ended"),
    Case(LA + "REVOKE_SESSIONS", "all", lambda s: {"user_id": 2, "keep": None},
         snapshot="SELECT user_id, revoked_at IS NOT NULL AS ended FROM sessions"
                  " ORDER BY user_id, ended"),
    Case(LA + "REVOKE_TOKENS", "user 2", lambda s: {"user_id": 2},
         snapshot="SELECT id, revoked_at IS NOT NULL AS off FROM api_tokens ORDER BY id"),
    Case(LA + "INSERT_TOKEN", "a read token",
         lambda s: {"user_id": 4, "name": "巡检", "token_hash": token_hash("linli_x"),
                    "prefix": "linli_x", "scope": "read", "expires_at": None}),
    Case(LA + "LIST_TOKENS", "user 2", lambda s: {"user_id": 2}),
    Case(LA + "REVOKE_TOKEN", "own token", lambda s: {"token_id": 1, "user_id": 2}),
    Case(LA + "REVOKE_TOKEN", "someone else's", expect_empty=True,
         params=lambda s: {"token_id": 2, "user_id": 2}),
    Case("linli.audit.INSERT_AUDIT", "a login",
         lambda s: {"user_id": 2, "username": "ctl-juxin", "role": "control_room",
                    "community": "juxin", "action": "login", "target": None,
                    "via": "session", "ip": "10.0.0.8", "detail": Jsonb({"a": 1})},
         snapshot="SELECT username, action, detail FROM audit_log ORDER BY id"),
]

# the closed loop (api/alerts/queries.py, api/links/queries.py)
def loop(alert_id: int, *, timer: bool = False, due: bool = False) -> str:
    """A snapshot of one alert's loop columns. Times a step sets to now() + an interval
    (``timer``: the escalation, ``due``: the feedback deadline) are compared as that
    interval, since now() differs per database."""
    escalate = "escalate_at - updated_at AS escalate_in" if timer else "escalate_at"
    feedback_due = "feedback_due_at - updated_at AS due_in" if due else "feedback_due_at"
    return (f"SELECT id, status, assignee, assigned_at, acknowledged_at, acknowledged_by,"
            f" {escalate}, {feedback_due}, feedback_reminded_at, resolved_at, resolved_by,"
            f" resolution, outcome, visited_at, review, reviewed_at, reviewed_by, archived_at,"
            f" archived_by, updated_at FROM alerts WHERE id = {alert_id}")


def returning_due_in(conn: Any, sql: str, params: Params,
                     copy_ok: bool) -> tuple[list[Any], int]:
    """Run the statement; its ``feedback_due_at`` (now() + an interval) as the interval."""
    rows, count = execute(conn, sql, params, copy_ok)
    row = conn.execute("SELECT now() AS now").fetchone()
    return [{**r, "feedback_due_at": r["feedback_due_at"] - row["now"]} for r in rows], count


PHOTOS = ("SELECT id, alert_id, uploaded_by, uploaded_at, content_type, sha256,"
          " octet_length(data) AS bytes FROM alert_photos ORDER BY id")


def dispatch(alert_id: int, worker: str, current: str | None) -> Params:
    return {"alert_id": alert_id, "worker": worker, "current": current, "max_tier": 3,
            "escalate_after": dt.timedelta(minutes=30)}


def feedback(alert_id: int, worker: str | None, outcome: str = "safe") -> Params:
    return {"alert_id": alert_id, "actor": worker or "ctl-juxin", "note": "上门查看",
            "outcome": outcome, "visited": outcome in ("safe", "hospital"), "worker": worker}


def photo(alert_id: int, sha: bytes, max_photos: int = 20) -> Params:
    return {"alert_id": alert_id, "actor": "juxin.w-01", "content_type": "image/png",
            "sha256": sha, "data": b"\x89PNG\r\n\x1a\n", "max_photos": max_photos}


def reviewable_alert_3(conn: Any, seed: Seed, copy_ok: bool) -> None:
    """Alert 3 (r-0001, nothing else active) closed by a person, not by the system."""
    conn.execute("UPDATE alerts SET resolved_by = 'juxin.w-01' WHERE id = 3")


CASES += [
    Case(A + "DISPATCH", "first dispatch of an open alert", lambda s: dispatch(4, "w-01", None),
         loop(4)),
    Case(A + "DISPATCH", "re-dispatch of an acknowledged alert",
         lambda s: dispatch(2, "w-02", "w-01"), loop(2, timer=True)),
    Case(A + "DISPATCH", "dispatched by someone else meanwhile",
         lambda s: dispatch(1, "w-02", None), loop(1), expect_empty=True),
    Case(A + "FEEDBACK", "the assignee, safe", lambda s: feedback(2, "w-01"), loop(2)),
    Case(A + "FEEDBACK", "the control room, false alarm",
         lambda s: feedback(4, None, "false_alarm"), loop(4)),
    Case(A + "FEEDBACK", "another worker's alert", lambda s: feedback(1, "w-02"),
         loop(1), expect_empty=True),
    Case(A + "ACCEPT", "a person's feedback", lambda s: {"alert_id": 8, "actor": "ctl-juxin"},
         loop(8)),
    Case(A + "ACCEPT", "closed by the system", lambda s: {"alert_id": 3, "actor": "ctl-juxin"},
         loop(3), expect_empty=True),
    Case(A + "RETURN_FOR_REWORK", "back to acknowledged with a new deadline",
         lambda s: {"alert_id": 3, "actor": "ctl-juxin",
                    "feedback_due": dt.timedelta(minutes=240)},
         loop(3, due=True), prepare=reviewable_alert_3, run=returning_due_in),
    Case(A + "RETURN_FOR_REWORK", "already reviewed",
         lambda s: {"alert_id": 5, "actor": "ctl-juxin",
                    "feedback_due": dt.timedelta(minutes=240)}, loop(5), expect_empty=True),
    Case(A + "ARCHIVE", "closed by the system", lambda s: {"alert_id": 3, "actor": "ctl-juxin"},
         loop(3)),
    Case(A + "ARCHIVE", "feedback not yet accepted",
         lambda s: {"alert_id": 8, "actor": "ctl-juxin"}, loop(8), expect_empty=True),
    Case(A + "INSERT_PHOTO", "a new photo", lambda s: photo(2, bytes(32)), PHOTOS),
    Case(A + "INSERT_PHOTO", "the same image again", lambda s: photo(2, bytes(range(32))),
         PHOTOS),
    Case(A + "INSERT_PHOTO", "the alert has its photos", lambda s: photo(2, bytes(32), 1),
         PHOTOS, expect_empty=True),
    Case(A + "ALERT_PHOTOS", "alert 2", lambda s: {"alert_id": 2}),
    Case(A + "GET_PHOTO", "alert 2's photo", lambda s: {"alert_id": 2, "photo_id": 1}),
    Case(A + "GET_PHOTO", "another alert's photo", lambda s: {"alert_id": 1, "photo_id": 1},
         expect_empty=True),
    Case(A + "ALERT_CONTACTS", "a resident", lambda s: {"alert_id": 2}),
    Case(A + "ALERT_CONTACTS", "a door", lambda s: {"alert_id": 4}, expect_empty=True),
    Case(A + "DISPATCH_WORKERS", "juxin: active grid workers only",
         lambda s: {"community": "juxin"}),
    Case("api.links.queries.OPEN_LINK", "a live link, its worker's account",
         lambda s: {"token": "tok-live-0000000000000000"},
         "SELECT token, opened_at FROM alert_links ORDER BY token"),
    Case("api.links.queries.OPEN_LINK", "an expired link",
         lambda s: {"token": "tok-expired-0000000000000"},
         "SELECT token, opened_at FROM alert_links ORDER BY token", expect_empty=True),
]

# the installer's console (migration 0006)
INST = "api.installer.queries."
INSTALLED = ("SELECT community, building, device, profile, name, kind, settings, updated_by"
             " FROM installed_devices ORDER BY community, building, device")
FRAMES = ("SELECT community, building, device, content_type, octet_length(data) AS bytes,"
          " uploaded_by FROM device_frames ORDER BY community, building, device")
CREDENTIALS = ("SELECT community, building, username, password_hash, issued_by"
               " FROM agent_credentials ORDER BY community, building")


def installed_b02_door(conn: Any, seed: Seed, copy_ok: bool) -> None:
    """b02's door adopted from a profile, a frame of b02's camera, b02's agent's user."""
    conn.execute(
        "INSERT INTO installed_devices (community, building, device, profile, name, kind,"
        " settings, updated_by) VALUES ('juxin', 'b02', 'b02-u1-door', 'hikvision-ds-k1t',"
        " '2栋1单元门禁', 'door', %s, 'installer')",
        (Jsonb({"host": "192.0.2.10", "password": "s3cret"}),))
    conn.execute(
        "INSERT INTO device_frames (community, building, device, content_type, data,"
        " uploaded_by) VALUES ('juxin', 'b02', 'b02-cam-1', 'image/png', %s, 'installer')",
        (b"\x89PNG\r\n\x1a\n",))
    conn.execute(
        "INSERT INTO agent_credentials (community, building, username, password_hash,"
        " issued_by) VALUES ('juxin', 'b02', 'agent-juxin-b02', '$7$101$old$old', 'installer')")


def installed(device: str, **values: Any) -> Params:
    return {"community": "juxin", "building": "b02", "device": device,
            "profile": "hikvision-ds-k1t", "name": "2栋1单元门禁", "kind": "door",
            "settings": Jsonb({"host": "192.0.2.11"}), "updated_by": "installer", **values}


CASES += [
    Case(INST + "DEVICE_IN_BUILDING", "an unregistered camera",
         lambda s: {"community": "juxin", "building": "b02", "device": "b02-cam-1"}),
    Case(INST + "DEVICE_IN_BUILDING", "another building's device",
         lambda s: {"community": "juxin", "building": "b02", "device": "b01-u1-door"},
         expect_empty=True),
    Case(INST + "LIST_INSTALLED", "b02", lambda s: {"community": "juxin", "building": "b02"},
         prepare=installed_b02_door),
    Case(INST + "LIST_INSTALLED", "nothing adopted in b01",
         lambda s: {"community": "juxin", "building": "b01"}, prepare=installed_b02_door,
         expect_empty=True),
    Case(INST + "UPSERT_INSTALLED", "adopt a device", lambda s: installed("b02-cam-1",
         profile="generic-camera", kind="camera", name=None), INSTALLED,
         prepare=installed_b02_door),
    Case(INST + "UPSERT_INSTALLED", "set a device up again", lambda s: installed("b02-u1-door"),
         INSTALLED, prepare=installed_b02_door),
    Case(INST + "UPSERT_FRAME", "a first frame",
         lambda s: {"community": "juxin", "building": "b02", "device": "b02-cam-1",
                    "content_type": "image/jpeg", "data": b"\xff\xd8\xff\xe0",
                    "uploaded_by": "installer"}, FRAMES),
    Case(INST + "UPSERT_FRAME", "a frame replaced",
         lambda s: {"community": "juxin", "building": "b02", "device": "b02-cam-1",
                    "content_type": "image/jpeg", "data": b"\xff\xd8\xff\xe0",
                    "uploaded_by": "admin"}, FRAMES, prepare=installed_b02_door),
    Case(INST + "GET_FRAME", "b02's camera",
         lambda s: {"community": "juxin", "building": "b02", "device": "b02-cam-1"},
         prepare=installed_b02_door),
    Case(INST + "GET_FRAME", "none uploaded",
         lambda s: {"community": "juxin", "building": "b01", "device": "b01-u1-door"},
         expect_empty=True),
    Case(INST + "UPSERT_AGENT_CREDENTIAL", "a first agent user",
         lambda s: {"community": "juxin", "building": "b01", "username": "agent-juxin-b01",
                    "password_hash": "$7$101$salt$hash", "issued_by": "admin"}, CREDENTIALS),
    Case(INST + "UPSERT_AGENT_CREDENTIAL", "rotated",
         lambda s: {"community": "juxin", "building": "b02", "username": "agent-juxin-b02",
                    "password_hash": "$7$101$new$new", "issued_by": "installer"}, CREDENTIALS,
         prepare=installed_b02_door),
    Case(INST + "DEVICE_EVENTS_AFTER", "a door's last two days",
         lambda s: {"community": "juxin", "building": "b01", "device": "b01-u1-door",
                    "after": s.at(days=2), "limit": 50}),
    Case(INST + "DEVICE_EVENTS_AFTER", "nothing newer",
         lambda s: {"community": "juxin", "building": "b01", "device": "b01-u1-door",
                    "after": s.at(minutes=-60), "limit": 50}, expect_empty=True),
]
