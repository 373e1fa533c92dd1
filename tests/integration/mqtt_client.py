"""A paho MQTT 5 test client that records the broker's reason codes (the CONNACK, each
PUBACK and SUBACK) and what it receives, optionally over TLS."""

from __future__ import annotations

import ssl
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from linli.mqtt import BrokerAddress
from tests.pipeline import wait_for

CLOSED = -1
"""``connack`` when the broker hung up before any CONNACK."""


class Client:
    """A paho MQTT 5 client that records the broker's reason codes (TLS when given)."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None,
                 *, context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.connack: int | None = None
        self.error: BaseException | None = None
        self.acks: dict[int, int] = {}
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4()}",
                                  protocol=mqtt.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        if context is not None:
            self.client.tls_set_context(context)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_ack
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        try:
            self.client.connect(host, port)
        except (ssl.SSLError, OSError) as exc:  # the TLS handshake happens in connect()
            self.error = exc
            return
        self.client.loop_start()
        wait_for(lambda: self.connack is not None, 10, "CONNACK")
        if self.connack == 0:
            wait_for(self.client.is_connected, 10, "connected")

    @classmethod
    def agent(cls, broker: BrokerAddress) -> Client:
        """Connected as a provisioned agent: its URL's host, port, user and TLS files."""
        return cls(broker.port, broker.username, broker.password,
                   context=broker.tls_context(), host=broker.host)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        self.connack = reason.value
        if reason.is_failure:
            client.disconnect()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        if self.connack is None:
            self.connack = CLOSED  # the broker hung up before any CONNACK

    def _on_ack(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                properties: Any) -> None:
        self.acks[mid] = reason.value

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        self.acks[mid] = max(code.value for code in reasons)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def _wait_ack(self, mid: int) -> int:
        return int(wait_for(lambda: self.acks.get(mid, -1) + 1, 10, f"ack of {mid}")) - 1

    def publish(self, topic: str, payload: bytes = b"{}", *, retain: bool = False) -> int:
        return self._wait_ack(self.client.publish(topic, payload, qos=1, retain=retain).mid)

    def subscribe(self, topic: str) -> int:
        result, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None, result
        return self._wait_ack(mid)

    def received(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
