"""SQL of the dead-letters domain. Only the first bytes of a payload leave the database."""

from __future__ import annotations

LIST_DEAD_LETTERS = """
SELECT id, received_at, topic, reason,
       substring(payload FROM 1 FOR %(shown_bytes)s) AS payload_head,
       octet_length(payload) AS payload_bytes
  FROM dead_letters
 WHERE (%(community)s::text IS NULL OR split_part(topic, '/', 3) = %(community)s)
   AND (%(scope_buildings)s::text[] IS NULL
        OR split_part(topic, '/', 4) = ANY(%(scope_buildings)s))
   AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
   AND (%(after_at)s::timestamptz IS NULL
        OR (received_at, id) < (%(after_at)s, %(after_id)s::bigint))
 ORDER BY received_at DESC, id DESC
 LIMIT %(limit)s
"""
