"""SQL of the health domain."""

from __future__ import annotations

PING = "SELECT 1 AS ok"
