"""The ``sensor-mqtt`` source: a home gateway's MQTT broker → activity events in the spool.

paho-mqtt's network thread connects to the gateway's broker, reconnects with exponential
back-off (1 s doubling up to ``reconnect_max_s``) and subscribes again on every connect,
so a broker that restarted without its sessions still delivers. Its callbacks only note
the connection's state and queue each message with the time it arrived; the source's own
thread decodes them (``mapping.ActivityTracker``), and spools the events and the rejected
reports in one transaction. A batch the spool refuses (disk full) is kept and retried, the
thread never dies, and one bad report never stops the others.

The session is clean: what the gateway published while the agent was away is not replayed,
because its time — the agent's receipt, for reports that carry none — would claim activity
now that happened earlier. Zigbee2MQTT's ``<base_topic>/bridge/state`` (``online`` /
``offline``, bare or as ``{"state": …}``, retained, its last-will) says whether the gateway
itself runs; with the connection it makes the gateway's device status.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import ssl
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.rejects import RejectedLine
from edge.sensor.config import SensorMqttSource
from edge.sensor.mapping import ActivityTracker, Received
from edge.sources import SourceContext
from linli.contract import Event, utc_now
from linli.mqtt import parse_broker_url

__all__ = ["SensorGateway", "make_source"]

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
QUEUE_LIMIT = 10_000
"""Messages waiting for the source's thread; beyond this they are dropped and counted (a
gateway flooding the agent must not exhaust its memory)."""
WAIT_S = 0.2
BATCH = 500
MAX_BACKOFF_S = 30.0
SENSORS_IN_HEALTH = 32
"""Per-sensor figures in the agent's status at most (the status has a size limit)."""
BRIDGE_STATES = ("online", "offline")
UNREACHABLE = "cannot reach the gateway's broker"


