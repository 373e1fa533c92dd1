"""The README's push-channel examples are URLs the installed Apprise understands, each with
the plugin of the channel it is documented for."""

from __future__ import annotations

import re
from pathlib import Path

import apprise
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def example_urls() -> list[str]:
    """Every ``notify:`` entry of the section's directory example."""
    return re.findall(r"^\s+- ([a-z]+://\S+)$", section("Push channels"), re.MULTILINE)


EXPECTED_PLUGINS = {
    "wechat": "NotifyWeChat", "wecombot": "NotifyWeComBot", "dingtalk": "NotifyDingTalk",
    "feishu": "NotifyFeishu", "mailtos": "NotifyEmail", "jsons": "NotifyJSON",
}


def test_every_documented_channel_has_an_example() -> None:
    schemes = {url.split("://", 1)[0] for url in example_urls()}
    assert schemes == set(EXPECTED_PLUGINS)


@pytest.mark.parametrize("url", example_urls())
def test_example_parses(url: str) -> None:
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None, url
    assert type(plugin).__name__ == EXPECTED_PLUGINS[url.split("://", 1)[0]]


def test_the_sms_gateway_gets_the_documented_fields() -> None:
    url = next(u for u in example_urls() if u.startswith("jsons://"))
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None
    assert plugin.headers == {"Authorization": "Bearer GATEWAYTOKEN"}
    assert plugin.payload_extras == {"phone": "13800000001", "message": "content",
                                     "title": "subject", "attachments": "", "version": "",
                                     "type": ""}


@pytest.mark.parametrize("url", [
    "lark://0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "mailtos://example.cn:465?user=linli@example.cn&pass=PASSWORD&smtp=smtp.exmail.qq.com"
    "&mode=ssl&from=linli@example.cn&to=wangfang@example.cn",
])
def test_table_only_forms_parse(url: str) -> None:
    assert apprise.Apprise.instantiate(url) is not None
