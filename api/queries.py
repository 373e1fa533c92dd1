"""SQL the application itself runs (per pooled connection)."""

from __future__ import annotations

CONFIGURE_SESSION = """
SELECT set_config('statement_timeout', %(statement_timeout)s, false),
       set_config('TimeZone', 'UTC', false)
"""
