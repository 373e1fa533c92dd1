"""SQL of the audit-log domain: newest first, keyset-paginated on (at, id)."""

from __future__ import annotations

LIST_AUDIT = """
SELECT id, at, user_id, username, role, community, action, target, via, ip, detail
  FROM audit_log
 WHERE (%(scope_community)s::text IS NULL OR community = %(scope_community)s)
   AND (%(community)s::text IS NULL OR community = %(community)s)
   AND (%(username)s::text IS NULL OR lower(username) = lower(%(username)s))
   AND (%(action)s::text IS NULL OR starts_with(action, %(action)s))
   AND (%(target)s::text IS NULL OR target = %(target)s)
   AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
   AND (%(until)s::timestamptz IS NULL OR at < %(until)s)
   AND (%(after_at)s::timestamptz IS NULL OR (at, id) < (%(after_at)s, %(after_id)s::bigint))
 ORDER BY at DESC, id DESC
 LIMIT %(limit)s
"""
