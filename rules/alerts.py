"""Raising, dispatching, resolving and escalating alerts, each step a timeline row.

- ``raise_or_refresh``: a firing becomes a new alert (timeline "raised", then dispatched
  to tier 1) or bumps the active one (``fired_count``, ``updated_at``, fresh details).
- ``dispatch``: one ``notifications`` row per recipient × notify URL, in the recipient's
  language, ending with the recipient's link to the alert (``linli.pushes``); tier 1 is
  the grid workers of the alert's grid, tier 2 and later the community's control room.
  The notifier (``rules.notifier``) sends them.
- ``resolve``: the shared ``linli.alerts.RESOLVE`` plus a "resolved" timeline row.
- ``escalate_due``: open alerts whose ``escalate_at`` has passed go one tier up. The timer
  is a column, so it survives restarts and replicas share it (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from linli import pushes
from linli.alerts import ADD_TIMELINE, INSERT_NOTIFICATION, RESOLVE, SYSTEM_ACTOR, UPSERT_ALERT_LINK
from linli.settings import Settings
from rules import queries
from rules import texts as t
from rules.framework import ActiveAlert, Community, Conn, Firing, PushText, Resolution, Rule

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Raised:
    """What ``raise_or_refresh`` did: the alert, and whether it is new."""

    alert: ActiveAlert
    inserted: bool


def add_timeline(conn: Conn, alert_id: int, action: str, note: str | None,
                 data: Mapping[str, Any] | None = None, *, at: dt.datetime | None = None) -> None:
    """One row in the alert's timeline, by the system, at ``at`` (default: now)."""
    conn.execute(ADD_TIMELINE, {"alert_id": alert_id, "actor": SYSTEM_ACTOR, "action": action,
                                "note": note, "data": Jsonb(dict(data or {})), "at": at})


def _active(row: Mapping[str, Any]) -> ActiveAlert:
    return ActiveAlert(id=row["id"], rule=row["rule"], subject=row["subject"],
                       status=row["status"], tier=row["tier"], details=row["details"] or {})


def escalate_after(settings: Settings) -> dt.timedelta:
    """How long an alert may stay unacknowledged at one tier."""
    return dt.timedelta(minutes=settings.rules.escalate_after_min)


def raise_or_refresh(conn: Conn, *, community: Community, rule: Rule, firing: Firing,
                     settings: Settings, now: dt.datetime) -> Raised:
    """Insert the alert, or update the active one for the same (community, rule, subject).

    The active alert is updated first and a row inserted only when there is none, so the
    numbers people see have no gaps (an upsert would burn an id on every evaluation).
    """
    params = {
        "community": community.id, "rule": rule.name, "subject": firing.subject,
        "severity": firing.severity, "grid": firing.grid, "building": firing.building,
        "title": rule.title(firing, community.locale), "details": Jsonb(firing.details),
        "now": now, "escalate_at": now + escalate_after(settings),
    }
    row = conn.execute(queries.REFRESH_ALERT, params).fetchone()
    inserted = False
    if row is None:
        row = conn.execute(queries.INSERT_ALERT, params).fetchone()
        inserted = row is not None
        if row is None:  # another evaluator inserted it between the two statements
            row = conn.execute(queries.REFRESH_ALERT, params).fetchone()
    assert row is not None
    alert = _active(row)
    if inserted:
        add_timeline(conn, alert.id, "raised", rule.title(firing, community.locale),
                     {"rule": rule.name, "subject": firing.subject,
                      "reason": firing.details.get("reason"), "severity": firing.severity},
                     at=now)
        dispatch(conn, community=community, rule=rule, alert=alert, grid=firing.grid,
                 settings=settings, now=now, urgent=firing.severity == "critical")
        log.info("alert %d raised: %s %s in %s", alert.id, rule.name, firing.subject,
                 community.id)
    return Raised(alert=alert, inserted=inserted)


