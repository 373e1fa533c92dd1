"""What a camera's ``url`` names, and how to show it without its credentials.

A camera source reads one of:

- a network stream: ``rtsp://``, ``rtsps://``, ``http://``, ``https://``, ``rtmp://`` (FFmpeg);
- a local device: an index (``0``) or a V4L2 node (``/dev/video0``);
- a video file: a path, or a ``file://`` URL.

Stream URLs usually carry the camera's password (``rtsp://admin:pw@10.0.0.5/Streaming/1``)
or a token in the query (``?token=…``, ``&pwd=…``); ``mask_url`` hides both, and everything
the camera code logs or publishes goes through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from linli.logs import redact

STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https", "rtmp", "rtmps"})
MASK = "***"
MIN_SCRUBBED_PASSWORD = 3
"""Shorter passwords are not replaced inside free text, where they would garble every
other word; URLs still mask them."""
_SECRET_KEY = re.compile(r"pas|pwd|token|secret|key|auth|sig|credential", re.IGNORECASE)
"""Query keys whose values are hidden (``password``, ``loginpas``, ``access_token`` …)."""
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]+://", re.IGNORECASE)


class TargetKind(StrEnum):
    """How the capture opens what ``url`` names."""

    STREAM = "stream"
    DEVICE = "device"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class CaptureTarget:
    """A parsed camera ``url``: its kind and what OpenCV is given to open it."""

    kind: TargetKind
    location: str | int
    """The URL (stream), the device index or node (device) or the file path (file)."""

    @property
    def is_file(self) -> bool:
        """True for a video file (which can end, be paced and looped)."""
        return self.kind is TargetKind.FILE


def parse_target(url: str) -> CaptureTarget:
    """What ``url`` names; ValueError when it names nothing we can open."""
    text = url.strip()
    if not text:
        raise ValueError("camera url is empty")
    if text.isdigit():
        return CaptureTarget(TargetKind.DEVICE, int(text))
    if text.startswith("/dev/"):
        return CaptureTarget(TargetKind.DEVICE, text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in STREAM_SCHEMES:
        if not parts.hostname:
            raise ValueError(f"stream url {mask_url(text)!r} has no host")
        try:
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            # the error would quote the port, which may be part of a password
            raise ValueError(f"stream url {mask_url(text)!r} has a malformed host or port "
                             "(percent-encode / ? # @ in a password)") from None
        return CaptureTarget(TargetKind.STREAM, text)
    if scheme == "file":
        return CaptureTarget(TargetKind.FILE, unquote(parts.path))
    if scheme and len(scheme) > 1:  # "C:" would be a drive letter, not a scheme
        raise ValueError(f"unsupported url scheme {scheme!r}; use one of "
                         f"{sorted(STREAM_SCHEMES)}, a device index, /dev/videoN or a file path")
    return CaptureTarget(TargetKind.FILE, str(Path(text)))


def _credentials(url: str) -> tuple[str, str, str | None, str] | None:
    """``(scheme://, user, password, rest)`` of a URL with a user part, else None.

    Split by hand rather than with urlsplit: a password holding ``/`` or ``?`` that was not
    percent-encoded (FFmpeg accepts some) must still be found and hidden.
    """
    match = _SCHEME.match(url)
    if match is None:
        return None
    head, query_mark, query = url[match.end():].partition("?")
    if "@" not in head:
        return None
    userinfo, _, rest = head.rpartition("@")
    user, colon, password = userinfo.partition(":")
    return match.group(0), user, password if colon else None, rest + query_mark + query


def mask_url(url: str) -> str:
    """``url`` with its password and secret-looking query values replaced by ``***``.

    The user name stays (it helps an installer see which account is used); anything that
    is not a URL is passed through ``linli.logs.redact``.
    """
    match = _SCHEME.match(url)
    if match is None:
        return redact(url)
    parts = _credentials(url)
    if parts is not None:
        scheme, user, password, rest = parts
        url = f"{scheme}{user}:{MASK}@{rest}" if password is not None else url
    head, query_mark, query = url.partition("?")
    if query:
        query, hash_mark, fragment = query.partition("#")
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_KEY.search(k) else v) for k, v in pairs],
                          safe="*", quote_via=quote) + hash_mark + fragment
    return head + query_mark + query


def scrub(text: str, url: str) -> str:
    """``text`` (an error message, a log line) with ``url`` masked and other secrets redacted.

    FFmpeg and OpenCV may echo the URL in their messages, sometimes re-encoded; the exact
    URL and its password are replaced first, then the generic redaction runs.
    """
    cleaned = text.replace(url, mask_url(url)) if url else text
    parts = _credentials(url)
    password = parts[2] if parts is not None else None
    if password:
        for secret in {password, unquote(password)}:
            if len(secret) >= MIN_SCRUBBED_PASSWORD:
                cleaned = cleaned.replace(secret, MASK).replace(quote(secret, safe=""), MASK)
    return redact(cleaned)
