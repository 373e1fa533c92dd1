"""The SQL ingest runs, as named statements with named parameters.

Rows that several ingest replicas may touch at once (presence, devices) are written in key
order, so that two concurrent batches lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

EVENT_COLUMNS = (
    "event_id", "occurred_at", "community", "building", "device", "kind", "direction",
    "person_id", "credential", "count", "confidence", "source", "attrs",
)
"""Column order of ``batch.event_row``; received_at takes its default, now()."""

EVENT_TYPES = (
    "uuid", "timestamptz", "text", "text", "text", "text", "text",
    "text", "text", "int4", "float4", "text", "jsonb",
)
"""PostgreSQL types of EVENT_COLUMNS, for binary COPY."""

_COLUMNS = ", ".join(EVENT_COLUMNS)

COPY_EVENTS = f"COPY events ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
"""Fast path: straight into events; fails as a whole on an already stored event."""

CREATE_STAGING = (
    "CREATE TEMP TABLE ingest_staging (LIKE events INCLUDING DEFAULTS) ON COMMIT DROP"
)

COPY_STAGING = f"COPY ingest_staging ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"

INSERT_FROM_STAGING = f"""
WITH inserted AS (
    INSERT INTO events ({_COLUMNS})
    SELECT {_COLUMNS} FROM ingest_staging
    ON CONFLICT (event_id, occurred_at) DO NOTHING
    RETURNING community
)
SELECT community, count(*) AS n FROM inserted GROUP BY community
"""
"""Slow path for batches holding redelivered events: new rows per community."""

UPSERT_PRESENCE = """
INSERT INTO presence (community, resident, last_seen_at, building, device, direction, event_id)
SELECT community, resident, last_seen_at, building, device, direction, event_id
  FROM jsonb_to_recordset(%(rows)s::jsonb)
       AS r (community text, resident text, last_seen_at timestamptz, building text,
             device text, direction text, event_id uuid)
 ORDER BY community, resident
ON CONFLICT (community, resident) DO UPDATE
   SET last_seen_at = EXCLUDED.last_seen_at,
       building = EXCLUDED.building,
       device = EXCLUDED.device,
       direction = EXCLUDED.direction,
       event_id = EXCLUDED.event_id
 WHERE presence.last_seen_at < EXCLUDED.last_seen_at
"""
"""Presence only moves forward in time: an older event never overwrites a newer one.
``rows`` is a JSON array of objects (one document is far cheaper to send than arrays)."""

UPSERT_RESIDENT_SIGNALS = """
WITH r AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb)
        AS r (community text, building text, device text, person text, household text,
              door_at timestamptz, door_direction text, activity_at timestamptz)
), named AS (
    -- whom each row stands for: the person it names, else every resident of the home it
    -- names or whose own device (apartment door contact, in-home sensor) sent it
    SELECT res.community, res.id AS resident, r.building, r.device, r.door_at,
           r.door_direction, r.activity_at
      FROM r
      LEFT JOIN devices d
             ON d.community = r.community AND d.building = r.building AND d.id = r.device
      JOIN residents res
        ON res.community = r.community
       AND CASE WHEN r.person IS NOT NULL THEN res.id = r.person
                ELSE res.household = COALESCE(r.household, d.household) END
), merged AS (
    SELECT community, resident,
           max(door_at) AS door_at,
           -- one row's fields, the latest (ties broken by place, so every replica agrees)
           (array_agg(door_direction ORDER BY door_at DESC NULLS LAST, building, device))[1]
               AS door_direction,
           (array_agg(building ORDER BY door_at DESC NULLS LAST, building, device))[1]
               AS door_building,
           (array_agg(device ORDER BY door_at DESC NULLS LAST, building, device))[1]
               AS door_device,
           max(activity_at) AS activity_at,
           (array_agg(building ORDER BY activity_at DESC NULLS LAST, building, device))[1]
               AS activity_building,
           (array_agg(device ORDER BY activity_at DESC NULLS LAST, building, device))[1]
               AS activity_device
      FROM named GROUP BY community, resident
)
INSERT INTO resident_signals AS s (
    community, resident, last_door_at, last_door_direction, last_door_building,
    last_door_device, last_activity_at, last_activity_building, last_activity_device,
    first_signal_at)
SELECT community, resident, door_at, door_direction,
       CASE WHEN door_at IS NOT NULL THEN door_building END,
       CASE WHEN door_at IS NOT NULL THEN door_device END,
       activity_at,
       CASE WHEN activity_at IS NOT NULL THEN activity_building END,
       CASE WHEN activity_at IS NOT NULL THEN activity_device END,
       LEAST(door_at, activity_at)
  FROM merged
 ORDER BY community, resident
