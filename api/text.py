"""Text that leaves the API from untrusted sources: raw payloads and error messages."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from linli.logs import redact

_MIN_SECRET_TOKEN = 16
"""Parts of a secret URL this long (keys, tokens) are scrubbed even when seen alone."""
_TOKEN_SPLIT = re.compile(r"[/:@?&=#]")


def payload_text(head: bytes, *, cut: bool) -> str:
    """The first bytes of a payload as text, invalid UTF-8 replaced.

    When ``cut`` (the payload goes on past ``head``), a multi-byte character split by the
    cut is dropped rather than shown as a replacement character.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(head, final=not cut)


def scrub(text: str | None, secret_urls: Iterable[str] = ()) -> str | None:
    """``text`` with credentials removed: ``user:password@`` and ``token=`` pairs, and any
    of ``secret_urls`` (or their long parts) that a channel may have echoed back."""
    if not text:
        return text
    for url in sorted(secret_urls, key=len, reverse=True):
        parts = urlsplit(url)
        rest = url.split("://", 1)[1] if "://" in url else url
        text = text.replace(url, f"{parts.scheme}://***" if parts.scheme else "***")
        tokens = [t for t in _TOKEN_SPLIT.split(rest) if len(t) >= _MIN_SECRET_TOKEN]
        for secret in [rest, parts.password or "", *tokens]:
            if secret:
                text = text.replace(secret, "***")
    return redact(text)
