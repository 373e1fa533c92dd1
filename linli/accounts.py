"""Accounts: roles and what each may do, password hashing, secret tokens, and the named
SQL that the API, ``linli users`` and the directory import share.

Roles and their place:

- ``admin``: every community; manages accounts, reads the audit log; sees residents
  without their contact details.
- ``control_room``: one community: every alert, dispatch and review, residents with
  contact details.
- ``grid_worker``: their grids (``grid_worker_grids`` through ``users.worker``): the alerts
  and residents there, with contact details; acknowledges and files feedback.
- ``installer``: devices of a community, or of some of its buildings; never residents'
  personal data.
- ``auditor``: reads everything in their place (every community when none is set), with
  phones masked; changes nothing.

A permission is ``<area>:<verb>``; a read-only API token keeps only the ``:read`` ones.
Passwords are hashed with Argon2id (argon2-cffi); session, CSRF and API tokens are random
and stored as SHA-256 hashes only.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Role(StrEnum):
    ADMIN = "admin"
    CONTROL_ROOM = "control_room"
    GRID_WORKER = "grid_worker"
    INSTALLER = "installer"
    AUDITOR = "auditor"


class Perm(StrEnum):
    """What a route needs; each role holds a fixed set (``ROLE_PERMISSIONS``)."""

    COMMUNITIES_READ = "communities:read"
    EVENTS_READ = "events:read"
    RESIDENTS_READ = "residents:read"
    CONTACTS_READ = "contacts:read"
    ABSENCES_READ = "absences:read"
    ABSENCES_WRITE = "absences:write"
    ALERTS_READ = "alerts:read"
    ALERTS_HANDLE = "alerts:handle"        # acknowledge, feedback, photos
    ALERTS_DISPATCH = "alerts:dispatch"    # dispatch, re-dispatch, review, archive
    NOTIFICATIONS_READ = "notifications:read"
    FIGURES_READ = "figures:read"
    DEVICES_READ = "devices:read"
    DEVICES_MANAGE = "devices:manage"    # adopt devices, agent files and credentials
    DEAD_LETTERS_READ = "dead_letters:read"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    SELF = "self"                          # one's own account: password, tokens


_READ_ALL = {Perm.COMMUNITIES_READ, Perm.EVENTS_READ, Perm.RESIDENTS_READ, Perm.ABSENCES_READ,
             Perm.ALERTS_READ, Perm.NOTIFICATIONS_READ, Perm.FIGURES_READ, Perm.DEVICES_READ,
             Perm.DEAD_LETTERS_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(_READ_ALL | {Perm.AUDIT_READ, Perm.USERS_MANAGE, Perm.DEVICES_MANAGE,
                                        Perm.SELF}),
    Role.CONTROL_ROOM: frozenset(_READ_ALL | {
        Perm.CONTACTS_READ, Perm.ABSENCES_WRITE, Perm.ALERTS_HANDLE, Perm.ALERTS_DISPATCH,
        Perm.SELF}),
    Role.GRID_WORKER: frozenset({
        Perm.COMMUNITIES_READ, Perm.EVENTS_READ, Perm.RESIDENTS_READ, Perm.CONTACTS_READ,
        Perm.ABSENCES_READ, Perm.ABSENCES_WRITE, Perm.ALERTS_READ, Perm.ALERTS_HANDLE,
        Perm.FIGURES_READ, Perm.DEVICES_READ, Perm.SELF}),
    Role.INSTALLER: frozenset({Perm.COMMUNITIES_READ, Perm.EVENTS_READ, Perm.DEVICES_READ,
                               Perm.DEVICES_MANAGE, Perm.DEAD_LETTERS_READ, Perm.SELF}),
    Role.AUDITOR: frozenset(_READ_ALL | {Perm.AUDIT_READ, Perm.SELF}),
}

PERSONAL_DATA_ROLES = frozenset({Role.ADMIN, Role.CONTROL_ROOM, Role.GRID_WORKER,
                                 Role.AUDITOR})
"""Roles that see residents' names; of them only the control room and grid workers see
phones and contacts unmasked (``Perm.CONTACTS_READ``)."""


def permissions(role: Role, *, token_scope: str | None = None) -> frozenset[Perm]:
    """What ``role`` may do; through a read-only token, only its reads."""
    granted = ROLE_PERMISSIONS[role]
    if token_scope == "read":
        return frozenset(p for p in granted if p.value.endswith(":read"))
    return granted


MIN_PASSWORD_LENGTH = 10
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` with a fresh salt."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches; an account without a hash is checked against a dummy
    so that unknown and known names take the same time."""
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return False


