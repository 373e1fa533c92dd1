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

UPSERT_DEVICE_SIGHTINGS = """
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
RETURNING d.community, d.building, d.id, (d.xmax = 0) AS inserted
"""
"""A device not in the registry gets a row with registered = false (``inserted`` is true)."""

UPSERT_DEVICE_STATUS = """
INSERT INTO devices AS d (community, building, id, kind, registered, first_seen_at,
                          state, status, status_at)
SELECT community, building, device, kind, false, now(), state, status, now()
  FROM jsonb_to_recordset(%(rows)s::jsonb)
       AS r (community text, building text, device text, kind text, state text,
             status jsonb)
 ORDER BY community, building, device
ON CONFLICT (community, building, id) DO UPDATE
   SET state = EXCLUDED.state,
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