class SensorGateway:
    """One home gateway's broker and its sensors (see the module docstring)."""

    def __init__(self, config: SensorMqttSource, context: SourceContext) -> None:
        self.config = config
        self.key = f"sensor-mqtt:{config.device}"
        self._context = context
        self.tracker = ActivityTracker(config, community=context.community,
                                       building=context.building)
        self._broker = parse_broker_url(config.url)  # checked by the config already
        self._inbox: queue.Queue[Received] = queue.Queue(QUEUE_LIMIT)
        self._pending: list[Event] = []
        self._pending_rejects: list[RejectedLine] = []
        self._started = utc_now()
        self.connected = False
        self.connects = 0
        self.subscriptions = 0
        """Subscriptions the broker granted, over every connection (tests wait on it)."""
        self.dropped = 0
        self.bridge: str | None = None
        self.last_message_at: dt.datetime | None = None
        self.last_error: str | None = None
        self._stopped = False
        self.client = self._make_client()

    @property
    def device(self) -> str:
        """The gateway's device id."""
        return self.config.device

    # -- the loop --------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Follow the gateway until ``stop`` is set."""
        log.info("%s: connecting to %s for %d sensors", self.key, self.config.masked_url,
                 len(self.config.sensors))
        options: dict[str, Any] = {"clean_start": True} if self.config.protocol == "5" else {}
        self.client.connect_async(self._broker.host, self._broker.port, keepalive=KEEPALIVE_S,
                                  **options)
        self.client.loop_start()
        backoff = WAIT_S
        try:
            while not stop.is_set():
                try:
                    self.take(self._next_batch())
                    self.flush()
                    backoff = WAIT_S
                except Exception:
                    # a spool that refuses the batch (disk full), or a bug: keep what is
                    # pending and try again, never let the thread die
                    log.exception("%s: storing activity failed; retrying in %.1fs", self.key,
                                  backoff)
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            self._stopped = True
            self.client.disconnect()
            self.client.loop_stop()
            self.connected = False
            try:
                self.take(self._drain())
                self.flush()
            except Exception:
                log.exception("%s: %d events not stored at stop", self.key, len(self._pending))

    def take(self, messages: list[Received]) -> None:
        """Decide what each message means and keep its events and rejects for ``flush``."""
        for message in messages:
            if message.topic == self.config.bridge_topic:
                self._bridge_state(message)
                continue
            if not message.retained:
                self.last_message_at = message.received_at
            try:
                decisions = self.tracker.observe(message)
            except Exception as exc:
                # a bug in the mapping must cost this report, not the loop
                log.exception("%s: report on %s failed", self.key, message.topic)
                self._pending_rejects.append(RejectedLine(
                    f"{self.key}:{message.topic}", 0, message.payload[:2048],
                    f"internal error: {type(exc).__name__}"))
                continue
            for decision in decisions:
                if decision.event is not None:
                    self._pending.append(decision.event)
                if decision.rejected is not None:
                    self._pending_rejects.append(decision.rejected)

    def flush(self) -> int:
        """Spool the pending events and rejects in one transaction; how many events."""
        if not self._pending and not self._pending_rejects:
            return 0
        spooled = self._context.spool_events(self.key, self._pending,
                                             rejected=self._pending_rejects)
        self._pending, self._pending_rejects = [], []
        return spooled

    def _next_batch(self) -> list[Received]:
        try:
            first = self._inbox.get(timeout=WAIT_S)
        except queue.Empty:
            return []
        return [first, *self._drain(BATCH - 1)]

    def _drain(self, limit: int = QUEUE_LIMIT) -> list[Received]:
        batch: list[Received] = []
        while len(batch) < limit:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _bridge_state(self, message: Received) -> None:
        state = bridge_state(message.payload)
        if state is None:
            self._pending_rejects.append(RejectedLine(
                f"{self.key}:{message.topic}", 0, message.payload[:2048],
                "bridge state must be online or offline, bare or as {\"state\": ...}"))
            return
        if state != self.bridge:
            log.info("%s: gateway says %s", self.key, state)
        self.bridge = state

    # -- paho (its network thread): note and queue, nothing else ---------------------------

    def _make_client(self) -> mqtt.Client:
        v5 = self.config.protocol == "5"
        # the session is clean, so nothing needs a stable id; a unique one lets
        # `linli hardware test` follow the gateway while the agent does, without the broker
        # disconnecting one for the other
        client_id = self.config.client_id or (
            f"linli-{self._context.building}-{self.device}"[:55] + f"-{uuid.uuid4().hex[:8]}")
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                             clean_session=None if v5 else True)
        if self._broker.username:
            client.username_pw_set(self._broker.username, self._broker.password)
        if self._broker.tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(min_delay=1, max_delay=self.config.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, properties: Any) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the connection: {reason}"
            log.warning("%s: %s refused the connection: %s", self.key, self.config.masked_url,
                        reason)
            return
        self.connected = True
        self.connects += 1
        self.last_error = None
        # subscribing on every connect is what restores the subscriptions after the
        # gateway's broker restarted without its sessions
        topics = [*self.tracker.topics, *filter(None, [self.config.bridge_topic])]
        client.subscribe([(topic, 1) for topic in topics])
        log.info("%s: connected to %s, subscribing to %d topics", self.key,
                 self.config.masked_url, len(topics))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if self.last_error != UNREACHABLE:  # once per outage, not once per retry
            log.warning("%s: cannot reach %s; retrying with back-off", self.key,
                        self.config.masked_url)
        self.last_error = UNREACHABLE

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason: ReasonCode, properties: Any) -> None:
        if self.connected:
            log.warning("%s: disconnected from %s: %s; reconnecting", self.key,
                        self.config.masked_url, reason)
        self.connected = False

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reasons: list[ReasonCode], properties: Any) -> None:
        refused = [reason for reason in reasons if reason.is_failure]
        if refused:
            self.last_error = f"broker refused {len(refused)} subscriptions: {refused[0]}"
            log.warning("%s: %s (check the account's ACL on the gateway)", self.key,
                        self.last_error)
        self.subscriptions += len(reasons) - len(refused)

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        try:
            self._inbox.put_nowait(Received(message.topic, bytes(message.payload), utc_now(),
                                            bool(message.retain)))
        except queue.Full:
            self.dropped += 1

    # -- health ----------------------------------------------------------------------------

    def is_online(self) -> bool:
        """Connected to the gateway's broker, and the gateway does not say it is offline."""
        return self.connected and self.bridge != "offline"

    def health(self) -> dict[str, Any]:
        """Figures for the agent's status (per-sensor figures for the stalest few)."""
        stats = self.tracker.stats
        now = utc_now()
        heard = sorted(self.tracker.heard_at().items(),
                       key=lambda item: item[1] or dt.datetime.min.replace(tzinfo=dt.UTC))
        stale = self.tracker.stale(now, self._started)
        state = "stopped" if self._stopped else "online" if self.is_online() else "offline"
        return {
            "state": state, "connected": self.connected, "bridge": self.bridge,
            "messages": stats.messages, "activity": stats.activity,
            "ignored": stats.ignored, "rate_limited": stats.rate_limited,
            "capped": stats.capped, "rejected": stats.rejected, "dropped": self.dropped,
            "clock_ahead": stats.clock_ahead, "reconnects": max(0, self.connects - 1),
            "last_message": {name: None if at is None else _iso(at)
                             for name, at in heard[:SENSORS_IN_HEALTH]},
            "stale": stale[:SENSORS_IN_HEALTH], "stale_count": len(stale),
        }

    def device_status(self) -> dict[str, Any] | None:
        """The gateway's status document: online while connected and not said offline."""
        stale = self.tracker.stale(utc_now(), self._started)
        return {
            "state": "online" if self.is_online() else "offline",
            "kind": "sensor",
            "protocol": "sensor-mqtt",
            "broker": self.config.masked_url,
            "connected": self.connected,
            "bridge": self.bridge,
            "sensors": len(self.config.sensors),
            "stale": stale[:SENSORS_IN_HEALTH],
            "last_message_at": None if self.last_message_at is None
            else _iso(self.last_message_at),
            "last_error": self.last_error,
        }


def bridge_state(payload: bytes) -> str | None:
    """``online``/``offline`` from Zigbee2MQTT's bridge state, bare or as JSON; None when
    it is neither."""
    text = payload.decode("utf-8", errors="replace").strip()
    if text in BRIDGE_STATES:
        return text
    try:
        body = json.loads(text)
    except ValueError:
        return None
    state = body.get("state") if isinstance(body, dict) else body
    return state if isinstance(state, str) and state in BRIDGE_STATES else None


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


def make_source(config: SensorMqttSource, context: SourceContext) -> SensorGateway:
    """The source factory for ``type: sensor-mqtt``."""
    return SensorGateway(config, context)
