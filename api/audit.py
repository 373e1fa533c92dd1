"""Writing the audit log from the API (``linli.audit``), and reading it (admins, auditors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Jsonb

from api.deps import Conn
from api.security import Principal
from linli.audit import INSERT_AUDIT


async def record(conn: Conn, principal: Principal, action: str, target: str | None,
                 detail: Mapping[str, Any] | None = None, *,
                 community: str | None = None) -> None:
    """One audit row for what ``principal`` did (in the caller's transaction, if any)."""
    await conn.execute(INSERT_AUDIT, {
        "user_id": principal.user_id, "username": principal.username,
        "role": principal.role.value, "community": community or principal.community,
        "action": action, "target": target, "via": principal.via, "ip": principal.ip,
        "detail": Jsonb(dict(detail or {})),
    })
