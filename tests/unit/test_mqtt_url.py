"""Broker URLs with TLS options: a private CA, a client certificate."""

from __future__ import annotations

import pytest

from linli.errors import ConfigError
from linli.mqtt import parse_broker_url


def test_a_tls_url_names_its_ca_and_client_certificate() -> None:
    broker = parse_broker_url("mqtts://agent-c-b01:pw@mqtt.example.org:8883"
                              "?cafile=/etc/linli/ca.pem&certfile=/etc/linli/b01.crt"
                              "&keyfile=/etc/linli/b01.key")
    assert (broker.tls, broker.host, broker.port) == (True, "mqtt.example.org", 8883)
    assert (broker.cafile, broker.certfile, broker.keyfile) == (
        "/etc/linli/ca.pem", "/etc/linli/b01.crt", "/etc/linli/b01.key")
    assert "pw" not in repr(broker) and "ca.pem" not in repr(broker)
    plain = parse_broker_url("mqtts://h")
    assert plain.port == 8883 and plain.cafile is None and plain.certfile is None


@pytest.mark.parametrize(("url", "message"), [
    ("mqtt://h:1883?cafile=/ca.pem", "need mqtts"),
    ("mqtts://h?ca=/ca.pem", "unknown option 'ca'"),
    ("mqtts://h?keyfile=/k.pem", "keyfile without certfile"),
])
def test_wrong_tls_options_are_named(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_broker_url(url)


def test_a_missing_ca_file_is_an_error_at_connect() -> None:
    broker = parse_broker_url("mqtts://h?cafile=/no/such/ca.pem")
    with pytest.raises(OSError):
        broker.tls_context()
