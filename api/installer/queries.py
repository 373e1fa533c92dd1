"""SQL of the installer's console (tables of migration 0006)."""

from __future__ import annotations

__all__ = ["DEVICE_EVENTS_AFTER", "DEVICE_IN_BUILDING", "GET_FRAME", "LIST_INSTALLED",
           "UPSERT_AGENT_CREDENTIAL", "UPSERT_FRAME", "UPSERT_INSTALLED"]

DEVICE_IN_BUILDING = """
SELECT d.id, d.kind, d.name, d.registered
  FROM devices d
 WHERE d.community = %(community)s AND d.building = %(building)s AND d.id = %(device)s
"""

LIST_INSTALLED = """
SELECT device, profile, name, kind, settings, updated_by, created_at, updated_at
  FROM installed_devices
 WHERE community = %(community)s AND building = %(building)s
 ORDER BY device
"""

UPSERT_INSTALLED = """
INSERT INTO installed_devices (community, building, device, profile, name, kind, settings,
                               updated_by)
VALUES (%(community)s, %(building)s, %(device)s, %(profile)s, %(name)s, %(kind)s,
        %(settings)s, %(updated_by)s)
ON CONFLICT (community, building, device) DO UPDATE
   SET profile = EXCLUDED.profile, name = EXCLUDED.name, kind = EXCLUDED.kind,
       settings = EXCLUDED.settings, updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING (xmax = 0) AS inserted, updated_at
"""

UPSERT_FRAME = """
INSERT INTO device_frames (community, building, device, content_type, data, uploaded_by)
VALUES (%(community)s, %(building)s, %(device)s, %(content_type)s, %(data)s, %(uploaded_by)s)
ON CONFLICT (community, building, device) DO UPDATE
   SET content_type = EXCLUDED.content_type, data = EXCLUDED.data,
       uploaded_by = EXCLUDED.uploaded_by, uploaded_at = now()
"""

GET_FRAME = """
SELECT content_type, data
  FROM device_frames
 WHERE community = %(community)s AND building = %(building)s AND device = %(device)s
"""

UPSERT_AGENT_CREDENTIAL = """
INSERT INTO agent_credentials (community, building, username, password_hash, issued_by)
VALUES (%(community)s, %(building)s, %(username)s, %(password_hash)s, %(issued_by)s)
ON CONFLICT (community, building) DO UPDATE
   SET username = EXCLUDED.username, password_hash = EXCLUDED.password_hash,
       issued_by = EXCLUDED.issued_by, issued_at = now()
"""

# The device's events received after a point (newest last), as an installer may see them:
# no person, no credential. The bound on occurred_at lets the hypertable's chunks narrow
# the scan (a device whose clock is a week off shows nothing here; `linli hardware test`
# says why).
DEVICE_EVENTS_AFTER = """
SELECT event_id, occurred_at, received_at, kind, direction, count, confidence, source, attrs
  FROM events
 WHERE community = %(community)s AND building = %(building)s AND device = %(device)s
   AND received_at > %(after)s
   AND occurred_at >= %(after)s - interval '7 days'
 ORDER BY received_at DESC, event_id DESC
 LIMIT %(limit)s
"""
