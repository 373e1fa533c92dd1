"""Named SQL of the care rules (silence at home, not back, absences, device trust)."""

from __future__ import annotations

# Every watched resident with what the silence rule judges them by: their latest signs of
# life (resident_signals, kept by ingest), their baseline, the last confirmed visit, a
# registered absence covering now, and whether the devices their signs come through are
# to be trusted (``untrusted``: door terminals, home devices or the building's agent
# offline, silent for too long, or holding a backlog of unsent events).
WATCHED = """
SELECT r.id, r.name, r.created_at, r.care_level,
       h.id AS household, h.building AS home_building, hb.name AS home_building_name,
       hb.grid, h.unit, u.name AS unit_name, h.room,
       s.last_door_at, s.last_door_direction, s.last_door_building, s.last_door_device,
       db.name AS door_building_name, dd.name AS door_device_name,
       s.last_activity_at, s.last_activity_building, s.last_activity_device,
       ad.name AS activity_device_name,
       s.first_signal_at, b.model AS baseline, b.computed_at AS baseline_at,
       b.history_days,
       v.visited_at,
       ab.id AS absence_id, ab.ends_at AS absence_ends_at, ab.reason AS absence_reason,
       dev.untrusted, dev.devices_ok
  FROM residents r
  LEFT JOIN households h ON h.community = r.community AND h.id = r.household
  LEFT JOIN buildings hb ON hb.community = h.community AND hb.id = h.building
  LEFT JOIN units u ON u.community = h.community AND u.building = h.building AND u.id = h.unit
  LEFT JOIN resident_signals s ON s.community = r.community AND s.resident = r.id
  LEFT JOIN buildings db ON db.community = s.community AND db.id = s.last_door_building
  LEFT JOIN devices dd ON dd.community = s.community AND dd.building = s.last_door_building
                      AND dd.id = s.last_door_device
  LEFT JOIN devices ad ON ad.community = s.community AND ad.building = s.last_activity_building
                      AND ad.id = s.last_activity_device
  LEFT JOIN resident_baselines b ON b.community = r.community AND b.resident = r.id
  LEFT JOIN LATERAL (
      -- a visit an authenticated worker confirmed in the feedback on an alert about the
      -- resident (``alerts.visited_at``) is a sign of life, so the rule does not fire
      -- again the moment the alert is closed; nothing else done to an alert is
      SELECT max(a.visited_at) AS visited_at
        FROM alerts a
       WHERE a.community = r.community AND a.subject = r.id
         AND a.rule = ANY(%(rules)s::text[])
         AND a.visited_at <= %(now)s
  ) v ON true
  LEFT JOIN LATERAL (
      -- the registered absence that covers now, or the last one if the resident has
      -- given no sign since it ended (the absence reminder speaks for them then)
      SELECT x.id, x.ends_at, x.reason
        FROM absences x
       WHERE x.community = r.community AND x.resident = r.id AND x.cancelled_at IS NULL
         AND x.starts_at <= %(now)s
         AND (x.ends_at > %(now)s
              OR coalesce(greatest(s.last_door_at, s.last_activity_at), '-infinity')
                 < x.ends_at)
       ORDER BY x.ends_at DESC LIMIT 1
  ) ab ON true
  LEFT JOIN LATERAL (
      SELECT array_agg(d.building || '/' || d.id ORDER BY d.building, d.id)
                 FILTER (WHERE d.state IN ('offline', 'spool_full')
                            -- a full spool: the agent is up but reads nothing new
                            OR d.status -> 'problems' @> '["spool_full"]'::jsonb
                            OR d.status_at < %(stale_before)s
                            OR coalesce((d.status ->> 'spooled')::numeric, 0)
                               > %(backlog)s) AS untrusted,
             count(*) FILTER (WHERE d.state IS NOT NULL) AS devices_ok
        FROM devices d
       WHERE d.community = r.community AND d.state IS NOT NULL
         AND d.kind IN ('door', 'agent', 'sensor')
         AND (d.building = h.building AND d.household IS NULL OR d.household = h.id)
  ) dev ON true
 WHERE r.community = %(community)s AND r.is_elderly AND r.lives_alone AND r.active
 ORDER BY r.id
"""

