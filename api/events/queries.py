"""SQL of the events domain, as named statements with named parameters.

Optional filters are ``(%(x)s IS NULL OR column = %(x)s)``: the pool never prepares
statements (``prepare_threshold=None``), so PostgreSQL plans each query with its actual
values and folds the unused filters away.
"""

from __future__ import annotations

EVENT_COLUMNS = """
       e.event_id, e.occurred_at, e.received_at, e.community, e.building, e.device,
       d.name AS device_name, e.kind, e.direction, e.person_id, r.name AS person_name,
       e.credential, e.count, e.confidence, e.source, e.attrs
  FROM events e
  LEFT JOIN devices d
         ON d.community = e.community AND d.building = e.building AND d.id = e.device
  LEFT JOIN residents r ON r.community = e.community AND r.id = e.person_id
"""

LIST_EVENTS = f"""
SELECT {EVENT_COLUMNS}
 WHERE (%(community)s::text IS NULL OR e.community = %(community)s)
   AND (%(building)s::text IS NULL OR e.building = %(building)s)
   AND (%(scope_buildings)s::text[] IS NULL OR e.building = ANY(%(scope_buildings)s))
   AND (%(device)s::text IS NULL OR e.device = %(device)s)
   AND (%(person_id)s::text IS NULL OR e.person_id = %(person_id)s)
   AND (%(kind)s::text IS NULL OR e.kind = %(kind)s)
   AND (%(direction)s::text IS NULL OR e.direction = %(direction)s)
   AND (%(since)s::timestamptz IS NULL OR e.occurred_at >= %(since)s)
   AND (%(until)s::timestamptz IS NULL OR e.occurred_at < %(until)s)
   AND (%(after_at)s::timestamptz IS NULL
        OR (e.occurred_at, e.event_id) < (%(after_at)s, %(after_id)s::uuid))
 ORDER BY e.occurred_at DESC, e.event_id DESC
 LIMIT %(limit)s
"""
