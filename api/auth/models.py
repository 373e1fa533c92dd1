"""Pydantic models of logging in, one's own account and API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LoginRequest(BaseModel):
    """``POST /api/v1/auth/login``."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password


class Me(BaseModel):
    """The logged-in person, their role and place."""

    id: int
    username: str
    display_name: str
    role: str
    community: str | None
    worker: str | None
    grids: list[str] | None
    buildings: list[str] | None
    permissions: list[str]
    must_change_password: bool
    via: str


class LoginResponse(BaseModel):
    """The session is in the HttpOnly cookie; ``csrf_token`` goes in the X-CSRF-Token header
    of every unsafe request (it is also in the readable ``linli_csrf`` cookie)."""

    user: Me
    csrf_token: str
    expires_at: dt.datetime


class PasswordChange(BaseModel):
    """``POST /api/v1/auth/password``: other sessions and tokens are ended."""

    model_config = ConfigDict(extra="forbid")

    current_password: Password
    new_password: Password


class TokenCreate(BaseModel):
    """``POST /api/v1/auth/tokens``: a token for an integration, acting as oneself."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    scope: Literal["read", "write"] = "read"
    expires_days: int | None = Field(90, ge=1, le=3650, description="null: never expires")


class TokenRead(BaseModel):
    """An API token as lists show it: never the token itself."""

    id: int
    name: str
    prefix: str
    scope: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenRead):
    """The new token, shown this once."""

    token: str
