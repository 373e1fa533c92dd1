"""SQL of the alerts domain: reads, and the steps of the loop only people take (dispatch,
feedback, review, archive, photos). Acknowledge, timeline rows and pushes use the shared
statements of ``linli.alerts``.

Every step's UPDATE matches only an alert in a state that allows it, so two people acting
at once cannot both succeed; the service then reads ``ALERT_STATE`` to say why.

Notifications are read column by column: ``grid_workers.notify_urls`` holds secrets; it
is read only to scrub them from what a channel echoed into ``last_error``.
"""

from __future__ import annotations

ALERT_COLUMNS = """
       a.id, a.community, a.rule, a.subject, r.name AS subject_name, a.status, a.severity,
       a.tier, a.grid, a.building, a.title, a.details, a.raised_at, a.updated_at,
       a.fired_count, a.escalate_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
       a.resolved_by, a.resolution, a.assignee, aw.name AS assignee_name, a.assigned_at,
       a.feedback_due_at, a.outcome, a.visited_at, a.review, a.reviewed_at, a.reviewed_by,
       a.archived_at, a.archived_by
  FROM alerts a
  LEFT JOIN residents r ON r.community = a.community AND r.id = a.subject
  LEFT JOIN grid_workers aw ON aw.community = a.community AND aw.id = a.assignee
"""

# What a principal may see (``api.security.Principal.scope``): their community, and for a
# grid worker the alerts of their grids' buildings or dispatched to them.
ALERT_SCOPE = """
       (%(scope_community)s::text IS NULL OR a.community = %(scope_community)s)
   AND (%(scope_grids)s::text[] IS NULL OR a.grid = ANY(%(scope_grids)s)
        OR a.building = ANY(%(scope_buildings)s) OR a.assignee = %(scope_worker)s)
"""

# ``text``: a plain substring of the title or the subject's name, case-insensitive (strpos,
# not LIKE: what people type is never a pattern).
LIST_ALERTS = f"""
SELECT {ALERT_COLUMNS}
 WHERE {ALERT_SCOPE}
   AND (%(community)s::text IS NULL OR a.community = %(community)s)
   AND (%(statuses)s::text[] IS NULL OR a.status = ANY(%(statuses)s))
   AND (%(rule)s::text IS NULL OR a.rule = %(rule)s)
   AND (%(subject)s::text IS NULL OR a.subject = %(subject)s)
   AND (%(since)s::timestamptz IS NULL OR a.raised_at >= %(since)s)
   AND (%(until)s::timestamptz IS NULL OR a.raised_at < %(until)s)
   AND (%(grid)s::text IS NULL OR a.grid = %(grid)s)
   AND (%(building)s::text IS NULL OR a.building = %(building)s)
   AND (%(text)s::text IS NULL OR strpos(lower(a.title), lower(%(text)s)) > 0
        OR strpos(lower(coalesce(r.name, '')), lower(%(text)s)) > 0)
   AND (%(assignee)s::text IS NULL OR a.assignee = %(assignee)s)
   AND (%(after_at)s::timestamptz IS NULL
        OR (a.raised_at, a.id) < (%(after_at)s, %(after_id)s::bigint))
 ORDER BY a.raised_at DESC, a.id DESC
 LIMIT %(limit)s
"""

GET_ALERT = f"""
SELECT {ALERT_COLUMNS}
 WHERE a.id = %(alert_id)s AND {ALERT_SCOPE}
"""

# What a step decides by, for an alert in the principal's place.
ALERT_STATE = f"""
SELECT a.id, a.community, a.status, a.tier, a.title, a.subject, a.assignee, a.review,
       a.resolved_by, c.timezone, c.locale AS community_locale
  FROM alerts a
  JOIN communities c ON c.id = a.community
 WHERE a.id = %(alert_id)s AND {ALERT_SCOPE}
"""

ALERT_TIMELINE = """
SELECT t.id, t.at, t.actor, u.display_name AS actor_name, t.action, t.note, t.data
  FROM alert_timeline t
  LEFT JOIN users u ON lower(u.username) = lower(t.actor)
 WHERE t.alert_id = %(alert_id)s
 ORDER BY t.at, t.id
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

# --- the loop ----------------------------------------------------------------------

# 派单 / 转办: to ``worker``, only while the assignee is still ``current`` (what the
# service read and judged the reason by). The alert is open again for the new worker
# (who acknowledges it); an escalation timer that ran out of tiers stays stopped.
DISPATCH = """
UPDATE alerts
   SET assignee = %(worker)s, assigned_at = now(), updated_at = now(), status = 'open',
       acknowledged_at = NULL, acknowledged_by = NULL,
       feedback_due_at = NULL, feedback_reminded_at = NULL,
       escalate_at = CASE WHEN status = 'open' THEN escalate_at
                          WHEN tier < %(max_tier)s THEN now() + %(escalate_after)s::interval
                     END
 WHERE id = %(alert_id)s AND status IN ('open', 'acknowledged')
   AND assignee IS NOT DISTINCT FROM %(current)s::text
   AND assignee IS DISTINCT FROM %(worker)s::text
