"""Accounts for tests: users written straight into the database, and logged-in clients.

``add_user`` hashes with the real Argon2 hasher; ``login`` goes through the real login
route, keeps the session cookie in the httpx client and sets the CSRF header, so requests
after it are exactly what the interfaces send.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import psycopg

from linli.accounts import hash_password

PASSWORD = "correct-horse-42"
_HASH = hash_password(PASSWORD)  # hashing is slow on purpose: one hash serves every test


def add_user(db: psycopg.Connection[Any], username: str, role: str, *,
             community: str | None = None, worker: str | None = None,
             buildings: Sequence[str] = (), display_name: str | None = None,
             must_change_password: bool = False) -> int:
    """A user whose password is ``PASSWORD``; returns its id."""
    row = db.execute(
        "INSERT INTO users (username, display_name, role, community, worker, buildings,"
        " password_hash, must_change_password) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (username, display_name or username, role, community, worker, list(buildings), _HASH,
         must_change_password)).fetchone()
    assert row is not None
    return int(row["id"] if isinstance(row, dict) else row[0])


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Client:
    """Log ``client`` in as ``username``; it then sends the CSRF header on every request."""
    response = client.post("/api/v1/auth/login",
                           json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def logged_in(base_url: str, username: str, password: str = PASSWORD,
              **kwargs: Any) -> httpx.Client:
    """A new client for ``base_url``, logged in as ``username``."""
    return login(httpx.Client(base_url=base_url, timeout=kwargs.pop("timeout", 10), **kwargs),
                 username, password)


def set_password(db: psycopg.Connection[Any], username: str) -> None:
    """Give an existing account (e.g. one the directory import made) the password
    ``PASSWORD``, with nothing to change at first login."""
    updated = db.execute("UPDATE users SET password_hash = %s, must_change_password = false"
                         " WHERE lower(username) = lower(%s)", (_HASH, username)).rowcount
    assert updated == 1, f"no account {username!r}"
