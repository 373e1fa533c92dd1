"""Alert state changes and pushes that more than one stage makes, as named SQL statements.

The rules engine raises, auto-resolves and escalates alerts and reminds of overdue
feedback; the API dispatches, acknowledges, takes feedback, reviews and archives them for
people. Every change is an UPDATE plus a row in ``alert_timeline`` (who, when, what); both
stages queue pushes with ``INSERT_NOTIFICATION`` and the link in them with
``UPSERT_ALERT_LINK`` (texts and parameters: ``linli.pushes``). Use them with named
parameters, from sync or async psycopg alike, inside one transaction.

Status flow: open → acknowledged → resolved → archived (open → resolved directly when the
cause goes away, e.g. the resident is seen again; resolved → acknowledged when a review
returns the feedback for rework; acknowledged → open when the alert is re-dispatched).
"""

from __future__ import annotations

from enum import StrEnum


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ARCHIVED = "archived"


ACTIVE_STATUSES = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)

SYSTEM_ACTOR = "system"

# A grid worker (``worker``) may take on an alert dispatched to them, or one nobody has
# yet, which then becomes theirs; others (``worker`` NULL) leave the assignee as it is.
# The feedback deadline starts (``feedback_due``: an interval).
ACKNOWLEDGE = """
UPDATE alerts
   SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = %(actor)s,
       escalate_at = NULL, updated_at = now(),
       assignee = coalesce(assignee, %(worker)s::text),
       assigned_at = CASE WHEN assignee IS NULL AND %(worker)s::text IS NOT NULL THEN now()
                          ELSE assigned_at END,
       feedback_due_at = now() + %(feedback_due)s::interval, feedback_reminded_at = NULL
 WHERE id = %(alert_id)s AND status = 'open'
   AND (%(worker)s::text IS NULL OR assignee IS NULL OR assignee = %(worker)s::text)
RETURNING id, community, status, assignee
"""

# ``at`` is the moment of the change: now() for people, the simulated clock in a replay.
RESOLVE = """
UPDATE alerts
   SET status = 'resolved', resolved_at = coalesce(%(at)s, now()), resolved_by = %(actor)s,
       resolution = %(note)s, escalate_at = NULL, updated_at = coalesce(%(at)s, now())
 WHERE id = %(alert_id)s AND status IN ('open', 'acknowledged')
RETURNING id, community, status
"""

ADD_TIMELINE = """
INSERT INTO alert_timeline (alert_id, at, actor, action, note, data)
VALUES (%(alert_id)s, coalesce(%(at)s, now()), %(actor)s, %(action)s, %(note)s, %(data)s)
"""

# --- pushes ------------------------------------------------------------------------

# The unique key makes queuing idempotent: an evaluation or escalation run twice pushes
# once. A push of the same kind that must go again carries a numbered title.
INSERT_NOTIFICATION = """
INSERT INTO notifications (alert_id, community, worker, url_index, channel, title, body,
                           next_attempt_at, created_at)
VALUES (%(alert_id)s, %(community)s, %(worker)s, %(url_index)s, %(channel)s, %(title)s,
        %(body)s, %(now)s, %(now)s)
ON CONFLICT (alert_id, worker, url_index, title) DO NOTHING
RETURNING id
"""

# One link per (alert, worker): a later push to the same worker reuses the token and
# moves its expiry forward.
UPSERT_ALERT_LINK = """
INSERT INTO alert_links (token, alert_id, community, worker, created_at, expires_at)
VALUES (%(token)s, %(alert_id)s, %(community)s, %(worker)s, %(now)s, %(expires_at)s)
ON CONFLICT (alert_id, worker) DO UPDATE
   SET expires_at = greatest(alert_links.expires_at, EXCLUDED.expires_at)
RETURNING token
"""

# Whom a push of the loop goes to (the dispatched or assigned worker): their channels and
# language; an inactive worker is nobody.
PUSH_RECIPIENT = """
SELECT w.id, w.name, w.role, w.locale, w.notify_urls, c.locale AS community_locale
  FROM grid_workers w
  JOIN communities c ON c.id = w.community
 WHERE w.community = %(community)s AND w.id = %(worker)s AND w.active
"""
