"""Named SQL statements of the rules engine and the notifier (psycopg, named parameters).

Alert state changes and pushes shared with the API (acknowledge, resolve, timeline rows,
notifications and their links) live in ``linli.alerts``; everything here is the rules
stage's own.
"""

from __future__ import annotations

# --- communities and the per-community lock ------------------------------------------

COMMUNITIES = """
SELECT id, name, timezone, silent_check_at, silent_max_hours, locale
  FROM communities ORDER BY id
"""

COMMUNITY = """
SELECT id, name, timezone, silent_check_at, silent_max_hours, locale
  FROM communities WHERE id = %(community)s
"""

# Transaction-scoped: released on commit or rollback, so a crashed evaluator never
# leaves a community locked. hashtext() is stable across sessions and servers.
TRY_COMMUNITY_LOCK = """
SELECT pg_try_advisory_xact_lock(hashtext('linli:rules:' || %(community)s)) AS locked
"""

# --- the silent-resident rule --------------------------------------------------------

_RESIDENT_STATE = """
SELECT r.id, r.name, r.created_at, r.care_level,
       (r.is_elderly AND r.lives_alone AND r.active) AS watched,
       h.id AS household, h.building AS home_building, hb.name AS home_building_name,
       hb.grid, h.unit, u.name AS unit_name, h.room,
       -- any sign of life counts: a passage, the home's own door, in-home activity
       greatest(p.last_seen_at, s.last_door_at, s.last_activity_at) AS last_seen_at,
       p.building AS seen_building, pb.name AS seen_building_name,
       p.device AS seen_device, d.name AS seen_device_name, p.direction AS seen_direction,
       v.visited_at
  FROM residents r
  LEFT JOIN households h ON h.community = r.community AND h.id = r.household
  LEFT JOIN buildings hb ON hb.community = h.community AND hb.id = h.building
  LEFT JOIN units u ON u.community = h.community AND u.building = h.building AND u.id = h.unit
  LEFT JOIN presence p ON p.community = r.community AND p.resident = r.id
  LEFT JOIN resident_signals s ON s.community = r.community AND s.resident = r.id
  LEFT JOIN buildings pb ON pb.community = p.community AND pb.id = p.building
  LEFT JOIN devices d
         ON d.community = p.community AND d.building = p.building AND d.id = p.device
  -- A visit an authenticated worker confirmed in the feedback on an earlier alert
  -- (``alerts.visited_at``) counts as a sighting, so the rule does not fire again the
  -- moment the alert is closed. Nothing else a person does to an alert is a sign of life.
  LEFT JOIN (
      SELECT a.subject, max(a.visited_at) AS visited_at
        FROM alerts a
       WHERE a.community = %(community)s AND a.rule = %(rule)s
         AND a.visited_at >= %(visits_since)s
       GROUP BY a.subject
  ) v ON v.subject = r.id
 WHERE r.community = %(community)s
"""

WATCHED_RESIDENTS = _RESIDENT_STATE + """
   AND r.is_elderly AND r.lives_alone AND r.active
 ORDER BY r.id
"""

RESIDENT_STATE = _RESIDENT_STATE + """
   AND r.id = %(resident)s
"""

# --- alerts ------------------------------------------------------------------------

ACTIVE_ALERTS = """
SELECT id, rule, subject, status, tier, details
  FROM alerts
 WHERE community = %(community)s AND rule = %(rule)s AND status IN ('open', 'acknowledged')
 ORDER BY id
"""

# The partial unique index alerts_one_open makes "one active alert per (community, rule,
# subject)" hold even without the advisory lock: INSERT_ALERT then inserts nothing.
REFRESH_ALERT = """
UPDATE alerts
   SET fired_count = fired_count + 1, updated_at = %(now)s, details = %(details)s,
       title = %(title)s,
       severity = CASE WHEN %(severity)s = 'critical' THEN 'critical' ELSE severity END
 WHERE community = %(community)s AND rule = %(rule)s AND subject = %(subject)s
   AND status IN ('open', 'acknowledged')
RETURNING id, rule, subject, status, tier, details
"""

INSERT_ALERT = """
INSERT INTO alerts (community, rule, subject, severity, tier, grid, building, title, details,
                    raised_at, updated_at, escalate_at)
VALUES (%(community)s, %(rule)s, %(subject)s, %(severity)s, 1, %(grid)s, %(building)s,
        %(title)s, %(details)s, %(now)s, %(now)s, %(escalate_at)s)
ON CONFLICT (community, rule, subject) WHERE status IN ('open', 'acknowledged') DO NOTHING
RETURNING id, rule, subject, status, tier, details
"""

NEXT_ESCALATION = """
SELECT min(escalate_at) AS at FROM alerts
 WHERE community = %(community)s AND status = 'open' AND escalate_at IS NOT NULL
"""

SET_ESCALATE_AT = """
UPDATE alerts SET escalate_at = %(escalate_at)s WHERE id = %(alert_id)s AND status = 'open'
"""

DUE_ESCALATIONS = """
SELECT id, community, rule, subject, status, tier, details, grid, title
  FROM alerts
 WHERE status = 'open' AND escalate_at <= %(now)s
 ORDER BY escalate_at
 LIMIT %(limit)s
   FOR UPDATE SKIP LOCKED
"""

# The timer stops at the top tier: the control room was told twice, more would be noise.
ESCALATE = """
UPDATE alerts
   SET tier = tier + 1, updated_at = %(now)s,
       escalate_at = CASE WHEN tier + 1 < %(max_tier)s THEN %(next_escalate_at)s END
 WHERE id = %(alert_id)s AND status = 'open'
RETURNING id, rule, subject, status, tier, details
"""

