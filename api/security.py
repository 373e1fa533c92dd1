"""Who is asking, and what they may see: the ``Principal`` of a request and its scope.

Every ``/api/v1`` route but login depends on ``allow(perm)``: it authenticates the request
(the session cookie of the interfaces, or an ``Authorization: Bearer`` API token), checks
the CSRF token on unsafe methods of a session, and checks that the role holds ``perm``.
What the route then reads is limited by the principal's place, passed to the SQL as
``scope_*`` parameters (``Principal.scope``):

- ``scope_community``: NULL for an admin or auditor of every community;
- ``scope_buildings``: NULL for the whole community; a grid worker's buildings are those of
  their grids, an installer's those they were given;
- ``scope_grids`` / ``scope_worker``: alerts of a grid worker's grids, or dispatched to them.

``app.create_app`` refuses to start when an ``/api/`` route has no ``allow``; the
route × role test walks every route for every role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth.queries import PRINCIPAL_BY_SESSION, PRINCIPAL_BY_TOKEN, TOUCH_SESSION, TOUCH_TOKEN
from api.deps import ApiState, Conn, ConnDep, StateDep, get_conn
from api.errors import ApiError, NotFound
from linli.accounts import Perm, Role, permissions, token_hash

SESSION_COOKIE = "linli_session"
CSRF_COOKIE = "linli_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOUCH_EVERY = dt.timedelta(minutes=1)
"""A session's ``last_seen_at`` is written at most this often."""

session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                              description="Set by POST /api/v1/auth/login (HttpOnly). "
                                          "Unsafe methods also need the X-CSRF-Token header.")
csrf_header = APIKeyHeader(name=CSRF_HEADER, auto_error=False, scheme_name="csrf",
                           description="The csrf_token returned by login (also in the "
                                       "linli_csrf cookie); needed with the session cookie "
                                       "on POST, PUT, PATCH and DELETE.")
bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token made with `linli users token` or "
                                "POST /api/v1/auth/tokens.")