def recipients(conn: Conn, *, community: str, tier: int, grid: str | None,
               urgent: bool = False) -> list[dict[str, Any]]:
    """Tier 1: the grid's workers. Tier 2 and above: the community's control room.
    An urgent alert goes to both at once."""
    people: list[dict[str, Any]] = []
    if tier <= 1 and grid is not None:
        people += conn.execute(queries.GRID_WORKERS,
                               {"community": community, "grid": grid}).fetchall()
    if tier > 1 or urgent:
        known = {p["id"] for p in people}
        people += [p for p in conn.execute(queries.CONTROL_ROOM,
                                           {"community": community}).fetchall()
                   if p["id"] not in known]
    return people


def dispatch(conn: Conn, *, community: Community, rule: Rule | None, alert: ActiveAlert,
             grid: str | None, settings: Settings, now: dt.datetime,
             title: str = "", urgent: bool = False) -> list[int]:
    """Queue the push for every recipient of the alert's tier; returns notification ids.

    Nobody to tell at tier 1 (no grid, no worker) starts the escalation timer at once,
    so the control room hears of it on the escalation job's next run. An ``urgent``
    (critical) alert is pushed to the grid's workers and the control room together.
    """
    people = recipients(conn, community=community.id, tier=alert.tier, grid=grid,
                        urgent=urgent)
    queued: list[int] = []
    for person in people:
        locale = person["locale"] or community.locale or settings.locale
        push = _message(rule, alert, community, locale, title)
        url = link(conn, settings, alert_id=alert.id, community=community.id,
                   worker=person["id"], now=now)
        push = PushText(title=push.title, body=pushes.with_link(push.body, url, locale))
        queued += queue(conn, alert_id=alert.id, community=community.id, person=person,
                        push=push, now=now)
    names = t.join_names([p["name"] for p in people], community.locale)
    note = (t.text("timeline.dispatched", community.locale, tier=alert.tier, workers=names)
            if names else t.text("timeline.no_recipients", community.locale, tier=alert.tier))
    add_timeline(conn, alert.id, "dispatched", note,
                 {"tier": alert.tier, "workers": [p["id"] for p in people],
                  "notifications": queued, "urgent": urgent}, at=now)
    if not people and alert.tier <= 1:
        conn.execute(queries.SET_ESCALATE_AT, {"alert_id": alert.id, "escalate_at": now})
    return queued


def link(conn: Conn, settings: Settings, *, alert_id: int, community: str, worker: str,
         now: dt.datetime) -> str:
    """The URL of ``worker``'s link to the alert (made, or its expiry moved forward)."""
    row = conn.execute(UPSERT_ALERT_LINK, pushes.link_params(
        settings.api, alert_id=alert_id, community=community, worker=worker,
        now=now)).fetchone()
    assert row is not None
    return pushes.link_url(settings.api, row["token"])


def queue(conn: Conn, *, alert_id: int, community: str, person: Mapping[str, Any],
          push: PushText, now: dt.datetime, numbered: bool = False) -> list[int]:
    """Queue ``push`` on every channel of ``person``; the new notification ids.

    A push already queued with the same title is not queued again, unless ``numbered``:
    then it goes again with a numbered title (a second reminder, a second return).
    """
    queued = []
    for params in pushes.notification_params(alert_id=alert_id, community=community,
                                             worker=person["id"],
                                             notify_urls=person["notify_urls"], push=push,
                                             now=now):
        for n in range(1, pushes.MAX_REPEATS + 1 if numbered else 2):
            title = pushes.numbered(push.title, n, person.get("locale"))
            row = conn.execute(INSERT_NOTIFICATION, params | {"title": title}).fetchone()
            if row is not None:
                queued.append(row["id"])
                break
    return queued


def _message(rule: Rule | None, alert: ActiveAlert, community: Community, locale: str,
             title: str) -> PushText:
    if rule is not None:
        return rule.message(alert, community, locale)
    # An alert whose rule this process does not run (an older or newer replica's rule):
    # still tell people, with the stored title.
    return PushText(title=t.push_title(title or alert.rule, alert.tier, locale),
                    body=t.text("push.action", locale, alert_id=alert.id))


