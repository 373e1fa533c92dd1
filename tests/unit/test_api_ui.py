"""The UI's texts: both languages complete, every key the page and script use defined."""

from __future__ import annotations

import json
import re
from pathlib import Path

import api
from linli.accounts import Role

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
    used = set(re.findall(r'\b(?:t|add)\("([a-z_.]+)"', script))
    assert "button.acknowledge" in used
    assert used <= set(_messages()["zh-CN"])


def test_the_page_loads_nothing_from_the_internet() -> None:
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text("utf-8")
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", text), name
        assert "fetch(\"http" not in text, name


OUTCOMES = {"safe": "安全无事", "hospital": "已送医", "away_unreported": "外出未报备",
            "device_fault": "设备故障", "false_alarm": "误报", "other": "其他"}
"""The outcome list of the alert loop's contract, with its Chinese labels."""


def test_the_feedback_form_offers_exactly_the_contract_outcomes() -> None:
    html = (STATIC / "index.html").read_text("utf-8")
    form = html.split('id="feedback-outcome"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([a-z_]+)"', form) == list(OUTCOMES)
    messages = _messages()
    for code, text in OUTCOMES.items():
        assert messages["zh-CN"][f"outcome.{code}"] == text
        assert messages["en"][f"outcome.{code}"]


def test_codes_shown_through_labels_have_texts() -> None:
    messages = _messages()["zh-CN"]
    wanted = [f"role.{role.value}" for role in Role]
    wanted += [f"action.{a}" for a in ("raised", "dispatched_to", "redispatched", "acknowledged",
                                       "feedback", "accepted", "returned", "archived")]
    wanted += [f"done.{d}" for d in ("accepted", "returned")]
    wanted += [f"error.{code}" for code in ("unauthorized", "forbidden", "too_many_attempts")]
    assert [key for key in wanted if key not in messages] == []


def test_the_page_logs_in_and_acts_as_the_logged_in_person() -> None:
    html = (STATIC / "index.html").read_text("utf-8")
    script = (STATIC / "app.js").read_text("utf-8")
    # A login form and a password change form; no typed "actor" or operator name any more.
    assert 'id="login-form"' in html and 'id="password-form"' in html
    assert 'id="operator"' not in html and not re.search(r"[{,]\s*actor\s*[:},]", script)
    assert 'type="password"' in html and 'autocomplete="current-password"' in html
    # Unsafe requests carry the CSRF token (from login, else the readable cookie).
    assert '"X-CSRF-Token"' in script and 'cookie("linli_csrf")' in script
    # The steps of the loop the page can take, and no removed route.
    for verb in ("acknowledge", "feedback", "dispatch", "review", "archive"):
        assert f'"{verb}"' in script, verb
    assert "/resolve" not in script
    # A push link (/?alert=ID) opens that alert once logged in.
    assert 'query.get("alert")' in script
    # No inline scripts or handlers: the page works under a strict CSP.
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html)