# The signs of life of the community's watched residents in a window, for learning:
# what names them, what their home's own devices send, and activity naming their home.
SIGNALS = """
SELECT r.id AS resident, e.occurred_at, e.kind, e.direction
  FROM residents r
  JOIN events e ON e.community = r.community AND e.person_id = r.id
 WHERE r.community = %(community)s AND r.id = ANY(%(residents)s::text[])
   AND e.occurred_at > %(since)s AND e.occurred_at <= %(now)s
   AND e.kind IN ('passage', 'activity')
UNION ALL
SELECT r.id, e.occurred_at, e.kind, e.direction
  FROM residents r
  JOIN devices d ON d.community = r.community AND d.household = r.household
  JOIN events e ON e.community = d.community AND e.building = d.building
                AND e.device = d.id AND e.person_id IS NULL
 WHERE r.community = %(community)s AND r.id = ANY(%(residents)s::text[])
   AND e.occurred_at > %(since)s AND e.occurred_at <= %(now)s
   AND e.kind IN ('passage', 'exit_button', 'door_opened', 'activity')
UNION ALL
SELECT r.id, e.occurred_at, e.kind, e.direction
  FROM residents r
  JOIN events e ON e.community = r.community AND e.kind = 'activity'
                AND e.person_id IS NULL AND e.attrs ->> 'household' = r.household
 WHERE r.community = %(community)s AND r.id = ANY(%(residents)s::text[])
   AND e.occurred_at > %(since)s AND e.occurred_at <= %(now)s
"""

# Periods not to learn from: registered absences, and confirmed visits (``visited_at``).
ABSENCES = """
SELECT resident, starts_at, least(ends_at, coalesce(cancelled_at, ends_at)) AS ends_at
  FROM absences
 WHERE community = %(community)s AND resident = ANY(%(residents)s::text[])
   AND ends_at > %(since)s AND starts_at <= %(now)s
   AND (cancelled_at IS NULL OR cancelled_at > starts_at)
"""

VISITS = """
SELECT subject AS resident, visited_at
  FROM alerts
 WHERE community = %(community)s AND subject = ANY(%(residents)s::text[])
   AND rule = ANY(%(rules)s::text[])
   AND visited_at > %(since)s AND visited_at <= %(now)s
"""

UPSERT_BASELINE = """
INSERT INTO resident_baselines (community, resident, computed_at, history_days, model)
VALUES (%(community)s, %(resident)s, %(now)s, %(history_days)s, %(model)s)
ON CONFLICT (community, resident) DO UPDATE
   SET computed_at = EXCLUDED.computed_at, history_days = EXCLUDED.history_days,
       model = EXCLUDED.model
"""

# Registered absences that ended without the resident coming back.
OVERDUE_ABSENCES = """
SELECT x.id, x.resident, x.starts_at, x.ends_at, x.reason, x.created_by,
       r.name, h.building AS home_building, hb.name AS home_building_name, h.room, hb.grid
  FROM absences x
  JOIN residents r ON r.community = x.community AND r.id = x.resident AND r.active
  LEFT JOIN households h ON h.community = r.community AND h.id = r.household
  LEFT JOIN buildings hb ON hb.community = h.community AND hb.id = h.building
  LEFT JOIN resident_signals s ON s.community = x.community AND s.resident = x.resident
 WHERE x.community = %(community)s AND x.cancelled_at IS NULL
   AND x.ends_at <= %(due_before)s AND x.ends_at > %(oldest)s
   AND NOT EXISTS (SELECT 1 FROM absences y
                    WHERE y.community = x.community AND y.resident = x.resident
                      AND y.cancelled_at IS NULL AND y.starts_at <= %(now)s
                      AND y.ends_at > %(now)s)
   AND coalesce(greatest(s.last_door_at, s.last_activity_at), '-infinity') < x.ends_at
 ORDER BY x.id
"""

LAST_SIGNAL = """
SELECT greatest(last_door_at, last_activity_at) AS last_at
  FROM resident_signals WHERE community = %(community)s AND resident = %(resident)s
"""

# Devices whose state says they cannot be trusted now.
DEVICE_HEALTH = """
SELECT d.building, d.id, d.kind, d.name, d.state, d.state_since, d.status_at, d.household,
       b.name AS building_name, b.grid,
       (d.status ->> 'spooled')::numeric AS spooled,
       CASE WHEN jsonb_typeof(d.status -> 'problems') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(d.status -> 'problems'))
            ELSE '{}'::text[] END AS problems
  FROM devices d
  LEFT JOIN buildings b ON b.community = d.community AND b.id = d.building
 WHERE d.community = %(community)s AND d.state IS NOT NULL
   AND d.kind IN ('door', 'agent', 'sensor', 'camera')
 ORDER BY d.building, d.id
"""

NEXT_ABSENCE_END = """
SELECT min(ends_at) AS ends_at FROM absences
 WHERE community = %(community)s AND cancelled_at IS NULL AND ends_at > %(now)s - interval '1 day'
"""
