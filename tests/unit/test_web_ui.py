"""The web UI's sources (web/): both languages complete, every text key the pages use
defined, nothing loaded from another site, no inline script or style in the page."""

from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
SOURCES = [p for p in (WEB / "src").rglob("*") if p.suffix in {".vue", ".js"}]


def _messages(locale: str) -> dict[str, str]:
    text = (WEB / "src" / "i18n" / f"{locale}.js").read_text("utf-8")
    loaded: dict[str, str] = json.loads(text.split("export default ", 1)[1].rstrip().rstrip(";"))
    return loaded


def test_both_languages_have_the_same_keys_and_no_empty_text() -> None:
    chinese, english = _messages("zh-CN"), _messages("en")
    assert set(chinese) == set(english)
    for table in (chinese, english):
        assert all(text.strip() for text in table.values())
    assert re.search(r"[\u4e00-\u9fff]", chinese["control.queue"])
    assert english["control.queue"] == "Alert queue"


def test_every_literal_key_the_pages_use_is_defined() -> None:
    used = {key for path in SOURCES
            for key in re.findall(r"\bt\(\s*[\"']([a-z_]+\.[a-z_.]+)[\"']", path.read_text("utf-8"))}
    assert {"action.acknowledge", "health.database_down", "live.broken"} <= used
    assert used <= set(_messages("zh-CN")), used - set(_messages("zh-CN"))


def test_every_outcome_and_status_has_a_text() -> None:
    chinese = _messages("zh-CN")
    for outcome in ("safe", "hospital", "away_unreported", "device_fault", "false_alarm", "other"):
        assert f"outcome.{outcome}" in chinese
    for status in ("open", "acknowledged", "resolved", "archived"):
        assert f"status.{status}" in chinese


def test_nothing_is_loaded_from_another_site_and_nothing_is_inline() -> None:
    page = (WEB / "index.html").read_text("utf-8")
    assert not re.search(r"<script>|<style|\sstyle=", page)
    for path in [WEB / "index.html", *SOURCES]:
        text = path.read_text("utf-8")
        assert not re.search(r"(?:src|href)=[\"'](?:https?:)?//", text), path
        assert not re.search(r"fetch\([\"'`]https?:", text), path
        assert "new EventSource(\"http" not in text, path
