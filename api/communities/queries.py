"""SQL of the communities domain. "Today" (computed by the service) starts at midnight in
the community's own time zone."""

from __future__ import annotations

LIST_COMMUNITIES = """
SELECT id, name, timezone, locale FROM communities
 WHERE %(community)s::text IS NULL OR id = %(community)s
 ORDER BY id
"""

GET_COMMUNITY = """
SELECT id, name, timezone, locale
  FROM communities
 WHERE id = %(community)s
"""

ACTIVE_ALERTS_BY_RULE = """
SELECT rule,
       count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE status = 'acknowledged') AS acknowledged
  FROM alerts
 WHERE community = %(community)s AND status IN ('open', 'acknowledged')
   AND (%(scope_grids)s::text[] IS NULL OR grid = ANY(%(scope_grids)s)
        OR building = ANY(%(scope_buildings)s) OR assignee = %(scope_worker)s)
 GROUP BY rule
 ORDER BY rule
"""

EVENTS_SINCE = """
SELECT count(*) AS events,
       coalesce(sum(count) FILTER (WHERE kind = 'passage'), 0) AS passages
  FROM events
 WHERE community = %(community)s AND occurred_at >= %(since)s
   AND (%(scope_buildings)s::text[] IS NULL OR building = ANY(%(scope_buildings)s))
"""

DEVICE_COUNTS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE state = 'online') AS online,
       count(*) FILTER (WHERE state = 'offline') AS offline,
       count(*) FILTER (WHERE state IS NULL) AS unknown,
       count(*) FILTER (WHERE NOT registered) AS unregistered
  FROM devices
 WHERE community = %(community)s
   AND (%(scope_buildings)s::text[] IS NULL OR building = ANY(%(scope_buildings)s))
"""

DEAD_LETTERS_SINCE = """
SELECT count(*) AS n
  FROM dead_letters
 WHERE split_part(topic, '/', 3) = %(community)s AND received_at >= %(since)s
   AND (%(scope_buildings)s::text[] IS NULL
        OR split_part(topic, '/', 4) = ANY(%(scope_buildings)s))
"""
