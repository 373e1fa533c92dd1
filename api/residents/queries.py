"""SQL of the residents domain."""

from __future__ import annotations

_RESIDENT = """
SELECT r.community, r.id, r.name, r.household, h.building, b.name AS building_name,
       h.unit, u.name AS unit_name, h.room, r.is_elderly, r.lives_alone, r.care_level,
       r.active, b.grid, r.phone, r.emergency_contacts
  FROM residents r
  LEFT JOIN households h ON h.community = r.community AND h.id = r.household
  LEFT JOIN buildings b ON b.community = h.community AND b.id = h.building
  LEFT JOIN units u
         ON u.community = h.community AND u.building = h.building AND u.id = h.unit
"""

# A resident is in a principal's place when their home's building is.
GET_RESIDENT = f"""{_RESIDENT}
 WHERE r.community = %(community)s AND r.id = %(resident)s
   AND (%(scope_buildings)s::text[] IS NULL OR h.building = ANY(%(scope_buildings)s))
"""

LIST_RESIDENTS = f"""{_RESIDENT}
 WHERE r.community = %(community)s
   AND (%(scope_buildings)s::text[] IS NULL OR h.building = ANY(%(scope_buildings)s))
   AND (%(building)s::text IS NULL OR h.building = %(building)s)
   AND (%(watched)s::boolean IS NULL OR (r.is_elderly AND r.lives_alone) = %(watched)s)
   AND (%(after_id)s::text IS NULL OR r.id > %(after_id)s)
 ORDER BY r.id
 LIMIT %(limit)s
"""

GET_PRESENCE = """
SELECT p.last_seen_at, p.building, p.device, d.name AS device_name, p.direction
  FROM presence p
  LEFT JOIN devices d
         ON d.community = p.community AND d.building = p.building AND d.id = p.device
 WHERE p.community = %(community)s AND p.resident = %(resident)s
"""

_ABSENCE = ("id, resident, starts_at, ends_at, reason, created_by, created_at, cancelled_at,"
            " cancelled_by")

LIST_ABSENCES = f"""
SELECT {_ABSENCE} FROM absences
 WHERE community = %(community)s AND resident = %(resident)s
 ORDER BY starts_at DESC, id DESC
 LIMIT 50
"""

INSERT_ABSENCE = f"""
INSERT INTO absences (community, resident, starts_at, ends_at, reason, created_by)
VALUES (%(community)s, %(resident)s, %(starts_at)s, %(ends_at)s, %(reason)s, %(actor)s)
RETURNING {_ABSENCE}
"""

CANCEL_ABSENCE = f"""
UPDATE absences SET cancelled_at = now(), cancelled_by = %(actor)s
 WHERE community = %(community)s AND resident = %(resident)s AND id = %(absence)s
   AND cancelled_at IS NULL
RETURNING {_ABSENCE}
"""
