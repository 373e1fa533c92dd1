"""SQL of the notifications domain (the delivery log).

A channel is the scheme of a notify URL (``wecombot``, ``dingtalk``, ``mailto`` …): the
stored ``channel`` is ``scheme://host`` with secrets already removed. The workers'
``notify_urls`` are secrets: read only to scrub them from what a channel echoed into
``last_error``, never returned. Rows are limited to what the principal may see through
their alerts (``api.alerts.queries.ALERT_SCOPE``).
"""

from __future__ import annotations

from api.alerts.queries import ALERT_SCOPE

_FILTERS = f"""
 WHERE {ALERT_SCOPE}
   AND (%(community)s::text IS NULL OR n.community = %(community)s)
   AND (%(channel)s::text IS NULL OR split_part(n.channel, ':', 1) = %(channel)s)
   AND (%(since)s::timestamptz IS NULL OR n.created_at >= %(since)s)
"""

LIST_NOTIFICATIONS = f"""
SELECT n.id, n.alert_id, a.rule AS alert_rule, a.title AS alert_title, n.community,
       n.worker, w.name AS worker_name, n.channel, n.title, n.status, n.attempts,
       n.next_attempt_at, n.created_at, n.sent_at, n.last_error
  FROM notifications n
  JOIN alerts a ON a.id = n.alert_id
  LEFT JOIN grid_workers w ON w.community = n.community AND w.id = n.worker
{_FILTERS}
   AND (%(status)s::text IS NULL OR n.status = %(status)s)
   AND (%(alert_id)s::bigint IS NULL OR n.alert_id = %(alert_id)s)
   AND (%(worker)s::text IS NULL OR n.worker = %(worker)s)
   AND (%(after_at)s::timestamptz IS NULL
        OR (n.created_at, n.id) < (%(after_at)s, %(after_id)s::bigint))
 ORDER BY n.created_at DESC, n.id DESC
 LIMIT %(limit)s
"""

WORKERS_SECRET_URLS = """
SELECT DISTINCT unnest(w.notify_urls) AS url
  FROM grid_workers w
  JOIN unnest(%(communities)s::text[], %(workers)s::text[]) AS p (community, worker)
    ON w.community = p.community AND w.id = p.worker
"""
"""The channels' URLs of the workers on a page: read only to scrub them, never returned."""

CHANNEL_COUNTS = f"""
SELECT split_part(n.channel, ':', 1) AS channel,
       count(*) AS total,
       count(*) FILTER (WHERE n.status = 'sent') AS sent,
       count(*) FILTER (WHERE n.status = 'failed') AS failed,
       count(*) FILTER (WHERE n.status = 'pending') AS pending,
       count(*) FILTER (WHERE n.status = 'withdrawn') AS withdrawn,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY n.attempts)
           FILTER (WHERE n.status IN ('sent', 'failed')) AS attempts_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY n.attempts)
           FILTER (WHERE n.status IN ('sent', 'failed')) AS attempts_p90,
       max(n.sent_at) AS last_sent_at
  FROM notifications n
  JOIN alerts a ON a.id = n.alert_id
{_FILTERS}
 GROUP BY 1
 ORDER BY 1
"""
