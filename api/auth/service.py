"""Logging in and out, changing one's password, and one's API tokens.

Login is throttled per name (since its last successful login) and per address, counted
from the audit log's ``login_failed`` rows, so every replica sees the same counts. An
unknown name is checked against a dummy hash: it takes as long as a known one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool

from api import audit
from api.auth import queries
from api.auth.models import LoginRequest, Me, PasswordChange, TokenCreate, TokenCreated, TokenRead
from api.deps import Conn
from api.errors import ApiError, InvalidInput, NotFound
from api.security import Principal, Unauthorized
from linli import accounts
from linli.audit import INSERT_AUDIT
from linli.settings import ApiSettings


class TooManyAttempts(ApiError):
    """Too many failed logins for this name or from this address."""

    status_code = 429
    code = "too_many_attempts"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just made: the cookie's token and the CSRF token, both shown once."""

    token: str
    csrf_token: str
    expires_at: dt.datetime
    user: Me


async def login(*, conn: Conn, request: LoginRequest, ip: str | None, user_agent: str | None,
                settings: ApiSettings) -> NewSession:
    """Check the name and password; a new session, or 401 / 429."""
    window = dt.timedelta(minutes=settings.login_window_min)
    counts = await (await conn.execute(queries.RECENT_FAILURES, {
        "username": request.username, "ip": ip, "window": window})).fetchone()
    assert counts is not None
    if counts["by_ip"] >= settings.login_max_failures_per_ip or \
            counts["by_name"] >= settings.login_max_failures:
        await _audit_anonymous(conn, "login_refused", request.username, ip,
                               {"failures_by_name": counts["by_name"],
                                "failures_by_ip": counts["by_ip"]})
        raise TooManyAttempts(f"too many failed logins; try again in "
                              f"{settings.login_window_min:g} minutes")
    row = await (await conn.execute(accounts.GET_USER_BY_NAME,
                                    {"username": request.username})).fetchone()
    stored = row["password_hash"] if row is not None else None
    matches = await run_in_threadpool(accounts.verify_password, stored, request.password)
    if row is None or not matches or row["disabled_at"] is not None:
        await _audit_anonymous(conn, "login_failed", request.username, ip,
                               {"reason": "disabled" if matches and row is not None
                                else "wrong name or password"},
                               user_id=row["id"] if row is not None else None)
        raise Unauthorized("wrong user name or password")
    rehash = None
    if stored is not None and accounts.needs_rehash(stored):
        rehash = await run_in_threadpool(accounts.hash_password, request.password)
    token, csrf = accounts.new_token(), accounts.new_token()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=settings.session_hours)
    async with conn.transaction():
        await conn.execute(queries.INSERT_SESSION, {
            "token_hash": accounts.token_hash(token), "user_id": row["id"],
            "csrf_hash": accounts.token_hash(csrf), "expires_at": expires, "ip": ip,
            "user_agent": (user_agent or "")[:200] or None})
        await conn.execute(queries.LOGGED_IN, {"user_id": row["id"], "rehash": rehash})
        await conn.execute(INSERT_AUDIT, {
            "user_id": row["id"], "username": row["username"], "role": row["role"],
            "community": row["community"], "action": "login", "target": None,
            "via": "session", "ip": ip, "detail": Jsonb({})})
    me = Me(id=row["id"], username=row["username"], display_name=row["display_name"],
            role=row["role"], community=row["community"], worker=row["worker"], grids=None,
            buildings=row["buildings"] or None,
            permissions=sorted(p.value for p in accounts.permissions(accounts.Role(row["role"]))),
            must_change_password=row["must_change_password"], via="session")
    return NewSession(token=token, csrf_token=csrf, expires_at=expires, user=me)


async def _audit_anonymous(conn: Conn, action: str, username: str, ip: str | None,
                           detail: dict[str, object], *, user_id: int | None = None) -> None:
    await conn.execute(INSERT_AUDIT, {
        "user_id": user_id, "username": username[:64], "role": None, "community": None,
        "action": action, "target": None, "via": "session", "ip": ip, "detail": Jsonb(detail)})


