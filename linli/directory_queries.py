"""Named SQL statements of the community directory import (``linli import``).

Every upsert only writes when something differs (``WHERE … IS DISTINCT FROM``) and returns
``inserted`` for the rows it wrote, so that re-importing an unchanged file writes nothing
and the caller can count inserted, updated and unchanged rows.
"""

from __future__ import annotations

UPSERT_COMMUNITY = """
INSERT INTO communities (id, name, timezone, silent_check_at, silent_max_hours, locale)
VALUES (%(id)s, %(name)s, %(timezone)s, %(silent_check_at)s, %(silent_max_hours)s, %(locale)s)
ON CONFLICT (id) DO UPDATE
   SET name = EXCLUDED.name, timezone = EXCLUDED.timezone,
       silent_check_at = EXCLUDED.silent_check_at,
       silent_max_hours = EXCLUDED.silent_max_hours, locale = EXCLUDED.locale
 WHERE (communities.name, communities.timezone, communities.silent_check_at,
        communities.silent_max_hours, communities.locale)
       IS DISTINCT FROM
       (EXCLUDED.name, EXCLUDED.timezone, EXCLUDED.silent_check_at,
        EXCLUDED.silent_max_hours, EXCLUDED.locale)
RETURNING (xmax = 0) AS inserted
"""

UPSERT_GRID = """
INSERT INTO grids (community, id, name)
VALUES (%(community)s, %(id)s, %(name)s)
ON CONFLICT (community, id) DO UPDATE
   SET name = EXCLUDED.name
 WHERE grids.name IS DISTINCT FROM EXCLUDED.name
RETURNING (xmax = 0) AS inserted
"""

UPSERT_BUILDING = """
INSERT INTO buildings (community, id, name, grid, plan_x, plan_y)
VALUES (%(community)s, %(id)s, %(name)s, %(grid)s, %(plan_x)s, %(plan_y)s)
ON CONFLICT (community, id) DO UPDATE
   SET name = EXCLUDED.name, grid = EXCLUDED.grid, plan_x = EXCLUDED.plan_x,
       plan_y = EXCLUDED.plan_y
 WHERE (buildings.name, buildings.grid, buildings.plan_x, buildings.plan_y)
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.grid, EXCLUDED.plan_x, EXCLUDED.plan_y)
RETURNING (xmax = 0) AS inserted
"""

UPSERT_UNIT = """
INSERT INTO units (community, building, id, name)
VALUES (%(community)s, %(building)s, %(id)s, %(name)s)
ON CONFLICT (community, building, id) DO UPDATE
   SET name = EXCLUDED.name
 WHERE units.name IS DISTINCT FROM EXCLUDED.name
RETURNING (xmax = 0) AS inserted
"""

UPSERT_HOUSEHOLD = """
INSERT INTO households (community, id, building, unit, room)
VALUES (%(community)s, %(id)s, %(building)s, %(unit)s, %(room)s)
ON CONFLICT (community, id) DO UPDATE
   SET building = EXCLUDED.building, unit = EXCLUDED.unit, room = EXCLUDED.room
 WHERE (households.building, households.unit, households.room)
       IS DISTINCT FROM (EXCLUDED.building, EXCLUDED.unit, EXCLUDED.room)
RETURNING (xmax = 0) AS inserted
"""

UPSERT_RESIDENT = """
INSERT INTO residents (community, id, name, household, phone, is_elderly, lives_alone,
                       care_level, emergency_contacts, active)
VALUES (%(community)s, %(id)s, %(name)s, %(household)s, %(phone)s, %(elderly)s,
        %(lives_alone)s, %(care_level)s, %(emergency_contacts)s, true)
ON CONFLICT (community, id) DO UPDATE
   SET name = EXCLUDED.name, household = EXCLUDED.household, phone = EXCLUDED.phone,
       is_elderly = EXCLUDED.is_elderly, lives_alone = EXCLUDED.lives_alone,
       care_level = EXCLUDED.care_level, emergency_contacts = EXCLUDED.emergency_contacts,
       active = true
 WHERE (residents.name, residents.household, residents.phone, residents.is_elderly,
        residents.lives_alone, residents.care_level, residents.emergency_contacts,
        residents.active)
       IS DISTINCT FROM
       (EXCLUDED.name, EXCLUDED.household, EXCLUDED.phone, EXCLUDED.is_elderly,
        EXCLUDED.lives_alone, EXCLUDED.care_level, EXCLUDED.emergency_contacts, true)
RETURNING (xmax = 0) AS inserted
"""

