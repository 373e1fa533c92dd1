"""Alert state changes that more than one stage makes, as named SQL statements.

The rules engine raises and auto-resolves alerts; the API acknowledges and resolves them
for people. Both go through these statements so that every change is the same UPDATE plus
a row in ``alert_timeline`` (who, when, what). Use them with named parameters, from sync
or async psycopg alike, inside one transaction.

Status flow: open → acknowledged → resolved → archived (open → resolved directly when the
cause goes away, e.g. the resident is seen again).
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

ACKNOWLEDGE = """
UPDATE alerts
   SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = %(actor)s,
       escalate_at = NULL, updated_at = now()
 WHERE id = %(alert_id)s AND status = 'open'
RETURNING id, community, status
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
