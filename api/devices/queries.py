"""SQL of the devices domain.

``live_state``: the state the device reports, or for one that sends no status (a door
whose log an agent reads) ``active`` when an event came since ``active_since``, else
``quiet``.
"""

from __future__ import annotations

LIST_DEVICES = """
SELECT community, building, id, kind, name, registered, state, status, status_at,
       first_seen_at, last_event_at, created_at,
       CASE WHEN state IS NOT NULL THEN state
            WHEN last_event_at > %(active_since)s THEN 'active'
            ELSE 'quiet'
       END AS live_state
  FROM devices
 WHERE (%(community)s::text IS NULL OR community = %(community)s)
   AND (%(building)s::text IS NULL OR building = %(building)s)
   AND (%(scope_buildings)s::text[] IS NULL OR building = ANY(%(scope_buildings)s))
   AND (%(registered)s::boolean IS NULL OR registered = %(registered)s)
   AND (%(state)s::text IS NULL
        OR (%(state)s = 'unknown' AND state IS NULL)
        OR state = %(state)s)
   AND (%(after_community)s::text IS NULL
        OR (community, building, id)
           > (%(after_community)s, %(after_building)s::text, %(after_id)s::text))
 ORDER BY community, building, id
 LIMIT %(limit)s
"""
