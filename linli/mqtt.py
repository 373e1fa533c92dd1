"""MQTT helpers shared by the stages: broker URLs and paho-mqtt 2.x client set-up."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli.errors import ConfigError

TLS_OPTIONS = ("cafile", "certfile", "keyfile")
"""Query options of an ``mqtts://`` URL: the CA that signed the broker's certificate (a
private CA, as docker-compose.yml generates), and the client's own certificate and key."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """A parsed ``mqtt://`` or ``mqtts://`` URL. ``repr`` never shows the password."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    """PEM file of the CA to verify the broker against; None: the system's CAs."""
    certfile: str | None = None
    keyfile: str | None = None
    """The client certificate (PEM) and its key, for a broker that asks for one."""

    def __repr__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"

    __str__ = __repr__

    def tls_context(self) -> ssl.SSLContext:
        """A verifying client context: the broker's certificate must chain to ``cafile``
        (else the system's CAs) and name the host; the client certificate when given."""
        context = ssl.create_default_context(cafile=self.cafile)
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile)
        return context


def parse_broker_url(url: str) -> BrokerAddress:
    """Parse ``mqtt://user:password@host:port`` (``mqtts://`` for TLS, optionally
    ``?cafile=/path/ca.pem&certfile=…&keyfile=…``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ConfigError("LINLI_MQTT_URL must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ConfigError("LINLI_MQTT_URL has no host")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigError("LINLI_MQTT_URL has an invalid port") from exc
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(TLS_OPTIONS))
    if unknown:
        raise ConfigError(f"LINLI_MQTT_URL: unknown option {unknown[0]!r} "
                          f"(known: {', '.join(TLS_OPTIONS)})")
    if options and not tls:
        raise ConfigError("LINLI_MQTT_URL: cafile, certfile and keyfile need mqtts://")
    if options.get("keyfile") and not options.get("certfile"):
        raise ConfigError("LINLI_MQTT_URL: keyfile without certfile")
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        cafile=options.get("cafile") or None,
        certfile=options.get("certfile") or None,
        keyfile=options.get("keyfile") or None,
    )


@dataclass(slots=True)
class MqttSession:
    """A configured paho client with what ``connect`` needs; paho reconnects with backoff."""

    client: mqtt.Client
    broker: BrokerAddress
    clean_start: bool
    properties: Properties

    def start(self, *, keepalive: int = 30) -> None:
        """Connect in the background and run paho's network thread."""
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=keepalive,
            clean_start=self.clean_start,
            properties=self.properties,
        )
        self.client.loop_start()

    def stop(self, *, end_session: bool = False) -> None:
        """Disconnect cleanly (no last-will) and stop the network thread.

        ``end_session`` asks the broker to discard the session now (expiry 0), whatever
        expiry it was opened with: for a client that will not come back.
        """
        properties = None
        if end_session:
            properties = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0
        self.client.disconnect(properties=properties)
        self.client.loop_stop()


def new_session(
    broker: BrokerAddress,
    client_id: str,
    *,
    clean_start: bool = True,
    session_expiry_s: int = 0,
    receive_maximum: int | None = None,
    will: tuple[str, bytes] | None = None,
    manual_ack: bool = False,
) -> MqttSession:
    """An MQTT 5 client for ``broker``; ``will`` is (topic, payload), sent retained, QoS 1."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set_context(broker.tls_context())
    if will:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if session_expiry_s:
        properties.SessionExpiryInterval = session_expiry_s
    if receive_maximum:
        properties.ReceiveMaximum = receive_maximum
    return MqttSession(client, broker, clean_start, properties)
