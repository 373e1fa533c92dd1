"""Publishes spooled events with QoS 1 and deletes each one on its PUBACK.

At most ``max_inflight`` messages are handed to paho and not yet acknowledged (paho's
packet ids are 16-bit and it stalls past 65,535). paho's callbacks only put a note in a
queue; the publisher's own thread maps each acknowledged packet id back to its spool
seq and deletes acknowledged messages in batches. Across reconnects paho sends again
what it holds; after a restart everything still spooled goes again (ingest is idempotent
on event_id, so doubles are harmless and nothing is lost).

The agent's status goes, retained, to ``linli/v1/{c}/{b}/{agent_id}/status``: ``online``
with health figures on every connect and every ``status_interval_s``; ``offline`` on a
clean stop, and as the MQTT last-will when the connection dies. Sources that stand for a
device of their own (a camera, a terminal) have their status documents published on that
device's status topic at the same moments; on a clean stop they say ``offline`` too.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from edge.spool import Spool
from linli import __version__
from linli.contract import utc_now
from linli.mqtt import MqttSession

log = logging.getLogger(__name__)

OFFLINE_WILL = b'{"state": "offline"}'
FILL_BATCH = 1000
"""Most messages read from the spool per round."""
WAKE_TIMEOUT_S = 0.2
"""Longest sleep between rounds when nothing wakes the publisher."""
BUSY_TICK_S = 0.01
"""Round interval while messages are in flight. PUBACKs do not wake the publisher one by
one: on two cores, waking per acknowledgement makes the threads fight over the GIL and
cut throughput several times; collecting them for a tick keeps spool work in batches."""
DELETE_BATCH = 500
DELETE_DELAY_S = 0.1
"""Acknowledged messages are deleted in batches of this size, or after this delay. A crash
in between only means those few are sent again."""
RETRY_REFUSED_S = 30.0
"""A message the broker refused (PUBACK reason ≥ 0x80) is offered again after this."""
RETRY_UNROUTED_S = 2.0
"""A message the broker accepted but routed to nobody (PUBACK reason 0x10, no matching
subscribers) stays spooled and is offered again after this. It happens when no ingest
session holds the subscription, e.g. right after a Mosquitto 2.0 restart, which does not
restore shared subscriptions from persistence until ingest subscribes again: deleting such a
message would lose it."""
NO_MATCHING_SUBSCRIBERS = 0x10
UNROUTED_LOG_EVERY_S = 10.0
DRAIN_TIMEOUT_S = 5.0
"""On a clean stop, how long in-flight messages get to be acknowledged."""


@dataclass(frozen=True, slots=True)
class _Connected:
    reason: ReasonCode
    receive_maximum: int | None


@dataclass(frozen=True, slots=True)
class _Disconnected:
    reason: ReasonCode


@dataclass(frozen=True, slots=True)
class _Acked:
    mid: int
    reason: ReasonCode


_Note = _Connected | _Disconnected | _Acked


class Publisher:
    """Moves messages from the spool to the broker; run its loop in one thread."""

    def __init__(self, spool: Spool, session: MqttSession, *, status_topic: str,
                 max_inflight: int, status_interval_s: float,
                 health: Callable[[], dict[str, Any]] = dict,
                 device_statuses: Callable[[], dict[str, dict[str, Any]]] = dict) -> None:
        self._spool = spool
        self._session = session
        self._client = session.client
        self._status_topic = status_topic
        self._max_inflight = self._limit = max_inflight
        self._status_interval = status_interval_s
        self._health = health
        self._device_statuses = device_statuses
        self._notes: queue.SimpleQueue[_Note] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._inflight: dict[int, int] = {}  # paho mid → spool seq
        self._acked: list[int] = []  # acknowledged seqs not deleted yet
        self._acked_since = 0.0
        self._last_seq = 0  # highest seq handed to paho
        self._refused: list[tuple[float, int]] = []  # (when to retry, seq)
        self.unrouted = 0  # PUBACKs that said nobody subscribed; those messages were kept
        self._unrouted_logged_at = 0.0
        self._connected = False
        self._started = time.monotonic()
        self.published = 0
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    @property
    def inflight(self) -> int:
        """Messages handed to paho and not yet acknowledged."""
        return len(self._inflight)

    def wake(self) -> None:
        """Tell the publisher that new messages were spooled."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Connect and publish until ``stop`` is set; then call ``shutdown``."""
        self._session.start()
        next_status = time.monotonic() + self._status_interval
        while not stop.is_set():
            tick = BUSY_TICK_S if self._inflight else WAKE_TIMEOUT_S
            self._wake.wait(min(tick, max(0.0, next_status - time.monotonic())))
            self._wake.clear()
            try:
                self._handle_notes()
                self._delete_acked()
                self._retry_refused()
                self._fill()
                if time.monotonic() >= next_status:
                    next_status = time.monotonic() + self._status_interval
                    if self._connected:
                        self._publish_status("online")
            except Exception:
                # a failing round (spool error, a bug) must not end the agent's publishing
                log.exception("publisher round failed; going on")
                stop.wait(1.0)

    def shutdown(self, drain_timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Give in-flight messages time to be acknowledged, say offline and disconnect.

        What is still unacknowledged stays in the spool for the next start.
        """
        deadline = time.monotonic() + drain_timeout_s
        try:
            self._handle_notes()
            while self._inflight and self._connected and time.monotonic() < deadline:
                self._wake.wait(0.05)
                self._wake.clear()
                self._handle_notes()
            self._delete_acked(force=True)
            if self._inflight:
                log.warning("%d messages not acknowledged at stop; they stay spooled",
                            len(self._inflight))
            if self._connected:
                self._say_offline(max(1.0, deadline - time.monotonic()))
        finally:
            self._session.stop()
        log.info("publisher stopped: %d messages published this run", self.published)

    def _say_offline(self, timeout_s: float) -> None:
        info = self._publish_status("offline")
        try:
            info.wait_for_publish(timeout=timeout_s)
        except (RuntimeError, ValueError) as exc:
            log.warning("offline status not sent: %s", exc)

    def status(self, state: str) -> dict[str, Any]:
        """The status document (format 4): state, version, uptime and health figures."""
        rejected, last_reject = self._spool.rejects()
        return {
            "state": state,
            "kind": "agent",
            "version": __version__,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "at": utc_now().isoformat(),
            "spooled": self._spool.depth(),
            "in_flight": len(self._inflight),
            "published": self.published,
            "unrouted": self.unrouted,
            "rejected_lines": rejected,
            "last_reject": last_reject,
            "sources": self._health(),
        }

    # paho callbacks (network thread): note and wake, nothing else

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, properties: Any) -> None:
        self._notes.put(_Connected(reason, getattr(properties, "ReceiveMaximum", None)))
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason: ReasonCode, properties: Any) -> None:
        self._notes.put(_Disconnected(reason))
        self._wake.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason: ReasonCode, properties: Any) -> None:
        self._notes.put(_Acked(mid, reason))

    # the publisher's own thread

    def _handle_notes(self) -> None:
        while True:
            try:
                note = self._notes.get_nowait()
            except queue.Empty:
                break
            if isinstance(note, _Acked):
                self._on_acked(note)
            elif isinstance(note, _Connected):
                self._connected_with(note)
            else:
                self._connected = False
                log.warning("disconnected from %s: %s; %d in flight will be sent again",
                            self._session.broker, note.reason, len(self._inflight))

    def _delete_acked(self, *, force: bool = False) -> None:
        if not self._acked:
            return
        due = (force or len(self._acked) >= DELETE_BATCH or not self._inflight
               or time.monotonic() - self._acked_since >= DELETE_DELAY_S)
        if due:
            self._spool.delete(self._acked)
            self.published += len(self._acked)
            self._acked = []

    def _on_acked(self, note: _Acked) -> None:
        seq = self._inflight.pop(note.mid, None)
        if seq is None:
            return  # a status message
        if note.reason.is_failure:
            log.warning("broker refused spooled message %d: %s; retrying in %.0fs",
                        seq, note.reason, RETRY_REFUSED_S)
            self._refused.append((time.monotonic() + RETRY_REFUSED_S, seq))
        elif note.reason.value == NO_MATCHING_SUBSCRIBERS:
            self.unrouted += 1
            now = time.monotonic()
            self._refused.append((now + RETRY_UNROUTED_S, seq))
            if now - self._unrouted_logged_at >= UNROUTED_LOG_EVERY_S:
                self._unrouted_logged_at = now
                log.warning("the broker has no subscriber for our events (is ingest running?); "
                            "keeping them spooled and retrying every %.0fs", RETRY_UNROUTED_S)
        else:
            if not self._acked:
                self._acked_since = time.monotonic()
            self._acked.append(seq)

    def _connected_with(self, note: _Connected) -> None:
        if note.reason.is_failure:
            log.error("broker %s refused the connection: %s", self._session.broker, note.reason)
            return
        self._connected = True
        # honour the broker's Receive Maximum for what we hand over from now on
        self._limit = min(self._max_inflight, note.receive_maximum or self._max_inflight)
        log.info("connected to %s (%d spooled, %d in flight)", self._session.broker,
                 self._spool.depth(), len(self._inflight))
        self._publish_status("online")

    def _fill(self) -> None:
        room = self._limit - len(self._inflight)
        if room <= 0:
            return
        for message in self._spool.pending(self._last_seq, min(room, FILL_BATCH)):
            if not self._publish(message.seq, message.topic, message.payload):
                return
            self._last_seq = message.seq

    def _retry_refused(self) -> None:
        now = time.monotonic()
        due = [seq for when, seq in self._refused if when <= now]
        if not due:
            return
        self._refused = [(when, seq) for when, seq in self._refused if when > now]
        for message in self._spool.fetch(due):
            if not self._publish(message.seq, message.topic, message.payload):
                self._refused.append((now + RETRY_REFUSED_S, message.seq))

    def _publish(self, seq: int, topic: str, payload: bytes) -> bool:
        """Hand one message to paho (it queues it while disconnected); False to retry."""
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("paho did not take message %d: %s", seq, mqtt.error_string(info.rc))
            return False
        self._inflight[info.mid] = seq
        return True

    def _publish_status(self, state: str) -> mqtt.MQTTMessageInfo:
        """The agent's status, then each device's; returns the agent's (the one waited for)."""
        try:
            devices = self._device_statuses()
        except Exception:
            log.exception("collecting the devices' statuses failed")
            devices = {}
        common = {"version": __version__, "at": utc_now().isoformat()}
        for topic, document in devices.items():
            # a source may say its device is down while the agent is up; never the reverse
            body = {"state": state, **common, **document} if state == "online" else {
                **document, "state": state, **common}
            self._client.publish(topic, json.dumps(body, ensure_ascii=False, default=str).encode(),
                                 qos=1, retain=True)
        payload = json.dumps(self.status(state), ensure_ascii=False).encode()
        return self._client.publish(self._status_topic, payload, qos=1, retain=True)
