"""SQL of the places domain. Each statement takes the principal's ``scope_*`` parameters."""

from __future__ import annotations

from api.alerts.queries import ALERT_SCOPE

# Every building of the community is numbered (for the grid layout of buildings with no
# plan position) before the scope filter, so that a building sits in the same place for
# everyone who sees it.
PLACE_BUILDINGS = """
SELECT grid, grid_name, id, name, plan_x, plan_y, place_index, place_count
  FROM (SELECT b.grid, g.name AS grid_name, b.id, b.name, b.plan_x, b.plan_y,
               row_number() OVER (ORDER BY b.grid NULLS LAST, b.id) - 1 AS place_index,
               count(*) OVER () AS place_count
          FROM buildings b
          LEFT JOIN grids g ON g.community = b.community AND g.id = b.grid
         WHERE b.community = %(community)s) b
 WHERE %(scope_buildings)s::text[] IS NULL OR id = ANY(%(scope_buildings)s)
 ORDER BY grid NULLS LAST, id
"""

PLACE_UNITS = """
SELECT building, id, name
  FROM units
 WHERE community = %(community)s
   AND (%(scope_buildings)s::text[] IS NULL OR building = ANY(%(scope_buildings)s))
 ORDER BY building, id
"""

# Active alerts per building and severity, as ``ALERT_SCOPE`` lets the principal see them.
PLACE_ALERTS = f"""
SELECT a.building, a.severity,
       count(*) FILTER (WHERE a.status = 'open') AS open,
       count(*) FILTER (WHERE a.status = 'acknowledged') AS acknowledged
  FROM alerts a
 WHERE a.community = %(community)s AND a.status IN ('open', 'acknowledged')
   AND {ALERT_SCOPE}
 GROUP BY a.building, a.severity
 ORDER BY building, severity
"""

# Active alerts about residents, per unit of their home (alerts carry the building; the
# unit is the subject resident's household's), as ``ALERT_SCOPE`` lets the principal see.
PLACE_UNIT_ALERTS = f"""
SELECT h.building, h.unit, a.severity,
       count(*) FILTER (WHERE a.status = 'open') AS open,
       count(*) FILTER (WHERE a.status = 'acknowledged') AS acknowledged
  FROM alerts a
  JOIN residents r ON r.community = a.community AND r.id = a.subject
  JOIN households h ON h.community = r.community AND h.id = r.household
 WHERE a.community = %(community)s AND a.status IN ('open', 'acknowledged')
   AND h.unit IS NOT NULL AND {ALERT_SCOPE}
 GROUP BY h.building, h.unit, a.severity
 ORDER BY 1, 2, 3
"""

# ``online``: a status report says so, or (a log-based door, which sends none) an event came
# within ``active_within``; as ``live_state`` on the devices list says.
PLACE_DEVICES = """
SELECT building,
       count(*) FILTER (WHERE live = 'online') AS online,
       count(*) FILTER (WHERE live = 'offline') AS offline,
       count(*) FILTER (WHERE live = 'unknown') AS unknown
  FROM (SELECT building,
               CASE WHEN state IN ('online', 'offline') THEN state
                    WHEN state IS NULL
                         AND last_event_at > %(now)s - %(active_within)s::interval THEN 'online'
                    ELSE 'unknown'
               END AS live
          FROM devices
         WHERE community = %(community)s
           AND (%(scope_buildings)s::text[] IS NULL OR building = ANY(%(scope_buildings)s))) d
 GROUP BY building
 ORDER BY building
"""

PLACE_WATCHED = """
SELECT h.building, count(*) AS watched
  FROM residents r
  JOIN households h ON h.community = r.community AND h.id = r.household
 WHERE r.community = %(community)s AND r.is_elderly AND r.lives_alone AND r.active
   AND (%(scope_buildings)s::text[] IS NULL OR h.building = ANY(%(scope_buildings)s))
 GROUP BY h.building
 ORDER BY h.building
"""