def password_problem(password: str) -> str | None:
    """Why ``password`` is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password has at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 256:
        return "a password has at most 256 characters"
    if len(set(password)) < 4:
        return "a password needs more than three different characters"
    return None


def new_password() -> str:
    """A random initial password (16 characters, URL-safe)."""
    return secrets.token_urlsafe(12)


TOKEN_PREFIX = "linli_"


def new_token(prefix: str = "") -> str:
    """A random secret (256 bits), e.g. a session cookie or an API token."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What is stored of a token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; shorter numbers keep only their last two digits."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(2, len(digits) - 2) + digits[-2:]


# -- named SQL shared by the API, ``linli users`` and the directory import -----------------

USER_COLUMNS = """
       u.id, u.username, u.display_name, u.role, u.community, u.worker, u.buildings,
       u.must_change_password, u.disabled_at, u.last_login_at, u.created_at
"""

INSERT_USER = """
INSERT INTO users (username, display_name, role, community, worker, buildings, password_hash,
                   must_change_password)
VALUES (%(username)s, %(display_name)s, %(role)s, %(community)s, %(worker)s,
        %(buildings)s, %(password_hash)s, %(must_change_password)s)
ON CONFLICT DO NOTHING
RETURNING id
"""

LIST_USERS = f"""
SELECT {USER_COLUMNS}
  FROM users u
 WHERE (%(community)s::text IS NULL OR u.community = %(community)s)
 ORDER BY u.community NULLS FIRST, u.role, lower(u.username)
"""

GET_USER_BY_NAME = f"""
SELECT {USER_COLUMNS}, u.password_hash
  FROM users u
 WHERE lower(u.username) = lower(%(username)s)
"""

SET_PASSWORD = """
UPDATE users
   SET password_hash = %(password_hash)s, must_change_password = %(must_change_password)s,
       updated_at = now()
 WHERE lower(username) = lower(%(username)s)
RETURNING id
"""

SET_DISABLED = """
UPDATE users
   SET disabled_at = CASE WHEN %(disabled)s THEN coalesce(disabled_at, now()) END,
       updated_at = now()
 WHERE lower(username) = lower(%(username)s)
RETURNING id
"""

REVOKE_SESSIONS = """
UPDATE sessions SET revoked_at = now()
 WHERE user_id = %(user_id)s AND revoked_at IS NULL
   AND (%(keep)s::bytea IS NULL OR token_hash <> %(keep)s)
"""

REVOKE_TOKENS = """
UPDATE api_tokens SET revoked_at = now()
 WHERE user_id = %(user_id)s AND revoked_at IS NULL
"""

INSERT_TOKEN = """
INSERT INTO api_tokens (user_id, name, token_hash, prefix, scope, expires_at)
VALUES (%(user_id)s, %(name)s, %(token_hash)s, %(prefix)s, %(scope)s, %(expires_at)s)
RETURNING id, name, prefix, scope, created_at, expires_at, revoked_at, last_used_at
"""

LIST_TOKENS = """
SELECT id, name, prefix, scope, created_at, expires_at, revoked_at, last_used_at
  FROM api_tokens
 WHERE user_id = %(user_id)s
 ORDER BY created_at DESC, id DESC
"""

REVOKE_TOKEN = """
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
 WHERE id = %(token_id)s AND user_id = %(user_id)s
RETURNING id, name, prefix, scope, created_at, expires_at, revoked_at, last_used_at
"""

# ``linli users add``: does the place exist, and has the worker an account already?
USER_PLACE = """
SELECT EXISTS (SELECT 1 FROM communities c WHERE c.id = %(community)s) AS community_exists,
       w.id IS NOT NULL AS worker_exists, w.active AS worker_active, w.name AS worker_name,
       (SELECT u.username FROM users u
         WHERE u.community = %(community)s AND u.worker = %(worker)s) AS worker_account,
       ARRAY(SELECT b FROM unnest(%(buildings)s::text[]) AS b
              WHERE NOT EXISTS (SELECT 1 FROM buildings x
                                 WHERE x.community = %(community)s AND x.id = b)
              ORDER BY b) AS missing_buildings
  FROM (VALUES (1)) AS one (n)
  LEFT JOIN grid_workers w ON w.community = %(community)s AND w.id = %(worker)s
"""

# ``linli users token --revoke ID``: an administrator revokes anyone's token by its id.
REVOKE_ANY_TOKEN = """
UPDATE api_tokens t SET revoked_at = coalesce(t.revoked_at, now())
  FROM users u
 WHERE t.id = %(token_id)s AND u.id = t.user_id
RETURNING t.id, t.name, t.prefix, t.scope, t.revoked_at, u.id AS user_id, u.username,
          u.role, u.community
"""
