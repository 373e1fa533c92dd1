"""The broker's side of an agent's credentials: Mosquitto password-file entries.

Mosquitto 2.0 (``password_file``) stores ``username:$7$<iterations>$<salt>$<hash>``: PBKDF2
with HMAC-SHA512, a 12-byte random salt, 101 iterations, both base64-encoded; exactly what
``mosquitto_passwd`` writes, so we hash in Python and need no Mosquitto on the machine that
provisions. Other lines of the file (service users, other buildings' agents) are kept as
they are; an entry whose hash still matches the password is not rewritten, so provisioning
the same building twice leaves the file byte for byte the same.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from hardware.provision.files import write_private
from linli.errors import ConfigError

ITERATIONS = 101
"""mosquitto_passwd's default for ``sha512-pbkdf2`` (2.0.x)."""
SALT_BYTES = 12
PASSWORD_BYTES = 24
"""Random bytes of a generated password (32 URL-safe characters)."""


def agent_username(community: str, building: str) -> str:
    """The MQTT user of one building's agent."""
    return f"agent-{community}-{building}"


def new_password() -> str:
    """A random password that needs no escaping in a URL (``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def hash_password(password: str, *, salt: bytes | None = None,
                  iterations: int = ITERATIONS) -> str:
    """The ``$7$`` hash Mosquitto 2.0 checks ``password`` against."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    """True when ``hashed`` (a ``$7$`` entry) is the hash of ``password``."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    except ValueError:
        return False
    computed = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(computed, digest)


def read_entries(path: Path) -> list[tuple[str, str]]:
    """The ``(username, hash)`` lines of a password file (empty when there is none)."""
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            raise ConfigError(f"{path}:{number}: not a 'username:hash' line")
        entries.append((user, hashed))
    return entries


def upsert_entry(path: Path, username: str, password: str) -> bool:
    """Set ``username``'s entry in the password file ``path`` (mode 0600), keeping the other
    entries; returns False when the file already held a matching entry (nothing written)."""
    if ":" in username:
        raise ConfigError(f"MQTT user {username!r} may not contain ':'")
    entries = read_entries(path)
    current = dict(entries)
    if username in current and verify_password(password, current[username]):
        return False
    line = (username, hash_password(password))
    if username in current:
        entries = [line if user == username else (user, hashed) for user, hashed in entries]
    else:
        entries.append(line)
    write_private(path, "".join(f"{user}:{hashed}\n" for user, hashed in entries))
    return True
