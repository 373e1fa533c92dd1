"""Fast paths for ingest's one paho client: receive and acknowledge QoS 1 messages in bulk.

Measured on the 2-core reference machine, stock paho-mqtt 2.2 spends ~110 µs of CPU per
received MQTT 5 message (a full ``Properties`` object is built for every PUBLISH, each
packet costs one ``select`` and four ``recv`` calls, each PUBACK one wake-up and one
``send``); with the three fast paths below it spends ~28 µs. They replace private paho
methods *on our client instance only* (other clients in the process are untouched):

- ``_handle_publish``: a PUBLISH without properties, QoS 0 or 1, is decoded in a few slices
  and handed straight to ``deliver``; anything else (properties, QoS 2, a topic that is not
  UTF-8) goes through paho's own code and ``on_message`` as usual.
- ``_sock_recv`` / ``loop_read``: reads the socket in 64 KiB chunks and handles every
  complete packet before returning to ``select``; the buffer never outlives its socket.
- ``ack_many``: one buffer of PUBACK packets queued as a single write.

Why they are kept: ``python -m bench.scaleout`` (README, Performance) drains a broker
backlog into PostgreSQL with 1 and 2 replicas in one shared group. On the 2-core machine
(7 December 2026, otherwise idle) a replica on stock paho spends 56–72 µs of CPU per event
stored, with the fast paths 25 µs, next to 13–14 µs of PostgreSQL's and 3 µs of the
broker's. Two replicas reached 0.24 × a plain COPY on stock paho and 0.33 with the fast
paths: once the second replica fills the two cores, only less CPU per event goes faster.

``install`` uses them only on a paho-mqtt release they were tested with
(``TESTED_VERSIONS``, which ``tests/unit/test_ingest_consumer.py`` checks against the pin in
``pyproject.toml``) and only when the private members are there; otherwise it changes
nothing and returns False, and the consumer runs on stock paho, slower but the same.
"""

from __future__ import annotations

import logging
import struct
import types
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt import __version__ as PAHO_VERSION
from paho.mqtt.enums import MQTTErrorCode

log = logging.getLogger(__name__)

__all__ = ["TESTED_VERSIONS", "Deliver", "ack_many", "install", "supported", "tested"]

Deliver = Callable[[str, bytes, int, int, bool], None]
"""Receives (topic, payload, mid, qos, dup) on paho's network thread."""

READ_CHUNK = 65536
READ_BURST = 2000
"""Packets handled per ``loop_read`` before paho's loop may write and keep alive."""

TESTED_VERSIONS = ("2.1", "2.2")
"""paho-mqtt minor releases the fast paths were tested with; the pin allows exactly these."""

_PUBACK = 0x40
_REQUIRED = ("_handle_publish", "_sock_recv", "_packet_read", "_loop_rc_handle",
             "_packet_queue", "_in_packet", "_sock", "_manual_ack", "_protocol")
_PUBACKS = struct.Struct("!BBH")


def tested(version: str) -> bool:
    """Whether the fast paths were tested with this paho-mqtt release."""
    return ".".join(version.split(".")[:2]) in TESTED_VERSIONS


def supported(client: mqtt.Client) -> bool:
    """Whether this paho is a tested release with the private members the fast paths use."""
    return tested(PAHO_VERSION) and all(hasattr(client, n) for n in _REQUIRED)


def install(client: mqtt.Client, deliver: Deliver) -> bool:
    """Install the fast paths on ``client`` (MQTT 5); False when paho is not as expected."""
    if not supported(client):
        log.warning("paho-mqtt %s: fast paths not tested with it (tested: %s), using stock "
                    "paho (slower)", PAHO_VERSION, ", ".join(TESTED_VERSIONS))
        return False
    if client._protocol != mqtt.MQTTv5:
        log.warning("fast paths are for MQTT 5 only, using stock paho (slower)")
        return False
    buffer = _ReadBuffer(client)
    client._sock_recv = buffer.recv  # type: ignore[method-assign]
    client.loop_read = types.MethodType(_burst_reader(buffer), client)  # type: ignore[method-assign]
    client._handle_publish = types.MethodType(  # type: ignore[method-assign]
        _publish_handler(deliver), client)
    return True


def ack_many(client: mqtt.Client, mids: Sequence[int], fast: bool) -> None:
    """Acknowledge QoS 1 messages; with ``fast``, as one write."""
    if not mids:
        return
    if not fast:
        for mid in mids:
            client.ack(mid, 1)
        return
    blob = b"".join([_PUBACKS.pack(_PUBACK, 2, mid) for mid in mids])
    client._packet_queue(_PUBACK, blob, 0, 0)


class _ReadBuffer:
    """Bytes read ahead from the current socket, handed out as paho asks for them."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client
        self._sock: Any = None
        self._data = b""
        self._pos = 0
        self._stock_recv = client._sock_recv

    def has_data(self) -> bool:
        return self._sock is self._client._sock and self._pos < len(self._data)

    def recv(self, bufsize: int) -> bytes:
        if self._sock is not self._client._sock:
            # a new connection: nothing read from the old one may leak into it
            self._sock, self._data, self._pos = self._client._sock, b"", 0
        if self._pos >= len(self._data):
            chunk = self._stock_recv(READ_CHUNK)  # paho's own error translation
            if not chunk:
                return b""
            self._data, self._pos = chunk, 0
        out = self._data[self._pos:self._pos + bufsize]
        self._pos += len(out)
        return out


def _burst_reader(buffer: _ReadBuffer) -> Callable[..., MQTTErrorCode]:
    def loop_read(self: mqtt.Client, max_packets: int = 1) -> MQTTErrorCode:
        # Returns only with the read-ahead buffer empty, so that select() sees the rest.
        packets = 0
        while self._sock is not None:
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            more = buffer.has_data()
            if rc == mqtt.MQTT_ERR_AGAIN and not more:
                return mqtt.MQTT_ERR_SUCCESS
            packets += 1
            if packets >= READ_BURST and not more:
                return mqtt.MQTT_ERR_SUCCESS
        return mqtt.MQTT_ERR_NO_CONN

    return loop_read


def _publish_handler(deliver: Deliver) -> Callable[[mqtt.Client], MQTTErrorCode]:
    stock = mqtt.Client._handle_publish

    def handle_publish(self: mqtt.Client) -> MQTTErrorCode:
        header: int = self._in_packet["command"]
        packet: bytearray = self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        topic_end = 2 + ((packet[0] << 8) | packet[1]) if len(packet) >= 2 else 0
        pos = topic_end + (2 if qos else 0)
        if qos == 2 or pos >= len(packet) or packet[pos] != 0:
            return stock(self)  # properties or QoS 2: paho's own way
        try:
            topic = packet[2:topic_end].decode("utf-8")
        except UnicodeDecodeError:
            return stock(self)
        mid = (packet[topic_end] << 8) | packet[topic_end + 1] if qos else 0
        deliver(topic, bytes(packet[pos + 1:]), mid, qos, bool(header & 0x08))
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return mqtt.MQTT_ERR_SUCCESS

    return handle_publish
