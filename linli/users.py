"""Managing accounts outside the API: what ``linli users``, the directory import and the
demo do, on a synchronous psycopg connection (``linli.db.connect``, rows as dicts).

Each verb runs in its own transaction (a savepoint inside a caller's) and writes one
``audit_log`` row naming the ``Actor`` — for the command line ``cli:<system user>``, via
``cli``. Secrets are returned to the caller once and never logged or audited.
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from linli import accounts
from linli.accounts import Role
from linli.audit import INSERT_AUDIT
from linli.errors import LinliError

__all__ = ["AccountError", "Actor", "NewToken", "audit_change", "cli_actor", "create_token",
           "create_user", "find_user", "list_tokens", "list_users", "must_change_password",
           "revoke_token", "set_disabled", "set_password"]

Conn = psycopg.Connection[Any]

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
"""A user name: 1–64 letters, digits and ``. _ @ -`` (as the login form accepts it)."""

PLACED_ROLES = frozenset({Role.CONTROL_ROOM, Role.GRID_WORKER, Role.INSTALLER})
"""Roles that belong to one community."""

MAX_TOKEN_DAYS = 3650


class AccountError(LinliError):
    """An account change that cannot be made (unknown name, missing place, weak password…)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, as the audit log records it."""

    username: str
    via: str = "cli"
    user_id: int | None = None
    role: str | None = None


def cli_actor() -> Actor:
    """The person at the command line: ``cli:<system user>``."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        who = "unknown"
    return Actor(username=f"cli:{who}")


@dataclass(frozen=True, slots=True)
class NewToken:
    """An API token just made: ``token`` is shown this once."""

    id: int
    token: str
    username: str
    scope: str
    expires_at: dt.datetime | None


