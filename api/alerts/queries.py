"""SQL of the alerts domain. State changes use the shared statements of linli.alerts.

Notifications are read column by column: ``grid_workers.notify_urls`` holds secrets; it
is read only to scrub them from what a channel echoed into ``last_error``.
"""

from __future__ import annotations

ALERT_COLUMNS = """
       a.id, a.community, a.rule, a.subject, r.name AS subject_name, a.status, a.severity,
       a.tier, a.grid, a.building, a.title, a.details, a.raised_at, a.updated_at,
       a.fired_count, a.escalate_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
       a.resolved_by, a.resolution
  FROM alerts a
  LEFT JOIN residents r ON r.community = a.community AND r.id = a.subject
"""

# What a principal may see (``api.security.Principal.scope``): their community, and for a
# grid worker the alerts of their grids' buildings or dispatched to them.
ALERT_SCOPE = """
       (%(scope_community)s::text IS NULL OR a.community = %(scope_community)s)
   AND (%(scope_grids)s::text[] IS NULL OR a.grid = ANY(%(scope_grids)s)
        OR a.building = ANY(%(scope_buildings)s) OR a.assignee = %(scope_worker)s)
"""

LIST_ALERTS = f"""
SELECT {ALERT_COLUMNS}
 WHERE {ALERT_SCOPE}
   AND (%(community)s::text IS NULL OR a.community = %(community)s)
   AND (%(statuses)s::text[] IS NULL OR a.status = ANY(%(statuses)s))
   AND (%(rule)s::text IS NULL OR a.rule = %(rule)s)
   AND (%(subject)s::text IS NULL OR a.subject = %(subject)s)
   AND (%(since)s::timestamptz IS NULL OR a.raised_at >= %(since)s)
   AND (%(after_at)s::timestamptz IS NULL
        OR (a.raised_at, a.id) < (%(after_at)s, %(after_id)s::bigint))
 ORDER BY a.raised_at DESC, a.id DESC
 LIMIT %(limit)s
"""

GET_ALERT = f"""
SELECT {ALERT_COLUMNS}
 WHERE a.id = %(alert_id)s AND {ALERT_SCOPE}
"""

ALERT_STATUS = """
SELECT status FROM alerts WHERE id = %(alert_id)s
"""

ALERT_TIMELINE = """
SELECT id, at, actor, action, note, data
  FROM alert_timeline
 WHERE alert_id = %(alert_id)s
 ORDER BY at, id
"""

ALERT_NOTIFICATIONS = """
SELECT n.id, n.worker, w.name AS worker_name, n.channel, n.title, n.body, n.status,
       n.attempts, n.next_attempt_at, n.created_at, n.sent_at, n.last_error
  FROM notifications n
  LEFT JOIN grid_workers w ON w.community = n.community AND w.id = n.worker
 WHERE n.alert_id = %(alert_id)s
 ORDER BY n.created_at, n.id
"""

ALERT_SECRET_URLS = """
SELECT DISTINCT unnest(w.notify_urls) AS url
  FROM notifications n
  JOIN grid_workers w ON w.community = n.community AND w.id = n.worker
 WHERE n.alert_id = %(alert_id)s
"""
"""The alert's channels' URLs: read only to scrub them from errors, never returned."""
