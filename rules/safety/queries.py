"""Named SQL statements of the safety rules (psycopg, named parameters).

Every statement is bounded by the evaluation's clock (``until`` is the rule's ``now``,
never the server's ``now()``), so that a replay on a simulated clock sees what the live
service would have seen at that moment.
"""

from __future__ import annotations

# Events of some kinds in one community, with the display names of where they happened.
EVENTS_OF_KINDS = """
SELECT e.event_id::text AS event_id, e.occurred_at, e.kind, e.building,
       b.name AS building_name, b.grid, e.device, d.name AS device_name, e.direction,
       e.person_id, e.credential, e.count, e.confidence, e.source
  FROM events e
  LEFT JOIN buildings b ON b.community = e.community AND b.id = e.building
  LEFT JOIN devices d
         ON d.community = e.community AND d.building = e.building AND d.id = e.device
 WHERE e.community = %(community)s AND e.kind = ANY(%(kinds)s)
   AND e.occurred_at > %(since)s AND e.occurred_at <= %(until)s
 ORDER BY e.occurred_at, e.event_id
"""

# What earlier alerts of a rule recorded, per subject: the last event that a closed alert
# covered (events up to it were handled) and the open alert's details, if any.
SUBJECT_HISTORY = """
SELECT subject,
       max((details->>'last_event_at')::timestamptz)
           FILTER (WHERE status IN ('resolved', 'archived')) AS handled_until,
       (array_agg(details ORDER BY id DESC)
           FILTER (WHERE status IN ('open', 'acknowledged')))[1] AS open_details
  FROM alerts
 WHERE community = %(community)s AND rule = %(rule)s AND subject = ANY(%(subjects)s)
 GROUP BY subject
"""

# The first sign that a door held open was shut again: it closed, or someone passed
# through it (the door works again).
FIRST_CLOSE_AFTER = """
SELECT event_id::text AS event_id, occurred_at, kind
  FROM events
 WHERE community = %(community)s AND building = %(building)s AND device = %(device)s
   AND kind IN ('door_closed', 'passage')
   AND occurred_at >= %(since)s AND occurred_at <= %(until)s
 ORDER BY occurred_at, event_id
 LIMIT 1
"""

LAST_EVENT_AT = """
SELECT max(occurred_at) AS last_at
  FROM events
 WHERE community = %(community)s AND building = %(building)s AND device = %(device)s
   AND kind = ANY(%(kinds)s) AND occurred_at > %(since)s AND occurred_at <= %(until)s
"""

# Cameras that count the doorway of a door device in the same building (devices.door).
WATCHED_DOORS = """
SELECT c.building, b.name AS building_name, b.grid, c.id AS camera, c.name AS camera_name,
       c.door, d.name AS door_name
  FROM devices c
  LEFT JOIN buildings b ON b.community = c.community AND b.id = c.building
  LEFT JOIN devices d ON d.community = c.community AND d.building = c.building AND d.id = c.door
 WHERE c.community = %(community)s AND c.door IS NOT NULL
 ORDER BY c.building, c.door, c.id
"""

# Passages at the watched doors and their cameras: one scan for every doorway at once.
DOORWAY_PASSAGES = """
SELECT e.event_id::text AS event_id, e.occurred_at, e.building, e.device, e.direction,
       e.count, e.confidence, e.source
  FROM events e
  JOIN unnest(%(buildings)s::text[], %(devices)s::text[]) AS w (building, device)
    ON w.building = e.building AND w.device = e.device
 WHERE e.community = %(community)s AND e.kind = 'passage'
   AND e.occurred_at > %(since)s AND e.occurred_at <= %(until)s
 ORDER BY e.occurred_at, e.event_id
"""

# The newest camera count at any watched doorway not yet settled (a replay's next look).
LAST_CAMERA_PASSAGE = """
SELECT max(e.occurred_at) AS last_at
  FROM events e
  JOIN devices c ON c.community = e.community AND c.building = e.building AND c.id = e.device
 WHERE e.community = %(community)s AND c.door IS NOT NULL AND e.kind = 'passage'
   AND e.occurred_at > %(since)s AND e.occurred_at <= %(until)s
"""