class Unauthorized(ApiError):
    """No valid session or token."""

    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    """Logged in, but the role may not do this (or must change its password first)."""

    status_code = 403
    code = "forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    """The person (or their integration's token) behind a request."""

    user_id: int
    username: str
    display_name: str
    role: Role
    community: str | None
    worker: str | None
    grids: tuple[str, ...] | None
    """A grid worker's grids; None: not limited to grids."""
    buildings: tuple[str, ...] | None
    """The buildings they may see; None: the whole community (or every community)."""
    via: str
    """``session`` or ``token``."""
    perms: frozenset[Perm] = field(default_factory=frozenset)
    must_change_password: bool = False
    session_hash: bytes | None = None
    token_hash: bytes | None = None
    ip: str | None = None

    def can(self, perm: Perm) -> bool:
        return perm in self.perms

    @property
    def scope(self) -> dict[str, Any]:
        """The ``scope_*`` parameters every scoped statement takes."""
        return {
            "scope_community": self.community,
            "scope_buildings": list(self.buildings) if self.buildings is not None else None,
            "scope_grids": list(self.grids) if self.grids is not None else None,
            "scope_worker": self.worker if self.role is Role.GRID_WORKER else None,
        }

    def community_filter(self, asked: str | None) -> str | None:
        """The community a list is limited to: the principal's own, or what was asked."""
        if self.community is None:
            return asked
        if asked is not None and asked != self.community:
            raise NotFound(f"community {asked!r} does not exist")
        return self.community

    def require_community(self, community: str) -> None:
        """404 for a community outside the principal's place (it is not there for them)."""
        self.community_filter(community)

    def sees_building(self, building: str | None) -> bool:
        return self.buildings is None or (building is not None and building in self.buildings)

    @property
    def sees_contacts(self) -> bool:
        return self.can(Perm.CONTACTS_READ)

    @property
    def sees_personal_data(self) -> bool:
        """Names and homes of residents; installers never see them."""
        return self.role is not Role.INSTALLER


def client_ip(request: Request) -> str | None:
    """The caller's address as the server sees it (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else None


def _principal(row: dict[str, Any], *, via: str, ip: str | None,
               session_hash: bytes | None = None,
               token_hash: bytes | None = None) -> Principal:
    role = Role(row["role"])
    grids: tuple[str, ...] | None = None
    buildings: tuple[str, ...] | None = None
    if role is Role.GRID_WORKER:
        grids = tuple(row["grids"] or ())
        buildings = tuple(row["grid_buildings"] or ())
    elif role is Role.INSTALLER and row["buildings"]:
        buildings = tuple(row["buildings"])
    return Principal(
        user_id=row["id"], username=row["username"], display_name=row["display_name"],
        role=role, community=row["community"], worker=row["worker"], grids=grids,
        buildings=buildings, via=via, perms=permissions(role, token_scope=row["token_scope"]),
        must_change_password=row["must_change_password"], session_hash=session_hash,
        token_hash=token_hash, ip=ip,
    )


async def authenticate(
    request: Request,
    conn: ConnDep,
    state: StateDep,
    cookie: Annotated[str | None, Security(session_cookie)],
    csrf: Annotated[str | None, Security(csrf_header)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """The request's principal; 401 without a valid session or token, 403 on a bad CSRF."""
    return await _authenticate(request, conn, state, cookie, csrf, credentials)


BriefConn = Annotated[Conn, Depends(get_conn, scope="function")]
"""A pooled connection given back as soon as the route function returns."""


async def authenticate_briefly(
    request: Request,
    conn: BriefConn,
    state: StateDep,
    cookie: Annotated[str | None, Security(session_cookie)],
    csrf: Annotated[str | None, Security(csrf_header)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """``authenticate`` for a long response (a stream): its connection goes back to the
    pool before the response starts, instead of being held until the response ends."""
    return await _authenticate(request, conn, state, cookie, csrf, credentials)


async def _authenticate(request: Request, conn: Conn, state: ApiState, cookie: str | None,
                        csrf: str | None,
                        credentials: HTTPAuthorizationCredentials | None) -> Principal:
    ip = client_ip(request)
    if credentials is not None:
        digest = token_hash(credentials.credentials)
        row = await (await conn.execute(PRINCIPAL_BY_TOKEN, {"token_hash": digest})).fetchone()
        if row is None:
            raise Unauthorized("the API token is unknown, expired or revoked")
        if _stale(row["last_seen_at"]):
            await conn.execute(TOUCH_TOKEN, {"token_id": row["token_id"]})
        return _principal(row, via="token", ip=ip, token_hash=digest)
    if cookie:
        digest = token_hash(cookie)
        idle = dt.timedelta(hours=state.settings.api.session_idle_h)
        row = await (await conn.execute(PRINCIPAL_BY_SESSION,
                                        {"token_hash": digest, "idle": idle})).fetchone()
        if row is None:
            raise Unauthorized("the session has expired or was ended; log in again")
        if request.method not in SAFE_METHODS and (
                not csrf or token_hash(csrf) != bytes(row["csrf_hash"])):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header (the csrf_token of login)")
        if _stale(row["last_seen_at"]):
            await conn.execute(TOUCH_SESSION, {"token_hash": digest})
        return _principal(row, via="session", ip=ip, session_hash=digest)
    raise Unauthorized("log in first (POST /api/v1/auth/login) or send an API token")


async def still_valid(conn: Conn, principal: Principal, *, idle: dt.timedelta) -> bool:
    """Whether ``principal``'s session or token still stands for the same person, role and
    place (a long response checks now and then: logout, revocation, a changed role)."""
    if principal.session_hash is not None:
        cur = await conn.execute(PRINCIPAL_BY_SESSION,
                                 {"token_hash": principal.session_hash, "idle": idle})
    elif principal.token_hash is not None:
        cur = await conn.execute(PRINCIPAL_BY_TOKEN, {"token_hash": principal.token_hash})
    else:
        return False
    row = await cur.fetchone()
    if row is None:
        return False
    fresh = _principal(row, via=principal.via, ip=principal.ip)
    return (fresh.user_id, fresh.role, fresh.scope, fresh.perms) == (
        principal.user_id, principal.role, principal.scope, principal.perms)


def _stale(last: dt.datetime | None) -> bool:
    return last is None or dt.datetime.now(dt.UTC) - last > TOUCH_EVERY


PrincipalDep = Annotated[Principal, Depends(authenticate)]
BriefPrincipalDep = Annotated[Principal, Depends(authenticate_briefly)]


def allow(perm: Perm, *, streaming: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the authenticated principal, if their role holds ``perm`` (else 403).

    ``streaming``: for a route whose response lasts (a stream), which must not hold a
    pooled connection meanwhile; such a route gets none of its own (no ``ConnDep``)."""

    def judge(principal: Principal) -> Principal:
        if principal.must_change_password and perm is not Perm.SELF:
            raise Forbidden("change the initial password first (POST /api/v1/auth/password)")
        if not principal.can(perm):
            raise Forbidden(f"a {principal.role.value} may not do this ({perm.value})")
        return principal

    if streaming:
        async def check_briefly(principal: BriefPrincipalDep) -> Principal:
            return judge(principal)

        check_briefly.__linli_perm__ = perm  # type: ignore[attr-defined]
        return check_briefly

    async def check(principal: PrincipalDep) -> Principal:
        return judge(principal)

    check.__linli_perm__ = perm  # type: ignore[attr-defined]
    return check


def api_operations(routes: list[Any]) -> list[tuple[str, str, APIRoute]]:
    """``(method, full path, route)`` of every API route under ``routes``, included routers
    flattened (FastAPI keeps included routers lazily since 0.16x)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    if flatten is None:
        return [(method, route.path, route) for route in routes
                if isinstance(route, APIRoute) for method in sorted(route.methods or ())]
    found = []
    for context in flatten(routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            found += [(method, context.path, route) for method in sorted(context.methods or ())]
    return found


def route_permission(route: APIRoute) -> Perm | None:
    """The permission an ``allow`` dependency of ``route`` asks for, if any."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        perm = getattr(dependant.call, "__linli_perm__", None)
        if perm is not None:
            return perm  # type: ignore[no-any-return]
        stack.extend(dependant.dependencies)
    return None


PUBLIC_ROUTES = frozenset({("POST", "/api/v1/auth/login")})
"""The only ``/api/`` routes open to anonymous callers (besides ``/health``)."""


def check_every_route_is_guarded(routes: list[Any]) -> None:
    """Raise at start-up when an ``/api/`` route has no ``allow`` and is not public."""
    operations = api_operations(routes)
    if not any(path.startswith("/api/") for _, path, _ in operations):
        raise RuntimeError("no /api/ route found: cannot check their access rules")
    missing = [
        f"{method} {path}" for method, path, route in operations
        if path.startswith("/api/") and (method, path) not in PUBLIC_ROUTES
        and route_permission(route) is None
    ]
    if missing:
        raise RuntimeError("routes without an access rule: " + ", ".join(sorted(missing)))
