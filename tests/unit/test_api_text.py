"""Untrusted text leaving the API: payloads as text, secrets scrubbed, the broker probe's
answers without a broker (no services needed)."""

from __future__ import annotations

import asyncio

from api.health.probe import BrokerProbe, probe_broker
from api.text import payload_text, scrub
from linli.embedded import free_port
from linli.mqtt import parse_broker_url


def test_invalid_utf8_is_replaced() -> None:
    assert payload_text(b"ok \xff\xfe end", cut=False) == "ok \ufffd\ufffd end"


def test_a_character_split_by_the_cut_is_dropped_but_a_bad_byte_is_not() -> None:
    head = "门门".encode()[:5]  # the second character lacks its last byte
    assert payload_text(head, cut=True) == "门"
    assert payload_text(head, cut=False) == "门\ufffd"
    assert payload_text(b"a\xff", cut=True) == "a\ufffd"


def test_scrub_removes_secret_urls_their_keys_and_passwords() -> None:
    secrets = ["json://bob:pa55word@hooks.example:8080/x",
               "dingtalk://0123456789abcdef0123456789abcdef/"]

    text = scrub(
        "POST json://bob:pa55word@hooks.example:8080/x failed; "
        "token 0123456789abcdef0123456789abcdef rejected; password pa55word; "
        "see https://u:other@mirror/ and access_token=zzz",
        secrets,
    )

    assert text is not None
    for secret in ("pa55word", "0123456789abcdef0123456789abcdef", "other", "zzz"):
        assert secret not in text
    assert "json://***" in text
    assert scrub(None, secrets) is None


def test_probe_without_a_broker_url_is_not_configured() -> None:
    assert asyncio.run(BrokerProbe(None).check()) == "not configured"


def test_probe_with_a_bad_url_says_so() -> None:
    result = asyncio.run(BrokerProbe("http://broker:1883").check())
    assert result.startswith("error: ") and "mqtt://" in result


def test_probe_of_a_closed_port_is_an_error_not_an_exception() -> None:
    result = probe_broker(parse_broker_url(f"mqtt://127.0.0.1:{free_port()}"), 1.0)
    assert result.startswith("error: ")