async def logout(*, conn: Conn, principal: Principal) -> None:
    """End the session the request came with (a token is revoked elsewhere)."""
    if principal.session_hash is not None:
        await conn.execute(queries.END_SESSION, {"token_hash": principal.session_hash})
    await audit.record(conn, principal, "logout", None)


def me(principal: Principal) -> Me:
    """The principal as the interfaces show it."""
    return Me(id=principal.user_id, username=principal.username,
              display_name=principal.display_name, role=principal.role.value,
              community=principal.community, worker=principal.worker,
              grids=list(principal.grids) if principal.grids is not None else None,
              buildings=list(principal.buildings) if principal.buildings is not None else None,
              permissions=sorted(p.value for p in principal.perms),
              must_change_password=principal.must_change_password, via=principal.via)


async def change_password(*, conn: Conn, principal: Principal, request: PasswordChange) -> None:
    """Check the current password, set the new one, end every other session and token."""
    row = await (await conn.execute(queries.USER_PASSWORD,
                                    {"user_id": principal.user_id})).fetchone()
    assert row is not None
    if not await run_in_threadpool(accounts.verify_password, row["password_hash"],
                                   request.current_password):
        raise InvalidInput.for_field("current_password", "body", "is not the current password")
    problem = accounts.password_problem(request.new_password)
    if problem is None and request.new_password == request.current_password:
        problem = "must differ from the current password"
    if problem is not None:
        raise InvalidInput.for_field("new_password", "body", problem)
    hashed = await run_in_threadpool(accounts.hash_password, request.new_password)
    async with conn.transaction():
        await conn.execute(queries.SET_OWN_PASSWORD,
                           {"user_id": principal.user_id, "password_hash": hashed})
        await conn.execute(accounts.REVOKE_SESSIONS, {"user_id": principal.user_id,
                                                      "keep": principal.session_hash})
        await conn.execute(accounts.REVOKE_TOKENS, {"user_id": principal.user_id})
        await audit.record(conn, principal, "user.password_changed",
                           f"user:{principal.username}")


async def create_token(*, conn: Conn, principal: Principal, request: TokenCreate) -> TokenCreated:
    """A new API token acting as the principal, at most with ``request.scope``."""
    token = accounts.new_token(accounts.TOKEN_PREFIX)
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=request.expires_days)
               if request.expires_days else None)
    async with conn.transaction():
        row = await (await conn.execute(accounts.INSERT_TOKEN, {
            "user_id": principal.user_id, "name": request.name,
            "token_hash": accounts.token_hash(token), "prefix": token[:12],
            "scope": request.scope, "expires_at": expires})).fetchone()
        assert row is not None
        await audit.record(conn, principal, "user.token_created", f"user:{principal.username}",
                           {"token": row["id"], "name": request.name, "scope": request.scope})
    return TokenCreated(**row, token=token)


async def list_tokens(*, conn: Conn, principal: Principal) -> list[TokenRead]:
    """The principal's tokens, newest first (never the tokens themselves)."""
    rows = await (await conn.execute(accounts.LIST_TOKENS,
                                     {"user_id": principal.user_id})).fetchall()
    return [TokenRead.model_validate(r) for r in rows]


async def revoke_token(*, conn: Conn, principal: Principal, token_id: int) -> TokenRead:
    """Revoke one of the principal's tokens (404 for anyone else's)."""
    async with conn.transaction():
        row = await (await conn.execute(accounts.REVOKE_TOKEN, {
            "token_id": token_id, "user_id": principal.user_id})).fetchone()
        if row is None:
            raise NotFound(f"token {token_id} does not exist")
        await audit.record(conn, principal, "user.token_revoked", f"user:{principal.username}",
                           {"token": token_id})
    return TokenRead.model_validate(row)
