"""A simulated Zigbee2MQTT gateway: publishes device states on a real MQTT broker the way
Zigbee2MQTT does, for the ``sensor-mqtt`` source's tests.

What it copies from Zigbee2MQTT (``mqtt_topics_and_messages`` and the device pages of its
documentation):

- each device's state is one JSON object on ``<base_topic>/<friendly name>``; with the
  state cache on (Zigbee2MQTT's default) every message carries the device's whole known
  state, not only what changed (``{"battery": 100, "linkquality": 120, "occupancy": true}``),
  except momentary fields such as ``action``, which are never cached;
- ``last_seen`` (``advanced.last_seen``: ``ISO_8601`` gives ``2026-12-06T00:15:00.123Z``,
  ``epoch`` milliseconds), when enabled;
- ``<base_topic>/bridge/state``: ``{"state": "online"}`` retained on start, ``offline`` on a
  clean stop and as the MQTT last-will.

One difference: it publishes with QoS 1 and waits for the broker's acknowledgement, so a
test knows each state reached the broker (Zigbee2MQTT's default is QoS 0).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from linli.mqtt import parse_broker_url

__all__ = ["Zigbee2MqttGateway"]

NOT_CACHED = ("action",)
"""Momentary fields Zigbee2MQTT never keeps in a device's cached state."""
TIMEOUT_S = 10.0


class Zigbee2MqttGateway:
    """Publishes like Zigbee2MQTT on ``broker_url``; ``start`` before ``report``."""

    def __init__(self, broker_url: str, *, base_topic: str = "zigbee2mqtt",
                 last_seen: Literal["ISO_8601", "epoch"] | None = "ISO_8601") -> None:
        self.base_topic = base_topic
        self.last_seen = last_seen
        self._broker = parse_broker_url(broker_url)
        self._cache: dict[str, dict[str, Any]] = {}
        self._seen: dict[str, dt.datetime] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"zigbee2mqtt-{uuid.uuid4().hex[:8]}")
        if self._broker.username:
            self.client.username_pw_set(self._broker.username, self._broker.password)
        self.client.will_set(self.bridge_topic, b'{"state":"offline"}', qos=1, retain=True)

    @property
    def bridge_topic(self) -> str:
        """``<base_topic>/bridge/state``."""
        return f"{self.base_topic}/bridge/state"

    def start(self) -> Zigbee2MqttGateway:
        """Connect and say the bridge is online (retained)."""
        self.client.connect(self._broker.host, self._broker.port)
        self.client.loop_start()
        self.publish(self.bridge_topic, b'{"state":"online"}', retain=True)
        return self

    def report(self, name: str, at: dt.datetime | None = None, *, retain: bool = False,
               **values: Any) -> dict[str, Any]:
        """Publish device ``name``'s state with ``values`` merged into its cached state;
        returns the payload sent."""
        cached = self._cache.setdefault(name, {})
        cached.update({key: value for key, value in values.items() if key not in NOT_CACHED})
        payload = {**cached, **values}
        if self.last_seen is not None:
            seen = at or dt.datetime.now(dt.UTC)
            seen = seen.replace(microsecond=seen.microsecond // 1000 * 1000)
            if at is None and name in self._seen and seen <= self._seen[name]:
                # two reports within a millisecond: Zigbee2MQTT's times would differ
                seen = self._seen[name] + dt.timedelta(milliseconds=1)
            self._seen[name] = seen
            payload["last_seen"] = (
                int(seen.timestamp() * 1000) if self.last_seen == "epoch"
                else seen.astimezone(dt.UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"))
        self.publish(f"{self.base_topic}/{name}", json.dumps(payload).encode(), retain=retain)
        return payload

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish raw bytes (QoS 1) and wait until the broker has them."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError(f"the broker did not acknowledge {topic}")

    def stop(self) -> None:
        """Say the bridge is offline (retained) and disconnect."""
        try:
            if self.client.is_connected():
                self.publish(self.bridge_topic, b'{"state":"offline"}', retain=True)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
