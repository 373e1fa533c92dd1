"""The UI's texts: both languages complete, every key the page and script use defined."""

from __future__ import annotations

import json
import re
from pathlib import Path

import api

STATIC = Path(api.__file__).resolve().parent / "static"


def _messages() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads((STATIC / "i18n.json").read_text("utf-8"))
    return loaded


def test_both_languages_have_the_same_keys_and_no_empty_text() -> None:
    messages = _messages()
    assert set(messages) == {"zh-CN", "en"}
    assert set(messages["zh-CN"]) == set(messages["en"])
    for locale, table in messages.items():
        assert all(text.strip() for text in table.values()), locale
    # Chinese by default: the Chinese table really is Chinese.
    assert re.search(r"[\u4e00-\u9fff]", messages["zh-CN"]["panel.alerts"])


def test_every_key_the_page_uses_is_defined() -> None:
    html = (STATIC / "index.html").read_text("utf-8")
    used = set(re.findall(r'data-i18n(?:-placeholder)?="([^"]+)"', html))
    assert used
    assert used <= set(_messages()["zh-CN"])


def test_every_literal_key_the_script_uses_is_defined() -> None:
    script = (STATIC / "app.js").read_text("utf-8")
    used = set(re.findall(r'\bt\("([a-z_.]+)"', script))
    assert "button.acknowledge" in used
    assert used <= set(_messages()["zh-CN"])


def test_the_page_loads_nothing_from_the_internet() -> None:
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text("utf-8")
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text), name
        assert "fetch(\"http" not in text, name
