"""SQL of logging in and out, and of finding who a request comes from (account statements
are in ``linli.accounts``)."""

from __future__ import annotations

# A grid worker's grids and the buildings in them (joined to ``users u``).
_GRIDS = """LEFT JOIN LATERAL (
      SELECT array_agg(DISTINCT wg.grid) AS grids,
             coalesce(array_agg(DISTINCT b.id) FILTER (WHERE b.id IS NOT NULL), '{}')
                 AS grid_buildings
        FROM grid_worker_grids wg
        LEFT JOIN buildings b ON b.community = wg.community AND b.grid = wg.grid
       WHERE wg.community = u.community AND wg.worker = u.worker
  ) g ON true"""

# The principal behind a session cookie or an API token, with a grid worker's grids and
# their buildings.
PRINCIPAL_BY_SESSION = f"""
SELECT u.id, u.username, u.display_name, u.role, u.community, u.worker, u.buildings,
       u.must_change_password, s.csrf_hash, s.last_seen_at, NULL::text AS token_scope,
       g.grids, g.grid_buildings
  FROM sessions s
  JOIN users u ON u.id = s.user_id
  {_GRIDS}
 WHERE s.token_hash = %(token_hash)s AND s.revoked_at IS NULL AND s.expires_at > now()
   AND s.last_seen_at > now() - %(idle)s::interval AND u.disabled_at IS NULL
"""

PRINCIPAL_BY_TOKEN = f"""
SELECT u.id, u.username, u.display_name, u.role, u.community, u.worker, u.buildings,
       false AS must_change_password, NULL::bytea AS csrf_hash, t.last_used_at AS last_seen_at,
       t.scope AS token_scope, t.id AS token_id, g.grids, g.grid_buildings
  FROM api_tokens t
  JOIN users u ON u.id = t.user_id
  {_GRIDS}
 WHERE t.token_hash = %(token_hash)s AND t.revoked_at IS NULL
   AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.disabled_at IS NULL
"""

TOUCH_SESSION = """
UPDATE sessions SET last_seen_at = now() WHERE token_hash = %(token_hash)s
"""

TOUCH_TOKEN = """
UPDATE api_tokens SET last_used_at = now() WHERE id = %(token_id)s
"""

# Failures in the window, for the name since its last successful login, and for the address.
RECENT_FAILURES = """
SELECT
  (SELECT count(*) FROM audit_log a
    WHERE a.action = 'login_failed' AND lower(a.username) = lower(%(username)s)
      AND a.at > greatest(now() - %(window)s::interval,
                          coalesce((SELECT u.last_login_at FROM users u
                                     WHERE lower(u.username) = lower(%(username)s)),
                                   '-infinity'))) AS by_name,
  (SELECT count(*) FROM audit_log a
    WHERE a.action = 'login_failed' AND a.ip = %(ip)s
      AND a.at > now() - %(window)s::interval) AS by_ip
"""

INSERT_SESSION = """
INSERT INTO sessions (token_hash, user_id, csrf_hash, expires_at, ip, user_agent)
VALUES (%(token_hash)s, %(user_id)s, %(csrf_hash)s, %(expires_at)s, %(ip)s, %(user_agent)s)
"""

LOGGED_IN = """
UPDATE users SET last_login_at = now(), password_hash = coalesce(%(rehash)s, password_hash)
 WHERE id = %(user_id)s
"""

END_SESSION = """
UPDATE sessions SET revoked_at = now()
 WHERE token_hash = %(token_hash)s AND revoked_at IS NULL
"""

USER_PASSWORD = """
SELECT password_hash FROM users WHERE id = %(user_id)s
"""

SET_OWN_PASSWORD = """
UPDATE users SET password_hash = %(password_hash)s, must_change_password = false,
                 updated_at = now()
 WHERE id = %(user_id)s
"""
