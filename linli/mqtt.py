"""MQTT helpers shared by the stages: broker URLs and paho-mqtt 2.x client set-up."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli.errors import ConfigError


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """A parsed ``mqtt://`` or ``mqtts://`` URL. ``repr`` never shows the password."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"

    __str__ = __repr__


def parse_broker_url(url: str) -> BrokerAddress:
    """Parse ``mqtt://user:password@host:port`` (``mqtts://`` for TLS)."""
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
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
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
        client.tls_set_context(ssl.create_default_context())
    if will:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if session_expiry_s:
        properties.SessionExpiryInterval = session_expiry_s
    if receive_maximum:
        properties.ReceiveMaximum = receive_maximum
    return MqttSession(client, broker, clean_start, properties)