RETURNING id, community, status, assignee
"""

# 核查反馈: closes the alert with the outcome; a person who saw the resident (safe,
# hospital) gives the care rules a sign of life. A grid worker (``worker``) files it only
# for an alert of theirs or nobody's (it then becomes theirs).
FEEDBACK = """
UPDATE alerts
   SET status = 'resolved', resolved_at = now(), resolved_by = %(actor)s,
       resolution = %(note)s, outcome = %(outcome)s, escalate_at = NULL, updated_at = now(),
       visited_at = CASE WHEN %(visited)s THEN now() ELSE visited_at END,
       review = NULL, reviewed_at = NULL, reviewed_by = NULL,
       assignee = coalesce(assignee, %(worker)s::text),
       assigned_at = CASE WHEN assignee IS NULL AND %(worker)s::text IS NOT NULL THEN now()
                          ELSE assigned_at END
 WHERE id = %(alert_id)s AND status IN ('open', 'acknowledged')
   AND (%(worker)s::text IS NULL OR assignee IS NULL OR assignee = %(worker)s::text)
RETURNING id, community, status
"""

# 考核评价: only feedback a person filed, and only once per round.
ACCEPT = """
UPDATE alerts
   SET review = 'accepted', reviewed_at = now(), reviewed_by = %(actor)s, updated_at = now()
 WHERE id = %(alert_id)s AND status = 'resolved' AND resolved_by IS DISTINCT FROM 'system'
   AND review IS NULL
RETURNING id, community, status, assignee
"""

# Returned for rework: acknowledged again, with a new feedback deadline. Fails on the
# one-active-alert index when the rules raised a new alert about the same subject since.
RETURN_FOR_REWORK = """
UPDATE alerts
   SET review = 'returned', reviewed_at = now(), reviewed_by = %(actor)s, updated_at = now(),
       status = 'acknowledged', resolved_at = NULL, resolved_by = NULL, resolution = NULL,
       feedback_due_at = now() + %(feedback_due)s::interval, feedback_reminded_at = NULL
 WHERE id = %(alert_id)s AND status = 'resolved' AND resolved_by IS DISTINCT FROM 'system'
   AND review IS NULL
RETURNING id, community, status, assignee, feedback_due_at
"""

# 归档: a closed alert whose feedback was accepted, or that the system closed itself.
ARCHIVE = """
UPDATE alerts
   SET status = 'archived', archived_at = now(), archived_by = %(actor)s, updated_at = now()
 WHERE id = %(alert_id)s AND status = 'resolved'
   AND (review = 'accepted' OR resolved_by = 'system')
RETURNING id, community, status
"""

# --- photos and contacts -----------------------------------------------------------

# The same image twice is one photo (its id is returned again); at most ``max_photos``.
INSERT_PHOTO = """
INSERT INTO alert_photos (alert_id, uploaded_by, content_type, sha256, data)
SELECT %(alert_id)s, %(actor)s, %(content_type)s, %(sha256)s, %(data)s
 WHERE (SELECT count(*) FROM alert_photos WHERE alert_id = %(alert_id)s) < %(max_photos)s
    OR EXISTS (SELECT 1 FROM alert_photos
                WHERE alert_id = %(alert_id)s AND sha256 = %(sha256)s)
ON CONFLICT (alert_id, sha256) DO UPDATE SET uploaded_at = alert_photos.uploaded_at
RETURNING id, content_type, sha256, octet_length(data) AS bytes
"""

ALERT_PHOTOS = """
SELECT id, content_type, sha256, octet_length(data) AS bytes, uploaded_by, uploaded_at
  FROM alert_photos
 WHERE alert_id = %(alert_id)s
 ORDER BY id
"""

GET_PHOTO = """
SELECT content_type, data FROM alert_photos
 WHERE id = %(photo_id)s AND alert_id = %(alert_id)s
"""

ALERT_CONTACTS = """
SELECT r.id AS resident, r.name, r.phone, r.emergency_contacts, h.id AS household,
       h.building, b.name AS building_name, h.unit, u.name AS unit_name, h.room
  FROM alerts a
  JOIN residents r ON r.community = a.community AND r.id = a.subject
  LEFT JOIN households h ON h.community = r.community AND h.id = r.household
  LEFT JOIN buildings b ON b.community = h.community AND b.id = h.building
  LEFT JOIN units u ON u.community = h.community AND u.building = h.building AND u.id = h.unit
 WHERE a.id = %(alert_id)s
"""

# Whom the control room may dispatch to.
DISPATCH_WORKERS = """
SELECT w.id, w.name,
       coalesce(array_agg(g.grid ORDER BY g.grid) FILTER (WHERE g.grid IS NOT NULL),
                '{}') AS grids
  FROM grid_workers w
  LEFT JOIN grid_worker_grids g ON g.community = w.community AND g.worker = w.id
 WHERE w.community = %(community)s AND w.role = 'grid_worker' AND w.active
 GROUP BY w.id, w.name
 ORDER BY w.id
"""
