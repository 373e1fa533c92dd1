"""``GET /go/{token}``: the link at the end of every push.

Public (outside ``/api``): a valid token answers 303 to the alert's page in the UI,
``/?alert={id}``, which still asks to log in; an unknown or expired one answers a short
page in both languages saying so (404). A token never says more than that, and opening
one is audited (via ``link``).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from psycopg.types.json import Jsonb

from api.deps import ConnDep
from api.links import queries
from api.security import client_ip
from linli.audit import INSERT_AUDIT

router = APIRouter(tags=["links"])

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
"""The expired page: no script at all, its one inline style allowed."""

EXPIRED_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>链接已失效 · Link expired</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto; padding: 0 1em">
<h1>链接已失效</h1>
<p>此推送链接已过期或无效。请登录邻里查看告警。</p>
<h2 lang="en">This link has expired</h2>
<p lang="en">The link in the push is no longer valid. Log in to Linli to see the alert.</p>
<p><a href="/">登录 · Log in</a></p>
</body></html>
"""


@router.get("/go/{token}", include_in_schema=False, response_class=Response)
async def open_link(request: Request, conn: ConnDep, token: str) -> Response:
    """303 to the alert's page for a valid token; the expired page otherwise."""
    row = None
    if _TOKEN.fullmatch(token):
        row = await (await conn.execute(queries.OPEN_LINK, {"token": token})).fetchone()
    if row is None:
        return HTMLResponse(EXPIRED_PAGE, status_code=404,
                            headers={**_NO_STORE, "Content-Security-Policy": _PAGE_POLICY})
    await conn.execute(INSERT_AUDIT, {
        "user_id": row["user_id"], "username": row["username"], "role": row["role"],
        "community": row["community"], "action": "link.opened",
        "target": f"alert:{row['alert_id']}", "via": "link", "ip": client_ip(request),
        "detail": Jsonb({"worker": row["worker"]}),
    })
    return RedirectResponse(f"/?alert={int(row['alert_id'])}", status_code=303,
                            headers=_NO_STORE)