UPSERT_GRID_WORKER = """
INSERT INTO grid_workers (community, id, name, phone, role, locale, notify_urls, active)
VALUES (%(community)s, %(id)s, %(name)s, %(phone)s, %(role)s, %(locale)s, %(notify)s, true)
ON CONFLICT (community, id) DO UPDATE
   SET name = EXCLUDED.name, phone = EXCLUDED.phone, role = EXCLUDED.role,
       locale = EXCLUDED.locale, notify_urls = EXCLUDED.notify_urls, active = true
 WHERE (grid_workers.name, grid_workers.phone, grid_workers.role, grid_workers.locale,
        grid_workers.notify_urls, grid_workers.active)
       IS DISTINCT FROM
       (EXCLUDED.name, EXCLUDED.phone, EXCLUDED.role, EXCLUDED.locale,
        EXCLUDED.notify_urls, true)
RETURNING (xmax = 0) AS inserted
"""

INSERT_WORKER_GRID = """
INSERT INTO grid_worker_grids (community, worker, grid)
VALUES (%(community)s, %(worker)s, %(grid)s)
ON CONFLICT DO NOTHING
RETURNING true AS inserted
"""

# Links the file no longer lists: the worker is no longer responsible for that grid.
DELETE_STALE_WORKER_GRIDS = """
DELETE FROM grid_worker_grids g
 WHERE g.community = %(community)s
   AND NOT EXISTS (
       SELECT 1 FROM unnest(%(workers)s::text[], %(grids)s::text[]) AS k(worker, grid)
        WHERE k.worker = g.worker AND k.grid = g.grid)
RETURNING g.worker
"""

UNREGISTERED_DEVICES = """
SELECT building, id FROM devices
 WHERE community = %(community)s AND NOT registered
"""

# ``keep_links``: provisioning registers a device without knowing the directory's links
# (household, watched door); it keeps them. The import states them and sets them.
UPSERT_DEVICE = """
INSERT INTO devices (community, building, id, kind, name, household, door, registered)
VALUES (%(community)s, %(building)s, %(id)s, %(kind)s, %(name)s, %(household)s, %(door)s, true)
ON CONFLICT (community, building, id) DO UPDATE
   SET kind = EXCLUDED.kind, name = EXCLUDED.name, registered = true,
       household = CASE WHEN %(keep_links)s THEN devices.household ELSE EXCLUDED.household END,
       door = CASE WHEN %(keep_links)s THEN devices.door ELSE EXCLUDED.door END
 WHERE (devices.kind, devices.name, devices.registered) IS DISTINCT FROM
       (EXCLUDED.kind, EXCLUDED.name, true)
    OR (NOT %(keep_links)s AND (devices.household, devices.door) IS DISTINCT FROM
                               (EXCLUDED.household, EXCLUDED.door))
RETURNING (xmax = 0) AS inserted
"""

# People who left the file moved out or left the job: keep their history, stop watching them.
DEACTIVATE_MISSING_RESIDENTS = """
UPDATE residents SET active = false
 WHERE community = %(community)s AND active AND NOT (id = ANY(%(keep)s::text[]))
RETURNING id
"""

DEACTIVATE_MISSING_WORKERS = """
UPDATE grid_workers SET active = false
 WHERE community = %(community)s AND active AND NOT (id = ANY(%(keep)s::text[]))
RETURNING id
"""

# Accounts of the directory's staff (``linli.directory_accounts``): every worker of the
# community, active or not, with the account linked to them, if any.
WORKER_ACCOUNTS = """
SELECT w.id AS worker, w.active, u.id AS user_id, u.username, u.role, u.display_name,
       u.disabled_at
  FROM grid_workers w
  LEFT JOIN users u ON u.community = w.community AND u.worker = w.id
 WHERE w.community = %(community)s
 ORDER BY w.id
"""

# The directory says who a worker is and what they do; accounts of other roles (an admin
# linked to a worker) are left alone.
UPDATE_WORKER_ACCOUNT = """
UPDATE users SET role = %(role)s, display_name = %(display_name)s, updated_at = now()
 WHERE id = %(user_id)s AND role IN ('grid_worker', 'control_room', 'installer')
   AND (role, display_name) IS DISTINCT FROM (%(role)s, %(display_name)s)
RETURNING id, username
"""
