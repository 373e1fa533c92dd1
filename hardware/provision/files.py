"""Files provisioning writes: atomically, with the right mode, and the agent's env file.

Every file is written to a temporary name in the same folder (created with its final mode,
so a secret is never readable by others, not even for a moment) and renamed over the old
one: a reader (Mosquitto reloading on SIGHUP, an agent starting) sees the old file or the
new one, never half of one. A file whose content would not change is not touched.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from linli.errors import ConfigError
from linli.mqtt import BrokerAddress, parse_broker_url

PRIVATE = 0o600
PUBLIC = 0o644
MQTT_URL_VARIABLE = "LINLI_MQTT_URL"


def write_private(path: Path, text: str) -> bool:
    """Write a secret file (mode 0600); False when it already held ``text``."""
    return write_file(path, text, PRIVATE)


def write_file(path: Path, text: str, mode: int = PUBLIC) -> bool:
    """Replace ``path`` with ``text`` atomically; False (nothing written) when unchanged."""
    data = text.encode("utf-8")
    with contextlib.suppress(OSError):
        if path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # the umask may have narrowed O_CREAT's mode
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return True


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file (comments and blank lines skipped)."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            key, _, value = stripped.partition("=")
            values[key.strip()] = value.strip()
    return values


def agent_broker(env_file: Path) -> BrokerAddress | None:
    """The broker address (with credentials) an agent's env file gives, or None."""
    url = read_env_file(env_file).get(MQTT_URL_VARIABLE)
    if not url:
        return None
    try:
        return parse_broker_url(url)
    except ConfigError as exc:
        raise ConfigError(f"{env_file}: {exc}") from exc


def env_text(*, community: str, building: str, url: str) -> str:
    """The agent's env file: its broker URL with its own credentials."""
    return (f"# Linli edge agent of {community}/{building}: its own MQTT credentials.\n"
            "# Written by `linli hardware provision`; secret: keep it mode 0600.\n"
            f"{MQTT_URL_VARIABLE}={url}\n")
