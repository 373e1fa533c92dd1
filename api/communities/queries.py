"""SQL of the communities domain. "Today" (computed by the service) starts at midnight in
the community's own time zone."""

from __future__ import annotations

from api.alerts.queries import ALERT_SCOPE

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

ACTIVE_ALERTS_BY_RULE = f"""
SELECT a.rule,
       count(*) FILTER (WHERE a.status = 'open') AS open,
       count(*) FILTER (WHERE a.status = 'acknowledged') AS acknowledged
  FROM alerts a
 WHERE a.community = %(community)s AND a.status IN ('open', 'acknowledged')
   AND {ALERT_SCOPE}
 GROUP BY a.rule
 ORDER BY a.rule
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
