"""SQL of the push links (``alert_links``, made by ``linli.alerts.UPSERT_ALERT_LINK``)."""

from __future__ import annotations

# A valid link is marked opened (the first time) and names its alert and worker, with the
# worker's account if they have one (for the audit log).
OPEN_LINK = """
WITH opened AS (
    UPDATE alert_links SET opened_at = coalesce(opened_at, now())
     WHERE token = %(token)s AND expires_at > now()
    RETURNING alert_id, community, worker
)
SELECT o.alert_id, o.community, o.worker, u.id AS user_id, u.username, u.role
  FROM opened o
  LEFT JOIN users u ON u.community = o.community AND u.worker = o.worker
"""
