"""Settings: environment, file and overrides; errors name the field; secrets stay hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from linli.errors import ConfigError
from linli.logs import redact
from linli.mqtt import parse_broker_url
from linli.settings import load_settings


def test_environment_beats_file_and_overrides_beat_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "linli.yaml"
    config.write_text("locale: en\ningest:\n  batch_size: 10\nrules:\n  interval_s: 5\n")
    monkeypatch.setenv("LINLI_INGEST__BATCH_SIZE", "20")
    settings = load_settings(config)
    assert settings.locale == "en"
    assert settings.ingest.batch_size == 20
    assert settings.rules.interval_s == 5
    assert load_settings(config, locale="zh-CN").locale == "zh-CN"


def test_bad_value_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "linli.yaml"
    config.write_text("ingest:\n  batch_size: -1\n")
    with pytest.raises(ConfigError, match=r"ingest\.batch_size"):
        load_settings(config)
    with pytest.raises(ConfigError, match="no_such_thing"):
        load_settings(None, no_such_thing=1)


def test_secrets_are_not_shown() -> None:
    settings = load_settings(None, database_url="postgresql://u:hunter2@db/linli")
    assert "hunter2" not in repr(settings)
    broker = parse_broker_url("mqtts://agent:s3cret@broker.example:8883")
    assert broker.tls and broker.port == 8883 and broker.password == "s3cret"
    assert "s3cret" not in repr(broker)
    assert redact("connect postgresql://u:hunter2@db/x token=abc") == (
        "connect postgresql://u:***@db/x token=***"
    )


def test_missing_urls_are_a_clear_error() -> None:
    settings = load_settings(None)
    with pytest.raises(ConfigError, match="LINLI_DATABASE_URL"):
        settings.require_database_url()
    with pytest.raises(ConfigError, match="mqtt://"):
        parse_broker_url("http://x")
