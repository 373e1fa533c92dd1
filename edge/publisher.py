"""Publishes spooled events with QoS 1 and deletes each one once ingest has stored it.

A PUBACK is not enough: Mosquitto writes its queue to disk only every
``autosave_interval``, so a broker crash loses what it acknowledged since. The publisher
subscribes to its building's storage receipts (``linli.receipts``) and deletes a message
when a receipt names it. A message the broker acknowledged stays spooled, not sent again
while the broker holds it, until then; it goes again after every reconnect (the broker may
have crashed), and when ingest has confirmed messages published well after it but not it
(``REPUBLISH_AFTER_S``), and when ingest announces a new session epoch (its session was
new, so what went before may have found nobody subscribed: a broker that lost ingest's
session in a crash). Doubles on the wire are harmless: ingest stores each event once
and confirms it again. When the broker refuses the receipts subscription (an ACL without
it, an old deployment) the publisher falls back to deleting on PUBACK and says so in its
status (``no_receipts``).

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
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.spool import SPOOL_FULL, Spool
from linli import __version__
from linli.contract import utc_now
from linli.errors import ServiceError
from linli.mqtt import MqttSession
from linli.receipts import decode_epoch, decode_receipt
from linli.topics import INGEST_SESSION_TOPIC

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
REPUBLISH_AFTER_S = 60.0
"""A message still unconfirmed when ingest has confirmed everything published up to this
long after it is sent again (its receipt, or the message, was lost)."""
MAX_PENDING_RECEIPTS = 200_000
"""Digests received but not yet deleted (the spool failing) kept at most; beyond, the
oldest are forgotten and their messages go again after the next reconnect."""
SPOOL_LOG_EVERY_S = 30.0
NO_RECEIPTS = "no_receipts"


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


@dataclass(frozen=True, slots=True)
class _Stored:
    digests: list[bytes]


@dataclass(frozen=True, slots=True)
class _Subscribed:
    mid: int
    refused: str | None


@dataclass(frozen=True, slots=True)
class _Epoch:
    epoch: str
    live: bool
    """Published while we were subscribed (not the retained copy a SUBSCRIBE brings)."""


_Note = _Connected | _Disconnected | _Acked | _Stored | _Subscribed | _Epoch


class Publisher:
    """Moves messages from the spool to the broker; run its loop in one thread."""

    def __init__(self, spool: Spool, session: MqttSession, *, status_topic: str,
                 max_inflight: int, status_interval_s: float,
                 health: Callable[[], dict[str, Any]] = dict,
                 device_statuses: Callable[[], dict[str, dict[str, Any]]] = dict,
                 receipts_topic: str | None = None) -> None:
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
        self._acked: list[int] = []  # acknowledged seqs to delete (only without receipts)
        self._acked_since = 0.0
        self._receipts_topic = receipts_topic
        self._receipts = receipts_topic is not None  # False: delete on PUBACK
        self._receipts_mid: int | None = None
        self._epoch_mid: int | None = None
        self._epoch: str | None = None  # ingest's session epoch last seen
        self.epochs = 0  # epoch changes that made us send everything unconfirmed again
        self._stored: list[bytes] = []  # digests from receipts, not deleted yet
        self._stored_since = 0.0
        self.confirmed = 0  # messages deleted because ingest stored them
        self._confirmed_upto = 0  # highest seq a receipt named
        self._marks: list[tuple[float, int]] = []  # (when, _confirmed_upto then)
        self._resent_upto = 0
        self.resent = 0  # messages sent again for lack of a receipt
        self._spool_logged_at = 0.0
        self._last_seq = 0  # highest seq handed to paho
        self._refused: list[tuple[float, int]] = []  # (when to retry, seq)
        self.unrouted = 0  # PUBACKs that said nobody subscribed; those messages were kept
        self._unrouted_logged_at = 0.0
        self._connected = False
        self._started = time.monotonic()
        self._reported_problem: str | None = None
        self.published = 0
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

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
            # each step on its own: a spool that cannot delete (disk full) must not stop
            # the publishing of what is spooled, which is what makes room again
            for step in (self._handle_notes, self._delete_acked, self._delete_stored,
                         self._retry_refused, self._republish_unconfirmed, self._fill):
                try:
                    step()
                except Exception as exc:
                    self._round_failed(step.__name__, exc)
                    stop.wait(0.5)
            if self._spool.problem != self._reported_problem:
                self._reported_problem = self._spool.problem
                next_status = 0.0  # the control room hears of it (or its end) now
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + self._status_interval
                if self._connected:
                    try:
                        self._publish_status("online")
                    except Exception as exc:
                        self._round_failed("status", exc)

    def _round_failed(self, step: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._spool_logged_at >= SPOOL_LOG_EVERY_S:
            self._spool_logged_at = now
            log.error("publisher: %s failed (%s); going on", step.lstrip("_"), exc,
                      exc_info=not isinstance(exc, sqlite3.Error | ServiceError))

    def shutdown(self, drain_timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Give in-flight messages time to be acknowledged (and stored), say offline and
        disconnect; the offline status goes out even when the spool is failing.

        What ingest has not confirmed stays in the spool for the next start.
        """
        deadline = time.monotonic() + drain_timeout_s
        try:
            try:
                self._handle_notes()
                while self._inflight and self._connected and time.monotonic() < deadline:
                    self._wake.wait(0.05)
                    self._wake.clear()
                    self._handle_notes()
                self._delete_acked(force=True)
                self._delete_stored(force=True)
            except Exception as exc:
                log.error("publisher: cleaning up at stop failed (%s); "
                          "those messages go again at the next start", exc)
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

    def problems(self) -> list[str]:
        """What keeps the agent from doing its job fully: ``spool_full`` (sources wait),
        ``spool_error``, ``no_receipts`` (deleting on PUBACK: not safe from a broker
        crash)."""
        found = [self._spool.problem] if self._spool.problem else []
        if not self._receipts:
            found.append(NO_RECEIPTS)
        return found

    def status(self, state: str) -> dict[str, Any]:
        """The status document (format 4): state, version, uptime and health figures.

        While the spool is full, an online agent's state is ``spool_full``."""
        problems = self.problems()
        if state == "online" and SPOOL_FULL in problems:
            state = SPOOL_FULL
        try:
            rejected, last_reject = self._spool.rejects()
            depth: int | None = self._spool.depth()
        except Exception as exc:
            log.warning("spool figures unavailable for the status: %s", exc)
            rejected, last_reject, depth = 0, None, None
        return {
            "state": state,
            "problems": problems,
            "kind": "agent",
            "version": __version__,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "at": utc_now().isoformat(),
            "spooled": depth,
            "in_flight": len(self._inflight),
            "published": self.published,
            "confirmed": self.confirmed,
            "resent": self.resent,
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

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reasons: list[ReasonCode], properties: Any) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        self._notes.put(_Subscribed(mid, ", ".join(failed) if failed else None))
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        if message.topic == INGEST_SESSION_TOPIC:
            try:
                self._notes.put(_Epoch(decode_epoch(bytes(message.payload)), not message.retain))
            except ValueError as exc:
                log.warning("ignoring a malformed ingest epoch on %s: %s", message.topic, exc)
            self._wake.set()
            return
        try:
            self._notes.put(_Stored(decode_receipt(bytes(message.payload))))
        except ValueError as exc:
            log.warning("ignoring a malformed receipt on %s: %s", message.topic, exc)

    # the publisher's own thread

    def _handle_notes(self) -> None:
        while True:
            try:
                note = self._notes.get_nowait()
            except queue.Empty:
                break
            if isinstance(note, _Acked):
                self._on_acked(note)
            elif isinstance(note, _Stored):
                if not self._stored:
                    self._stored_since = time.monotonic()
                self._stored += note.digests
                if len(self._stored) > MAX_PENDING_RECEIPTS:
                    del self._stored[:len(self._stored) - MAX_PENDING_RECEIPTS]
            elif isinstance(note, _Subscribed):
                self._subscribed(note)
            elif isinstance(note, _Connected):
                self._connected_with(note)
            elif isinstance(note, _Epoch):
                self._ingest_epoch(note)
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
            self._acked = []

    def _delete_stored(self, *, force: bool = False) -> None:
        if not self._stored:
            return
        due = (force or len(self._stored) >= DELETE_BATCH
               or time.monotonic() - self._stored_since >= DELETE_DELAY_S)
        if due:
            removed = self._spool.confirm(self._stored)
            self._stored = []
            self.confirmed += len(removed)
            if removed:
                self._confirmed_upto = max(self._confirmed_upto, max(removed))

    def _republish_unconfirmed(self) -> None:
        """Send again what is still spooled below the highest seq ingest confirmed
        ``REPUBLISH_AFTER_S`` ago: a lost message or receipt (ingest confirms in order of
        arrival, give or take a batch per replica)."""
        now = time.monotonic()
        if not self._marks or self._marks[-1][1] != self._confirmed_upto:
            self._marks.append((now, self._confirmed_upto))
        horizon = self._resent_upto
        while self._marks and now - self._marks[0][0] >= REPUBLISH_AFTER_S:
            horizon = max(horizon, self._marks.pop(0)[1])
        horizon = min(horizon, self._last_seq)
        if horizon <= self._resent_upto:
            return
        busy = set(self._inflight.values())
        for message in self._spool.pending(self._resent_upto, FILL_BATCH):
            if message.seq > horizon:
                self._resent_upto = horizon
                return
            if message.seq in busy:
                continue
            if not self._publish(message.seq, message.topic, message.payload):
                return
            self._resent_upto = message.seq
            self.resent += 1
        else:
            self._resent_upto = horizon

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
            self.published += 1
            if not self._receipts:
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
        if self._receipts_topic is not None:
            _, self._receipts_mid = self._client.subscribe(self._receipts_topic,
                                                           options=SubscribeOptions(qos=1))
            _, self._epoch_mid = self._client.subscribe(INGEST_SESSION_TOPIC,
                                                        options=SubscribeOptions(qos=1))
            # the broker may have crashed with what it acknowledged: everything still
            # spooled goes again, from the oldest (ingest skips what it has)
            self._send_all_again()
        log.info("connected to %s (%d spooled, %d in flight)", self._session.broker,
                 self._spool.depth(), len(self._inflight))
        self._publish_status("online")

    def _send_all_again(self) -> None:
        """Offer everything spooled again from the oldest; what is in flight is not
        doubled (``_fill`` skips it)."""
        self._last_seq = 0
        self._resent_upto = 0
        self._marks.clear()

    def _ingest_epoch(self, note: _Epoch) -> None:
        """Ingest started a session the broker had not kept: what we sent before it
        subscribed may have reached nobody, so everything unconfirmed goes again. The
        retained epoch a start brings is only noted (a connect re-sends everything
        anyway); one published while we are subscribed, or differing from the last one
        seen, is a new session."""
        previous, self._epoch = self._epoch, note.epoch
        if previous == note.epoch or (previous is None and not note.live):
            return
        self.epochs += 1
        log.info("ingest has a new session (epoch %s): sending the %d unconfirmed events "
                 "again", note.epoch, self._spool.depth())
        self._send_all_again()

    def _subscribed(self, note: _Subscribed) -> None:
        if note.mid == self._epoch_mid:
            if note.refused is not None:
                log.warning("the broker refused ingest's session epochs (%s: %s): events a "
                            "broker crash lost while ingest was away wait for the %.0f s "
                            "re-send; grant the agent read access to it", INGEST_SESSION_TOPIC,
                            note.refused, REPUBLISH_AFTER_S)
            return
        if note.mid != self._receipts_mid:
            return
        if note.refused is None:
            if not self._receipts:
                log.info("receiving ingest's storage receipts again")
            self._receipts = True
            return
        if self._receipts:
            log.error("the broker refused the storage receipts (%s: %s): deleting events on "
                      "the broker's acknowledgement instead, which a broker crash can lose; "
                      "grant the agent read access to it", self._receipts_topic, note.refused)
        self._receipts = False

    def _fill(self) -> None:
        room = self._limit - len(self._inflight)
        if room <= 0:
            return
        busy = set(self._inflight.values())
        for message in self._spool.pending(self._last_seq, min(room, FILL_BATCH)):
            # after a reconnect paho sends what it had in flight itself
            if message.seq not in busy and not self._publish(message.seq, message.topic,
                                                             message.payload):
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
