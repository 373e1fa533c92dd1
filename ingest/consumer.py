"""The MQTT side of ingest: a persistent MQTT 5 session that only enqueues what it receives.

The consumer subscribes to the shared events subscription and to every device's status
topic, on every connect. Messages are acknowledged manually, and only by the writer, once
their rows are committed: a crash between receiving and committing loses nothing, because
the broker redelivers every unacknowledged message when the session resumes.

Packet ids belong to one connection's view of the session. An id acknowledged after a
reconnect could name a different message than the one we committed (the broker may have
reused it), so every message carries the *generation* of the connection it came on, and
only messages of the current, live connection are acknowledged. Older ones are redelivered
by the broker and stored a second time as duplicates, which the writer skips.

A replica that is retired for good leaves the shared group first (UNSUBSCRIBE), stores
what it was dealt, then ends its session: otherwise the broker would go on dealing it a
share of the events, to be queued for a session that never comes back.

Subscribing again on every connect matters: Mosquitto 2.0 keeps a persistent session's
queued messages across its own restart, but not its *shared* subscriptions, so until
ingest has subscribed again, events published after a broker restart are dropped.

When the broker did not keep the session (the first start, an expired session, a broker
that lost it in a crash), ingest announces a new epoch on ``linli/v1/_ingest/session``
(retained) once its subscriptions are granted: agents then send again what ingest has not
confirmed, which the broker may have dropped while no session subscribed
(``linli.receipts``).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest import fastpath
from linli.mqtt import BrokerAddress, new_session
from linli.receipts import encode_receipt, new_epoch, payload_digest
from linli.settings import IngestSettings
from linli.topics import INGEST_SESSION_TOPIC, STATUS_SUBSCRIPTION, events_shared_subscription

log = logging.getLogger(__name__)

__all__ = ["BARRIER_FILTER", "Consumer", "MessageQueue", "ReceivedMessage"]

_EVENTS_SUFFIX = "/events"
_STORED_SUFFIX = "/stored"

BARRIER_FILTER = "linli/ingest/barrier"
"""Never subscribed to; unsubscribing from it is a round trip to the broker."""

SHARED_EVENTS_SHOWN = events_shared_subscription("…")
"""The events subscription as logs show it: the group's name is a secret."""


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One message as paho handed it over, with what is needed to acknowledge it later."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    """The connection it arrived on; only the current connection may acknowledge it."""
    dup: bool = False
    """The broker says it may have sent this message before (a redelivery)."""


class MessageQueue:
    """A bounded FIFO between paho's thread and the writer, handing out whole batches.

    ``put`` wakes the writer only when a batch is complete (or when it waits for the first
    message), so that filling a batch does not cost a thread switch per message.
    """

    def __init__(self, maxsize: int) -> None:
        self._items: collections.deque[ReceivedMessage] = collections.deque()
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._has_items = threading.Condition(self._lock)
        self._has_room = threading.Condition(self._lock)
        self._wake_at = 1
        self._full_waiters = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def put(self, item: ReceivedMessage, stop: threading.Event | None = None) -> bool:
        """Append ``item``, waiting while the queue is full; False if ``stop`` was set first."""
        with self._lock:
            while len(self._items) >= self._maxsize:
                if stop is not None and stop.is_set():
                    return False
                self._full_waiters += 1
                try:
                    self._has_room.wait(0.5)
                finally:
                    self._full_waiters -= 1
            self._items.append(item)
            if len(self._items) >= self._wake_at:
                self._has_items.notify()
        return True

    def take(self, max_items: int, wait_s: float, idle_s: float = 0.5) -> list[ReceivedMessage]:
        """Up to ``max_items`` messages: waits ``idle_s`` for a first one, then at most
        ``wait_s`` more for the batch to fill. Empty when nothing came."""
        with self._lock:
            if not self._items:
                self._wake_at = 1
                self._has_items.wait(idle_s)
                if not self._items:
                    return []
            deadline = time.monotonic() + wait_s
            self._wake_at = max_items
            while len(self._items) < max_items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._has_items.wait(remaining)
            self._wake_at = 1
            return self._pop(max_items)

    def take_nowait(self, max_items: int) -> list[ReceivedMessage]:
        """Up to ``max_items`` messages that are already queued."""
        with self._lock:
            return self._pop(max_items)

    def clear(self) -> int:
        """Drop everything queued; returns how many messages were dropped."""
        with self._lock:
            dropped = len(self._items)
            self._items.clear()
            if self._full_waiters:
                self._has_room.notify_all()
            return dropped

    def _pop(self, max_items: int) -> list[ReceivedMessage]:
        count = min(max_items, len(self._items))
        popleft = self._items.popleft
        batch = [popleft() for _ in range(count)]
        if batch and self._full_waiters:
            self._has_room.notify_all()
        return batch


class Consumer:
    """The ingest replica's MQTT session: subscribes, enqueues, acknowledges on request."""

    def __init__(self, broker: BrokerAddress, settings: IngestSettings, queue: MessageQueue,
                 *, fast_path: bool = True) -> None:
        self._session = new_session(
            broker,
            settings.client_id,
            clean_start=False,
            session_expiry_s=settings.session_expiry_s,
            receive_maximum=settings.receive_maximum,
            manual_ack=True,
        )
        self._queue = queue
        self._expiry_s = settings.session_expiry_s
        self._events_filter = events_shared_subscription(settings.share_group)
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._intake = threading.Event()
        self._intake.set()
        self._stopping = threading.Event()
        self._leaving = False
        self.subscribed = threading.Event()
        """Set once the broker has granted both subscriptions."""
        self._barriers: dict[int, threading.Event] = {}
        self.refused: str | None = None
        """Why the broker refused the subscriptions, if it did."""
        self._fresh_mid: int | None = None
        """The SUBSCRIBE of a connection without a kept session: its grant announces an
        epoch."""
        self.epochs = 0
        """New epochs announced (fresh sessions)."""
        client = self._session.client
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_message = self._on_message
        self.fast = fast_path and fastpath.install(client, self._deliver)
        """Whether paho's receive and acknowledge fast paths are in use."""

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself with backoff."""
        log.info("connecting to %s as %s", self._session.broker, self._client_id)
        self._session.start()

    def pause_intake(self) -> None:
        """Stop enqueuing: later messages stay unacknowledged and come again next session."""
        self._intake.clear()

    def stop(self, barrier_timeout_s: float = 5.0, *, end_session: bool = False) -> None:
        """Disconnect, once the broker has processed every acknowledgement sent so far;
        ``end_session`` has the broker discard the session (see ``leave_group``)."""
        self._stopping.set()
        self._intake.clear()
        if not self._barrier(barrier_timeout_s):
            log.warning("the broker did not confirm the last acknowledgements; "
                        "it may deliver some stored messages again (they are skipped)")
        self._session.stop(end_session=end_session)

    def leave_group(self, timeout_s: float = 10.0) -> bool:
        """Unsubscribe from the shared events subscription, for good (not again on a
        reconnect); True once the broker confirmed. Messages it dealt us before still come."""
        self._leaving = True
        return self._barrier(timeout_s, self._events_filter)

    def _barrier(self, timeout_s: float, topic_filter: str = BARRIER_FILTER) -> bool:
        """Wait until the broker has read everything sent before now.

        paho closes its socket right after DISCONNECT; when broker data is still unread on
        our side, Linux resets the connection and the broker drops what it had not read
        yet, our last acknowledgements included. The broker handles a connection's packets
        in order, so its answer to an UNSUBSCRIBE sent after the acknowledgements proves
        they arrived. The filter is one we never subscribe to: nothing changes.
        """
        with self._lock:
            if not self._connected:
                return True  # acknowledgements are only sent while connected: none pending
            done = threading.Event()
            result, mid = self._session.client.unsubscribe(topic_filter)
            if result != mqtt.MQTT_ERR_SUCCESS or mid is None:
                return False
            self._barriers[mid] = done
        return done.wait(timeout_s)

    def confirm(self, messages: Iterable[ReceivedMessage]) -> int:
        """Publish storage receipts for committed messages: one per device topic, naming
        its messages by payload digest (``linli.receipts``), QoS 1, from any connection
        (an agent ignores what it no longer holds). Returns how many receipts."""
        by_topic: dict[str, list[bytes]] = {}
        for message in messages:
            if message.topic.endswith(_EVENTS_SUFFIX):
                by_topic.setdefault(message.topic[:-len(_EVENTS_SUFFIX)] + _STORED_SUFFIX,
                                    []).append(payload_digest(message.payload))
        client = self._session.client
        for topic, digests in by_topic.items():
            client.publish(topic, encode_receipt(digests), qos=1)
        return len(by_topic)

    def ack(self, messages: Iterable[ReceivedMessage]) -> int:
        """Acknowledge committed messages of the live connection; returns how many."""
        with self._lock:
            if not self._connected:
                return 0
            generation = self._generation
            mids = [m.mid for m in messages if m.generation == generation and m.qos == 1]
            fastpath.ack_many(self._session.client, mids, self.fast)
        return len(mids)

    @property
    def _client_id(self) -> str:
        client_id: bytes = self._session.client._client_id
        return client_id.decode()

    def _end_generation(self) -> None:
        with self._lock:
            self._connected = False
            self._generation += 1

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        self._end_generation()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
            self._connected = True
        if flags.session_present:
            # Everything still queued is unacknowledged, so the broker sends it again now.
            dropped = self._queue.clear()
            log.info("connected; session resumed (%d queued messages will be redelivered)",
                     dropped)
        else:
            log.info("connected; new session (kept %d s after a disconnect)", self._expiry_s)
        options = SubscribeOptions(qos=1)
        if self._leaving:
            client.subscribe(STATUS_SUBSCRIPTION, options=options)
            return
        _, mid = client.subscribe([(self._events_filter, options),
                                   (STATUS_SUBSCRIPTION, options)])
        with self._lock:
            self._fresh_mid = None if flags.session_present else mid

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        log.warning("cannot connect to %s; retrying", self._session.broker)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        self._end_generation()
        if not self._stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Any,
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            self.refused = ", ".join(failed)
            log.error("broker refused subscriptions %s, %s: %s",
                      SHARED_EVENTS_SHOWN, STATUS_SUBSCRIPTION, self.refused)
            return
        log.info("subscribed to %s and %s", SHARED_EVENTS_SHOWN, STATUS_SUBSCRIPTION)
        self.subscribed.set()
        with self._lock:
            fresh = mid == self._fresh_mid
            if fresh:
                self._fresh_mid = None
        if fresh:
            self._announce_epoch(client)

    def _announce_epoch(self, client: mqtt.Client) -> None:
        """Tell the agents that events sent before now may have found no session of ours
        (the broker had none): they send again what is unconfirmed. Only now, after the
        grant, is a re-send sure to reach the shared subscription."""
        payload = new_epoch()
        client.publish(INGEST_SESSION_TOPIC, payload, qos=1, retain=True)
        self.epochs += 1
        log.info("new session: announced epoch %s on %s", payload.decode(), INGEST_SESSION_TOPIC)

    def _on_unsubscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Any,
    ) -> None:
        with self._lock:
            done = self._barriers.pop(mid, None)
        if done is not None:
            done.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", "replace")
        self._deliver(topic, bytes(message.payload), message.mid, message.qos, bool(message.dup))

    def _deliver(self, topic: str, payload: bytes, mid: int, qos: int, dup: bool) -> None:
        # Runs on paho's network thread: enqueue only; validation happens in the writer.
        try:
            if not self._intake.is_set():
                return  # not acknowledged: the broker delivers it again next session
            item = ReceivedMessage(topic, payload, mid, qos, self._generation, dup)
            self._queue.put(item, self._stopping)
        except Exception:
            log.exception("cannot enqueue message on %r: %r", topic[:200], payload[:200])