# Every active resident's state now, counted per building; the same order of precedence
# as ``api.places.service.watch_state`` (an open silence alert, a registered absence
# covering ``now``, then the last sign: in-home activity after the last passage, or the
# passage's direction).
PLACE_OCCUPANCY = """
SELECT building, state, count(*) AS residents
  FROM (SELECT h.building,
               CASE WHEN EXISTS (
                         SELECT 1 FROM alerts x
                          WHERE x.community = r.community AND x.subject = r.id
                            AND x.rule = 'silent_resident'
                            AND x.status IN ('open', 'acknowledged')) THEN 'silent'
                    WHEN EXISTS (
                         SELECT 1 FROM absences a
                          WHERE a.community = r.community AND a.resident = r.id
                            AND a.cancelled_at IS NULL
                            AND a.starts_at <= %(now)s AND a.ends_at > %(now)s) THEN 'away'
                    WHEN s.last_activity_at IS NOT NULL
                         AND (s.last_door_at IS NULL OR s.last_activity_at > s.last_door_at)
                         THEN 'home'
                    WHEN s.last_door_at IS NOT NULL AND s.last_door_direction = 'in' THEN 'home'
                    WHEN s.last_door_at IS NOT NULL AND s.last_door_direction = 'out' THEN 'out'
                    ELSE 'unknown'
               END AS state
          FROM residents r
          JOIN households h ON h.community = r.community AND h.id = r.household
          LEFT JOIN resident_signals s ON s.community = r.community AND s.resident = r.id
         WHERE r.community = %(community)s AND r.active
           AND (%(scope_buildings)s::text[] IS NULL OR h.building = ANY(%(scope_buildings)s))) o
 GROUP BY building, state
 ORDER BY building, state
"""

# Today's watched residents (elderly, living alone) with what decides their state: a
# registered absence covering ``now``, their open alert (a silence first), their last signs.
WATCHED_RESIDENTS = """
SELECT r.id, r.name, h.building, b.name AS building_name, h.unit, u.name AS unit_name, h.room,
       s.last_door_at, s.last_door_direction, s.last_activity_at,
       ab.starts_at AS away_since, ab.ends_at AS away_until,
       al.id AS alert_id, al.rule AS alert_rule, al.raised_at AS alert_raised_at
  FROM residents r
  LEFT JOIN households h ON h.community = r.community AND h.id = r.household
  LEFT JOIN buildings b ON b.community = h.community AND b.id = h.building
  LEFT JOIN units u ON u.community = h.community AND u.building = h.building AND u.id = h.unit
  LEFT JOIN resident_signals s ON s.community = r.community AND s.resident = r.id
  LEFT JOIN LATERAL (
      SELECT a.starts_at, a.ends_at FROM absences a
       WHERE a.community = r.community AND a.resident = r.id AND a.cancelled_at IS NULL
         AND a.starts_at <= %(now)s AND a.ends_at > %(now)s
       ORDER BY a.ends_at DESC LIMIT 1) ab ON true
  LEFT JOIN LATERAL (
      SELECT x.id, x.rule, x.raised_at FROM alerts x
       WHERE x.community = r.community AND x.subject = r.id
         AND x.status IN ('open', 'acknowledged')
       ORDER BY x.rule = 'silent_resident' DESC, x.raised_at DESC LIMIT 1) al ON true
 WHERE r.community = %(community)s AND r.is_elderly AND r.lives_alone AND r.active
   AND (%(scope_buildings)s::text[] IS NULL OR h.building = ANY(%(scope_buildings)s))
 ORDER BY h.building, h.unit, h.room, r.id
"""

# Per local day of the community (``timezone``), from ``since``.
TREND_ALERTS = f"""
SELECT (a.raised_at AT TIME ZONE %(timezone)s)::date AS day, a.rule, count(*) AS raised
  FROM alerts a
 WHERE a.community = %(community)s AND a.raised_at >= %(since)s
   AND {ALERT_SCOPE}
 GROUP BY 1, 2
 ORDER BY 1, 2
"""

TREND_PASSAGES = """
SELECT (occurred_at AT TIME ZONE %(timezone)s)::date AS day, sum(count) AS passages
  FROM events
 WHERE community = %(community)s AND kind = 'passage' AND occurred_at >= %(since)s
   AND (%(scope_buildings)s::text[] IS NULL OR building = ANY(%(scope_buildings)s))
 GROUP BY 1
 ORDER BY 1
"""