ON CONFLICT (community, resident) DO UPDATE
   SET (last_door_at, last_door_direction, last_door_building, last_door_device) =
       (SELECT * FROM (VALUES (s.last_door_at, s.last_door_direction, s.last_door_building,
                               s.last_door_device),
                              (EXCLUDED.last_door_at, EXCLUDED.last_door_direction,
                               EXCLUDED.last_door_building, EXCLUDED.last_door_device)) v
         ORDER BY 1 DESC NULLS LAST, 3, 4 LIMIT 1),
       (last_activity_at, last_activity_building, last_activity_device) =
       (SELECT * FROM (VALUES (s.last_activity_at, s.last_activity_building,
                               s.last_activity_device),
                              (EXCLUDED.last_activity_at, EXCLUDED.last_activity_building,
                               EXCLUDED.last_activity_device)) v
         ORDER BY 1 DESC NULLS LAST, 2, 3 LIMIT 1),
       first_signal_at = LEAST(s.first_signal_at, EXCLUDED.first_signal_at)
 WHERE EXCLUDED.last_door_at > s.last_door_at
    OR (s.last_door_at IS NULL AND EXCLUDED.last_door_at IS NOT NULL)
    OR EXCLUDED.last_activity_at > s.last_activity_at
    OR (s.last_activity_at IS NULL AND EXCLUDED.last_activity_at IS NOT NULL)
    OR EXCLUDED.first_signal_at < s.first_signal_at
"""
"""Signs of life per watched-or-not resident; every column only moves forward in time.
A row naming a person or home that the directory does not know is dropped."""

UPSERT_DEVICE_SIGHTINGS = """
WITH sighted AS (
    INSERT INTO devices AS d (community, building, id, kind, registered, first_seen_at,
                              last_event_at)
    SELECT community, building, device, kind, false, now(), last_event_at
      FROM jsonb_to_recordset(%(rows)s::jsonb)
           AS r (community text, building text, device text, kind text,
                 last_event_at timestamptz)
     ORDER BY community, building, device
    ON CONFLICT (community, building, id) DO UPDATE
       SET first_seen_at = COALESCE(d.first_seen_at, EXCLUDED.first_seen_at),
           last_event_at = GREATEST(d.last_event_at, EXCLUDED.last_event_at)
     WHERE d.first_seen_at IS NULL
        OR d.last_event_at IS NULL
        OR d.last_event_at < EXCLUDED.last_event_at
    RETURNING d.community, d.building, d.id, d.kind, d.last_event_at, (d.xmax = 0) AS inserted
), elsewhere AS (
    SELECT s.community, s.building, s.id, s.kind, s.last_event_at,
           string_agg(o.building, ', ' ORDER BY o.building) AS registered_in
      FROM sighted s
      JOIN devices o ON o.community = s.community AND o.id = s.id
                    AND o.building <> s.building AND o.registered
     WHERE s.inserted
     GROUP BY s.community, s.building, s.id, s.kind, s.last_event_at
), flagged AS (
    INSERT INTO dead_letters (topic, payload, reason)
    SELECT format('linli/v1/%%s/%%s/%%s/events', community, building, id),
           convert_to(jsonb_build_object('device', id, 'kind', kind,
                                         'topic_building', building,
                                         'registered_in', registered_in,
                                         'last_event_at', last_event_at)::text, 'UTF8'),
           format('device %%s is registered to building %%s of %%s, but its events arrive '
                  'under building %%s: stored as an unregistered device of %%s. Check the '
                  'agent''s building and credentials, or register the device where it is',
                  id, registered_in, community, building, building)
      FROM elsewhere
     ORDER BY community, building, id
    RETURNING id
)
SELECT community, building, id, inserted FROM sighted
"""
"""A device not in the registry gets a row with registered = false (``inserted`` is true).
When the same device id is registered to another building of the community, that first
sighting is also put on the dead-letter list with a reason an installer can act on (an agent
configured with the wrong building, a device moved, or another building's credentials): the
events stay stored, under the topic's building, as before."""

UPSERT_DEVICE_STATUS = """
INSERT INTO devices AS d (community, building, id, kind, registered, first_seen_at,
                          state, state_since, status, status_at)
SELECT community, building, device, kind, false, now(), state, now(), status, now()
  FROM jsonb_to_recordset(%(rows)s::jsonb)
       AS r (community text, building text, device text, kind text, state text,
             status jsonb)
 ORDER BY community, building, device
ON CONFLICT (community, building, id) DO UPDATE
   SET state = EXCLUDED.state,
       state_since = CASE WHEN d.state IS DISTINCT FROM EXCLUDED.state THEN EXCLUDED.status_at
                          ELSE coalesce(d.state_since, d.status_at) END,
       status = EXCLUDED.status,
       status_at = EXCLUDED.status_at,
       kind = CASE WHEN EXCLUDED.kind = 'agent' THEN 'agent' ELSE d.kind END,
       first_seen_at = COALESCE(d.first_seen_at, EXCLUDED.first_seen_at)
 WHERE d.status_at IS NULL OR d.status_at <= EXCLUDED.status_at
RETURNING d.community, d.building, d.id, (d.xmax = 0) AS inserted
"""
"""status_at is when ingest stored the report: device clocks may be wrong, and the
last-will carries no time at all."""

INSERT_DEAD_LETTER = """
INSERT INTO dead_letters (topic, payload, reason) VALUES (%(topic)s, %(payload)s, %(reason)s)
"""

NOTIFY_EVENTS = "SELECT pg_notify('linli_events', %(community)s)"
"""Delivered to ``LISTEN linli_events`` when the transaction commits."""

NOTIFY_URGENT = "SELECT pg_notify('linli_urgent', %(community)s)"
"""An alarm that must reach people within a second (duress, a forced door): the rules
service evaluates the community at once, without waiting for quiet."""
