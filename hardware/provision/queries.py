"""Named SQL statements of provisioning and of the device test.

Devices are registered with the directory import's own upsert
(``linli.directory_queries.UPSERT_DEVICE``), so that ``linli import`` and
``linli hardware provision`` write the same row the same way.
"""

from __future__ import annotations

from linli.directory_queries import UPSERT_DEVICE

__all__ = ["BUILDING_EXISTS", "NEWEST_EVENT_SINCE", "UPSERT_DEVICE"]

BUILDING_EXISTS = """
SELECT EXISTS (SELECT 1 FROM buildings
                WHERE community = %(community)s AND id = %(building)s) AS found
"""

# The newest event of the device (or of a home gateway's sensors) stored since the test
# began. The bound on occurred_at lets the (community, occurred_at) index and the
# hypertable's chunks narrow the scan; a device whose clock is off by more than that will
# not be confirmed (its times are shown anyway).
NEWEST_EVENT_SINCE = """
SELECT event_id, occurred_at, received_at, kind, direction, person_id
  FROM events
 WHERE community = %(community)s AND building = %(building)s AND device = ANY(%(devices)s)
   AND received_at >= %(since)s
   AND occurred_at >= %(since)s - interval '7 days'
 ORDER BY received_at DESC
 LIMIT 1
"""