def resolve(conn: Conn, *, alert_id: int, resolution: Resolution,
            now: dt.datetime | None = None, locale: str | None = None) -> bool:
    """Resolve an active alert by the system; False when someone closed it first.

    Pushes not yet sent are withdrawn; everyone who was told gets a short "已解除" push,
    so nobody sets out for a visit that is no longer needed.
    """
    row = conn.execute(RESOLVE, {"alert_id": alert_id, "actor": SYSTEM_ACTOR,
                                 "note": resolution.note, "at": now}).fetchone()
    if row is None:
        return False
    add_timeline(conn, alert_id, "resolved", resolution.note, resolution.data, at=now)
    withdrawn = conn.execute(queries.WITHDRAW_PENDING, {"alert_id": alert_id}).fetchall()
    told = conn.execute(queries.TOLD_ABOUT, {"alert_id": alert_id}).fetchall()
    queued = []
    for person in told:
        language = person["locale"] or person["community_locale"] or locale
        title = t.text("push.resolved_title", language, title=person["alert_title"])
        body = t.text("push.resolved_body", language, note=resolution.note, alert_id=alert_id)
        added = conn.execute(INSERT_NOTIFICATION, {
            "alert_id": alert_id, "community": person["community"], "worker": person["worker"],
            "url_index": person["url_index"], "channel": person["channel"], "title": title,
            "body": body, "now": now or dt.datetime.now(dt.UTC)}).fetchone()
        if added is not None:
            queued.append(added["id"])
    if withdrawn or queued:
        add_timeline(conn, alert_id, "resolved_notice",
                     t.text("timeline.resolved_notice", locale, sent=len(queued),
                            withdrawn=len(withdrawn)),
                     {"notifications": queued, "withdrawn": [w["id"] for w in withdrawn]},
                     at=now)
    log.info("alert %d resolved by the system", alert_id)
    return True


def escalate_due(conn: Conn, *, rules: Mapping[str, Rule], settings: Settings,
                 now: dt.datetime, limit: int = 100) -> list[int]:
    """Move every open alert whose timer ran out one tier up; returns their ids.

    Runs in one transaction; each alert in its own savepoint, so one bad alert is logged
    and the others still escalate.
    """
    escalated: list[int] = []
    communities: dict[str, Community | None] = {}
    with conn.transaction():
        due = conn.execute(queries.DUE_ESCALATIONS, {"now": now, "limit": limit}).fetchall()
        for row in due:
            try:
                with conn.transaction():
                    if _escalate_one(conn, row, rules, settings, now, communities):
                        escalated.append(row["id"])
            except Exception:
                log.exception("escalating alert %s failed; going on", row["id"])
    return escalated


def _escalate_one(conn: Conn, row: Mapping[str, Any], rules: Mapping[str, Rule],
                  settings: Settings, now: dt.datetime,
                  communities: dict[str, Community | None]) -> bool:
    community = _community(conn, row["community"], settings, communities)
    if community is None:
        return False
    updated = conn.execute(queries.ESCALATE, {
        "alert_id": row["id"], "now": now, "next_escalate_at": now + escalate_after(settings),
        "max_tier": settings.rules.max_tier,
    }).fetchone()
    if updated is None:
        return False
    alert = _active(updated)
    add_timeline(conn, alert.id, "escalated",
                 t.text("timeline.escalated", community.locale, tier=alert.tier),
                 {"from_tier": alert.tier - 1, "tier": alert.tier}, at=now)
    dispatch(conn, community=community, rule=rules.get(alert.rule), alert=alert,
             grid=row["grid"], settings=settings, now=now, title=row["title"])
    log.info("alert %d escalated to tier %d", alert.id, alert.tier)
    return True


def _community(conn: Conn, community_id: str, settings: Settings,
               cache: dict[str, Community | None]) -> Community | None:
    if community_id not in cache:
        row = conn.execute(queries.COMMUNITY, {"community": community_id}).fetchone()
        cache[community_id] = Community.from_row(row, settings) if row else None
    return cache[community_id]
