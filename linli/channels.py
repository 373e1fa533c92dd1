"""Notify URLs are secrets: the redacted form we store and show, and scrubbing of text.

Shared by the rules engine and the API (both queue pushes), hence in ``linli``.

A worker's Apprise URL can hold a password (``mailto://user:pw@host``), a token in the
path or query (``json://host/hook/TOKEN?token=…``) or be the token itself
(``wecombot://KEY``, ``dingtalk://TOKEN``). ``redact_channel`` keeps only the scheme and a
network host; ``scrub`` removes every secret-looking piece of one URL from a text (an
error message from Apprise) before it is stored or logged.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, unquote, urlsplit

from linli.logs import redact

HIDDEN = "***"
_MIN_FRAGMENT = 3  # shorter pieces ("/", "a") are not secrets and would shred the text


def _is_network_host(host: str) -> bool:
    if host == "localhost" or "." in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def redact_channel(url: str) -> str:
    """``json://127.0.0.1:9999``, ``mailto://example.com``, ``wecombot://***``."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "invalid"
    scheme = parts.scheme.lower() or "unknown"
    if not host:
        return f"{scheme}://"
    if not _is_network_host(host):
        return f"{scheme}://{HIDDEN}"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def secret_fragments(url: str) -> list[str]:
    """The pieces of ``url`` that must not appear in stored or logged text, longest first."""
    found = {url, url.strip()}
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [url]
    found.update(filter(None, (parts.username, parts.password, parts.path, parts.query)))
    found.update(segment for segment in parts.path.split("/") if segment)
    found.update(value for _, value in parse_qsl(parts.query) if value)
    host = parts.hostname or ""
    if host and not _is_network_host(host):
        found.add(host)
    found |= {unquote(piece) for piece in found}
    return sorted((f for f in found if len(f) >= _MIN_FRAGMENT), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with every secret piece of ``url`` (and any URL password) replaced."""
    for fragment in secret_fragments(url):
        text = text.replace(fragment, HIDDEN)
    return redact(text)