def _one(conn: Conn, statement: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(statement, params).fetchone()


def _all(conn: Conn, statement: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(statement, params).fetchall()


def audit_change(conn: Conn, actor: Actor, action: str, username: str, *,
                 community: str | None = None, detail: Mapping[str, Any] | None = None) -> None:
    """One audit row: ``actor`` did ``action`` to the account ``username``."""
    conn.execute(INSERT_AUDIT, {
        "user_id": actor.user_id, "username": actor.username, "role": actor.role,
        "community": community, "action": action, "target": f"user:{username}",
        "via": actor.via, "ip": None, "detail": Jsonb(dict(detail or {}))})


def _user(conn: Conn, username: str) -> dict[str, Any]:
    row = _one(conn, accounts.GET_USER_BY_NAME, {"username": username})
    if row is None:
        raise AccountError(f"no user {username!r}")
    return row


def check_password(password: str) -> None:
    """AccountError when ``password`` breaks the policy (``accounts.password_problem``)."""
    problem = accounts.password_problem(password)
    if problem is not None:
        raise AccountError(f"password refused: {problem}")


def create_user(conn: Conn, *, username: str, role: Role | str, password: str,
                must_change_password: bool, actor: Actor, community: str | None = None,
                worker: str | None = None, buildings: Sequence[str] = (),
                display_name: str | None = None) -> int:
    """A new account; returns its id. Checks the role's place before writing anything."""
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; roles are "
                           f"{', '.join(r.value for r in Role)}") from None
    if not USERNAME.match(username):
        raise AccountError(f"user name {username!r}: 1–64 letters, digits or . _ @ -, "
                           "starting with a letter or digit")
    check_password(password)
    worker_name = _check_place(conn, role=role, community=community, worker=worker,
                               buildings=buildings)
    if _one(conn, accounts.GET_USER_BY_NAME, {"username": username}):
        raise AccountError(f"user name {username!r} is taken")
    name = (display_name or "").strip() or worker_name or username
    with conn.transaction():
        row = _one(conn, accounts.INSERT_USER, {
            "username": username, "display_name": name[:200], "role": role.value,
            "community": community, "worker": worker, "buildings": list(buildings),
            "password_hash": accounts.hash_password(password),
            "must_change_password": must_change_password})
        if row is None:  # made meanwhile by someone else
            raise AccountError(f"user name {username!r} is taken")
        audit_change(conn, actor, "user.created", username, community=community, detail={
            "role": role.value, "worker": worker, "buildings": list(buildings)})
    return int(row["id"])


def _check_place(conn: Conn, *, role: Role, community: str | None, worker: str | None,
                 buildings: Sequence[str]) -> str | None:
    """AccountError unless the role's place exists; the worker's name from the directory."""
    if role in PLACED_ROLES and community is None:
        raise AccountError(f"a {role.value} belongs to one community: give --community")
    if role is Role.GRID_WORKER and worker is None:
        raise AccountError("a grid_worker needs --worker, their id in the community "
                           "directory (grid_workers), which gives their grids")
    if worker is not None and role not in PLACED_ROLES:
        raise AccountError(f"an {role.value} is not a directory worker: leave out --worker")
    if buildings and role is not Role.INSTALLER:
        raise AccountError("only an installer is limited to buildings: leave out --building")
    if community is None:
        return None
    place = _one(conn, accounts.USER_PLACE, {"community": community, "worker": worker,
                                               "buildings": list(buildings)})
    assert place is not None
    if not place["community_exists"]:
        raise AccountError(f"no community {community!r}; import its directory first "
                           "(linli import)")
    if place["missing_buildings"]:
        raise AccountError(f"community {community!r} has no building "
                           f"{', '.join(place['missing_buildings'])}")
    if worker is None:
        return None
    if not place["worker_exists"]:
        raise AccountError(f"community {community!r} has no grid worker {worker!r} in its "
                           "directory")
    if not place["worker_active"]:
        raise AccountError(f"grid worker {worker!r} is no longer active in the directory")
    if place["worker_account"] is not None:
        raise AccountError(f"grid worker {worker!r} already has the account "
                           f"{place['worker_account']!r}")
    return str(place["worker_name"])


def set_disabled(conn: Conn, *, username: str, disabled: bool, actor: Actor,
                 reason: str | None = None) -> dict[str, int]:
    """Disable (ending every session and token) or enable an account; what was ended."""
    with conn.transaction():
        row = _one(conn, accounts.SET_DISABLED, {"username": username, "disabled": disabled})
        if row is None:
            raise AccountError(f"no user {username!r}")
        ended = {"sessions": 0, "tokens": 0}
        if disabled:
            ended = _end_access(conn, int(row["id"]))
        user = _user(conn, username)
        detail: dict[str, Any] = {"sessions_ended": ended["sessions"],
                                  "tokens_revoked": ended["tokens"]} if disabled else {}
        if reason:
            detail["reason"] = reason
        audit_change(conn, actor, "user.disabled" if disabled else "user.enabled",
               str(user["username"]), community=user["community"], detail=detail)
    return ended


def _end_access(conn: Conn, user_id: int) -> dict[str, int]:
    sessions = conn.execute(accounts.REVOKE_SESSIONS, {"user_id": user_id, "keep": None})
    tokens = conn.execute(accounts.REVOKE_TOKENS, {"user_id": user_id})
    return {"sessions": sessions.rowcount, "tokens": tokens.rowcount}


def set_password(conn: Conn, *, username: str, password: str, must_change_password: bool,
                 actor: Actor) -> None:
    """Set a new password (reset); every session and token of the account ends."""
    check_password(password)
    hashed = accounts.hash_password(password)
    with conn.transaction():
        row = _one(conn, accounts.SET_PASSWORD, {
            "username": username, "password_hash": hashed,
            "must_change_password": must_change_password})
        if row is None:
            raise AccountError(f"no user {username!r}")
        ended = _end_access(conn, int(row["id"]))
        user = _user(conn, username)
        audit_change(conn, actor, "user.password_reset", str(user["username"]),
               community=user["community"],
               detail={"must_change_password": must_change_password,
                       "sessions_ended": ended["sessions"], "tokens_revoked": ended["tokens"]})


def create_token(conn: Conn, *, username: str, name: str, scope: str, days: int | None,
                 actor: Actor) -> NewToken:
    """An API token acting as ``username`` with at most ``scope`` (read or write)."""
    if scope not in ("read", "write"):
        raise AccountError(f"unknown scope {scope!r}: read or write")
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1–100 characters (what it is for)")
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"--days: from 1 to {MAX_TOKEN_DAYS}")
    user = _user(conn, username)
    if user["disabled_at"] is not None:
        raise AccountError(f"user {user['username']!r} is disabled")
    token = accounts.new_token(accounts.TOKEN_PREFIX)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    with conn.transaction():
        row = _one(conn, accounts.INSERT_TOKEN, {
            "user_id": user["id"], "name": name, "token_hash": accounts.token_hash(token),
            "prefix": token[:12], "scope": scope, "expires_at": expires})
        assert row is not None
        audit_change(conn, actor, "user.token_created", str(user["username"]),
               community=user["community"],
               detail={"token": row["id"], "name": name, "scope": scope, "days": days})
    return NewToken(id=int(row["id"]), token=token, username=str(user["username"]),
                    scope=scope, expires_at=expires)


def revoke_token(conn: Conn, *, token_id: int, actor: Actor) -> dict[str, Any]:
    """Revoke any user's token by its id; the token's row (never the secret)."""
    if not 1 <= token_id < 2**63:
        raise AccountError(f"no token {token_id}")
    with conn.transaction():
        row = _one(conn, accounts.REVOKE_ANY_TOKEN, {"token_id": token_id})
        if row is None:
            raise AccountError(f"no token {token_id}")
        audit_change(conn, actor, "user.token_revoked", str(row["username"]),
               community=row["community"], detail={"token": token_id, "name": row["name"]})
    return dict(row)


def list_users(conn: Conn, *, community: str | None = None) -> list[dict[str, Any]]:
    """Every account (of one community), without password hashes."""
    return _all(conn, accounts.LIST_USERS, {"community": community})


def list_tokens(conn: Conn, *, username: str) -> list[dict[str, Any]]:
    """One account's tokens, newest first (never the secrets)."""
    user = _user(conn, username)
    return _all(conn, accounts.LIST_TOKENS, {"user_id": user["id"]})


def find_user(conn: Conn, *, username: str) -> dict[str, Any] | None:
    """The account (its hash included: never show it), or None."""
    return _one(conn, accounts.GET_USER_BY_NAME, {"username": username})


def must_change_password(conn: Conn, *, username: str) -> bool:
    """Whether the account must change its password before anything but that works."""
    return bool(_user(conn, username)["must_change_password"])
