"""Routes of logging in and one's own account: ``/api/v1/auth/...``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from api.auth import service
from api.auth.models import (
    LoginRequest,
    LoginResponse,
    Me,
    PasswordChange,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from api.deps import ConnDep, StateDep
from api.errors import ERROR_RESPONSES, ErrorResponse
from api.security import CSRF_COOKIE, SESSION_COOKIE, Principal, allow, client_ip
from linli.accounts import Perm

router = APIRouter(prefix="/auth", tags=["auth"])

SelfDep = Annotated[Principal, Depends(allow(Perm.SELF))]

_LOGIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    401: {"model": ErrorResponse, "description": "Wrong user name or password"},
    429: {"model": ErrorResponse, "description": "Too many failed logins"},
}


def _secure(request: Request, setting: str) -> bool:
    if setting == "always":
        return True
    if setting == "never":
        return False
    return request.url.scheme == "https"


@router.post("/login", response_model=LoginResponse, responses=_LOGIN_RESPONSES)
async def login(request: Request, response: Response, conn: ConnDep, state: StateDep,
                body: LoginRequest) -> LoginResponse:
    """Log in: sets the session cookie (HttpOnly, SameSite=Lax) and returns the CSRF token."""
    settings = state.settings.api
    made = await service.login(conn=conn, request=body, ip=client_ip(request),
                               user_agent=request.headers.get("user-agent"), settings=settings)
    secure = _secure(request, settings.cookie_secure)
    max_age = int(settings.session_hours * 3600)
    response.set_cookie(SESSION_COOKIE, made.token, max_age=max_age, httponly=True,
                        samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, made.csrf_token, max_age=max_age, httponly=False,
                        samesite="strict", secure=secure, path="/")
    return LoginResponse(user=made.user, csrf_token=made.csrf_token, expires_at=made.expires_at)


@router.post("/logout", status_code=204, responses=ERROR_RESPONSES)
async def logout(response: Response, conn: ConnDep, principal: SelfDep) -> Response:
    """End this session and clear its cookies."""
    await service.logout(conn=conn, principal=principal)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me, responses=ERROR_RESPONSES)
async def me(principal: SelfDep) -> Me:
    """Who is logged in: role, place and what they may do."""
    return service.me(principal)


@router.post("/password", status_code=204, responses=ERROR_RESPONSES)
async def change_password(conn: ConnDep, principal: SelfDep, body: PasswordChange) -> Response:
    """Change one's password; every other session and API token ends."""
    await service.change_password(conn=conn, principal=principal, request=body)
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenRead], responses=ERROR_RESPONSES)
async def list_tokens(conn: ConnDep, principal: SelfDep) -> list[TokenRead]:
    """One's API tokens (the secrets themselves are never shown again)."""
    return await service.list_tokens(conn=conn, principal=principal)


@router.post("/tokens", response_model=TokenCreated, status_code=201, responses=ERROR_RESPONSES)
async def create_token(conn: ConnDep, principal: SelfDep, body: TokenCreate) -> TokenCreated:
    """A token for an integration, acting as oneself (read-only unless scope is write)."""
    return await service.create_token(conn=conn, principal=principal, request=body)


@router.post("/tokens/{token_id}/revoke", response_model=TokenRead, responses=ERROR_RESPONSES)
async def revoke_token(conn: ConnDep, principal: SelfDep,
                       token_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> TokenRead:
    """Revoke one of one's tokens at once."""
    return await service.revoke_token(conn=conn, principal=principal, token_id=token_id)
