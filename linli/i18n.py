"""User-facing text in Simplified Chinese (default) and English.

Each stage keeps its own ``Catalog`` of messages next to the code that uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")


def normalise_locale(locale: str | None) -> str:
    """Map ``zh``, ``zh_CN``, ``en-US``… onto a supported locale; default Chinese."""
    if not locale:
        return DEFAULT_LOCALE
    lowered = locale.replace("_", "-").lower()
    if lowered.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


class Catalog:
    """Messages by key, each with a ``zh-CN`` and an ``en`` template (``str.format`` style)."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        for key, texts in messages.items():
            missing = set(LOCALES) - set(texts)
            if missing:
                raise ValueError(f"message {key!r} lacks {sorted(missing)}")
        self._messages = messages

    def __call__(self, key: str, locale: str | None = None, **values: Any) -> str:
        texts = self._messages[key]
        return texts[normalise_locale(locale)].format(**values)

    def keys(self) -> list[str]:
        return list(self._messages)
