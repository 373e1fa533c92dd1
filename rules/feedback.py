"""Reminders of overdue on-site feedback (核查反馈超时提醒).

Acknowledging an alert starts a deadline for the on-site feedback
(``alerts.feedback_due_at``, ``rules.feedback_due_min`` later; a returned review starts a
new one). ``remind_overdue`` runs with the rules service's periodic job: every
acknowledged alert past its deadline and not yet reminded of gets one push to its
assignee and the community's control room, each ending with the recipient's link, and a
``feedback_overdue`` row in its timeline. ``feedback_reminded_at`` records the reminder in
the same transaction, so a restart or a second rules process never reminds twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from linli import pushes
from linli.alerts import PUSH_RECIPIENT
from linli.settings import Settings
from rules import queries
from rules import texts as t
from rules.alerts import add_timeline, link, queue
from rules.framework import Community, Conn, PushText

log = logging.getLogger(__name__)


def remind_overdue(conn: Conn, *, settings: Settings, now: dt.datetime,
                   limit: int = 100) -> list[int]:
    """Remind of every alert whose feedback is overdue; returns their ids.

    One transaction; each alert in its own savepoint, so one bad alert is logged and the
    others are still reminded of.
    """
    reminded: list[int] = []
    with conn.transaction():
        due = conn.execute(queries.DUE_FEEDBACK, {"now": now, "limit": limit}).fetchall()
        for row in due:
            try:
                with conn.transaction():
                    if _remind(conn, row, settings, now):
                        reminded.append(row["id"])
            except Exception:
                log.exception("reminding of alert %s's feedback failed; going on", row["id"])
    return reminded


def _remind(conn: Conn, row: Mapping[str, Any], settings: Settings, now: dt.datetime) -> bool:
    if conn.execute(queries.MARK_FEEDBACK_REMINDED,
                    {"alert_id": row["id"], "now": now}).fetchone() is None:
        return False  # feedback came, or the alert moved on, since it was read
    place = conn.execute(queries.COMMUNITY, {"community": row["community"]}).fetchone()
    if place is None:
        return False
    community = Community.from_row(place, settings)
    people: list[dict[str, Any]] = []
    assignee = None
    if row["assignee"] is not None:
        assignee = conn.execute(PUSH_RECIPIENT, {"community": community.id,
                                                 "worker": row["assignee"]}).fetchone()
        if assignee is not None:
            people.append(assignee)
    people += [p for p in conn.execute(queries.CONTROL_ROOM,
                                       {"community": community.id}).fetchall()
               if p["id"] != row["assignee"]]
    queued: list[int] = []
    for person in people:
        locale = pushes.recipient_locale(person, community.locale, settings.locale)
        who = assignee["name"] if assignee is not None else (
            row["assignee"] or pushes.text("nobody", locale))
        body = pushes.text("overdue.body", locale, alert_id=row["id"], who=who,
                           since=t.local_time(row["acknowledged_at"], community.tz, locale),
                           due=t.local_time(row["feedback_due_at"], community.tz, locale))
        url = link(conn, settings, alert_id=row["id"], community=community.id,
                   worker=person["id"], now=now)
        push = PushText(title=pushes.text("overdue.title", locale, title=row["title"]),
                        body=pushes.with_link(body, url, locale))
        queued += queue(conn, alert_id=row["id"], community=community.id, person=person,
                        push=push, now=now, numbered=True)
    names = t.join_names([p["name"] for p in people], community.locale) or "—"
    add_timeline(conn, row["id"], "feedback_overdue",
                 t.text("timeline.feedback_overdue", community.locale, workers=names),
                 {"assignee": row["assignee"], "workers": [p["id"] for p in people],
                  "due_at": row["feedback_due_at"].isoformat(), "notifications": queued},
                 at=now)
    log.info("alert %d: on-site feedback overdue, %d reminders queued", row["id"], len(queued))
    return True