# --- on-site feedback overdue --------------------------------------------------------

# Acknowledged alerts whose feedback deadline passed and nobody was reminded of yet. The
# deadline is a column (set by acknowledge, moved by a returned review), so it survives
# restarts; replicas share the work (SKIP LOCKED).
DUE_FEEDBACK = """
SELECT id, community, title, assignee, acknowledged_at, feedback_due_at
  FROM alerts
 WHERE status = 'acknowledged' AND feedback_due_at <= %(now)s AND feedback_reminded_at IS NULL
 ORDER BY feedback_due_at, id
 LIMIT %(limit)s
   FOR UPDATE SKIP LOCKED
"""

MARK_FEEDBACK_REMINDED = """
UPDATE alerts SET feedback_reminded_at = %(now)s
 WHERE id = %(alert_id)s AND status = 'acknowledged' AND feedback_reminded_at IS NULL
RETURNING id
"""

# --- who gets told -------------------------------------------------------------------

GRID_WORKERS = """
SELECT w.id, w.name, w.locale, w.notify_urls
  FROM grid_workers w
  JOIN grid_worker_grids g ON g.community = w.community AND g.worker = w.id
 WHERE w.community = %(community)s AND g.grid = %(grid)s
   AND w.role = 'grid_worker' AND w.active
 ORDER BY w.id
"""

CONTROL_ROOM = """
SELECT w.id, w.name, w.locale, w.notify_urls
  FROM grid_workers w
 WHERE w.community = %(community)s AND w.role = 'control_room' AND w.active
 ORDER BY w.id
"""

# Pushes of an alert that resolved itself: withdraw what was not sent yet, and tell those
# who were told (one notice per worker and channel).
WITHDRAW_PENDING = """
UPDATE notifications SET status = 'withdrawn', last_error = NULL
 WHERE alert_id = %(alert_id)s AND status = 'pending'
RETURNING id
"""

TOLD_ABOUT = """
SELECT DISTINCT ON (n.worker, n.url_index)
       n.community, n.worker, n.url_index, n.channel, w.locale, c.locale AS community_locale,
       a.title AS alert_title
  FROM notifications n
  JOIN alerts a ON a.id = n.alert_id
  LEFT JOIN grid_workers w ON w.community = n.community AND w.id = n.worker
  LEFT JOIN communities c ON c.id = n.community
 WHERE n.alert_id = %(alert_id)s AND n.status = 'sent'
 ORDER BY n.worker, n.url_index, n.id
"""

# --- the notifier --------------------------------------------------------------------

# One row at a time, locked only while it is claimed: replicas share the queue. The URL
# itself stays in grid_workers. A claimed row stays 'pending' with its next attempt pushed
# past the end of the send (a lease): if the sender dies, the row is due again then.
DUE_NOTIFICATION = """
SELECT n.id, n.alert_id, n.community, n.worker, n.url_index, n.channel, n.title, n.body,
       n.attempts, w.name AS worker_name, w.notify_urls[n.url_index + 1] AS url,
       w.locale AS worker_locale, c.locale AS community_locale
  FROM notifications n
  LEFT JOIN grid_workers w ON w.community = n.community AND w.id = n.worker
  LEFT JOIN communities c ON c.id = n.community
 WHERE n.status = 'pending' AND n.next_attempt_at <= %(now)s
 ORDER BY n.next_attempt_at, n.id
 LIMIT 1
   FOR UPDATE OF n SKIP LOCKED
"""

# Attempts still marked as sending when their row is claimed again: the sender stopped (or
# outlived its lease) before it could record what the channel said.
CLOSE_INTERRUPTED_ATTEMPTS = """
UPDATE notification_attempts
   SET error = %(error)s
 WHERE notification_id = %(notification_id)s AND NOT ok AND error = %(sending)s
RETURNING id
"""

# Committed before the send: a crash between send and record leaves this row behind.
START_ATTEMPT = """
INSERT INTO notification_attempts (notification_id, at, ok, duration_ms, error)
VALUES (%(notification_id)s, %(now)s, false, 0, %(sending)s)
RETURNING id
"""

CLAIM_NOTIFICATION = """
UPDATE notifications
   SET attempts = attempts + 1, next_attempt_at = %(lease_until)s, last_error = %(note)s
 WHERE id = %(notification_id)s
RETURNING attempts
"""

FINISH_ATTEMPT = """
UPDATE notification_attempts
   SET ok = %(ok)s, duration_ms = %(duration_ms)s, error = %(error)s
 WHERE id = %(attempt_id)s
"""

# The MARK_ statements change a row only while it is still this attempt's: a sender that
# outlived its lease must not overwrite what a later attempt recorded.
MARK_SENT = """
UPDATE notifications
   SET status = 'sent', sent_at = %(now)s, last_error = %(note)s
 WHERE id = %(notification_id)s AND status <> 'sent'
RETURNING id
"""

MARK_RETRY = """
UPDATE notifications
   SET last_error = %(error)s, next_attempt_at = %(next_attempt_at)s
 WHERE id = %(notification_id)s AND status = 'pending' AND attempts = %(attempt)s
"""

MARK_FAILED = """
UPDATE notifications
   SET status = 'failed', last_error = %(error)s
 WHERE id = %(notification_id)s AND status = 'pending' AND attempts = %(attempt)s
RETURNING id
"""
