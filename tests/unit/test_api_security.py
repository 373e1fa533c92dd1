"""The access rules' building blocks: the start-up guard, role permissions, phone masking,
password hashing."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI

from api.security import Principal, allow, check_every_route_is_guarded
from linli.accounts import (
    ROLE_PERMISSIONS,
    Perm,
    Role,
    hash_password,
    mask_phone,
    password_problem,
    permissions,
    verify_password,
)


def _app(*, with_open_route: bool) -> FastAPI:
    router = APIRouter(prefix="/api/v1")

    @router.get("/guarded")
    async def guarded_route(p: Annotated[Principal, Depends(allow(Perm.ALERTS_READ))]) -> int:
        return 1

    if with_open_route:
        @router.get("/open")
        async def open_route() -> int:
            return 1

    app = FastAPI()
    app.include_router(router)
    return app


def test_a_route_without_an_access_rule_stops_the_start() -> None:
    with pytest.raises(RuntimeError, match="GET /api/v1/open"):
        check_every_route_is_guarded(_app(with_open_route=True).routes)
    check_every_route_is_guarded(_app(with_open_route=False).routes)


def test_roles_hold_what_the_issue_gives_them() -> None:
    assert Perm.CONTACTS_READ not in ROLE_PERMISSIONS[Role.ADMIN]
    assert Perm.CONTACTS_READ not in ROLE_PERMISSIONS[Role.AUDITOR]
    assert {p for p in ROLE_PERMISSIONS[Role.AUDITOR] if not p.value.endswith(":read")} == {
        Perm.SELF}
    assert ROLE_PERMISSIONS[Role.INSTALLER] & {Perm.RESIDENTS_READ, Perm.ALERTS_READ,
                                               Perm.CONTACTS_READ} == set()
    assert Perm.ALERTS_DISPATCH in ROLE_PERMISSIONS[Role.CONTROL_ROOM]
    assert Perm.ALERTS_DISPATCH not in ROLE_PERMISSIONS[Role.GRID_WORKER]
    read_only = permissions(Role.CONTROL_ROOM, token_scope="read")
    assert read_only and all(p.value.endswith(":read") for p in read_only)
    assert permissions(Role.CONTROL_ROOM, token_scope="write") == ROLE_PERMISSIONS[
        Role.CONTROL_ROOM]


@pytest.mark.parametrize(("phone", "shown"), [
    ("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"),
    ("62345678", "******78"), ("110", "**10"), (None, None), ("", ""),
])
def test_phones_are_masked(phone: str | None, shown: str | None) -> None:
    assert mask_phone(phone) == shown


def test_passwords_are_argon2id_and_checked() -> None:
    stored = hash_password("correct-horse-42")
    assert stored.startswith("$argon2id$") and "correct-horse" not in stored
    assert verify_password(stored, "correct-horse-42")
    assert not verify_password(stored, "correct-horse-43")
    assert not verify_password(None, "correct-horse-42")
    assert not verify_password("not-a-hash", "x")
    assert password_problem("short") and password_problem("aaaaaaaaaaaa")
    assert password_problem("a-good-passphrase") is None
