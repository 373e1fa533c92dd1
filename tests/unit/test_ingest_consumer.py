"""The consumer's parts that need no broker: the batch queue, the figures, paho fast paths.

The fast paths are checked against paho's own code on real encoded MQTT 5 packets (and a
real socket pair): whatever paho would hand to ``on_message``, they must hand over too.
Each of those tests names the paho-mqtt release it ran on; the pin in ``pyproject.toml``
must allow exactly the releases in ``fastpath.TESTED_VERSIONS``, and any other release
runs on stock paho. To test a release other than the installed one:
``pip install 'paho-mqtt==2.1.*' && pytest tests/unit/test_ingest_consumer.py``.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from packaging.requirements import Requirement
from paho.mqtt import __version__ as PAHO_VERSION
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest import fastpath
from ingest.consumer import MessageQueue, ReceivedMessage
from ingest.stats import IngestStats
from ingest.writer import WriteResult


def item(n: int) -> ReceivedMessage:
    return ReceivedMessage("linli/v1/c/b/d/events", b"{}", n, 1, 1)


# --- MessageQueue ------------------------------------------------------------------------

def test_take_returns_full_batches_then_the_rest() -> None:
    queue = MessageQueue(100)
    for n in range(12):
        queue.put(item(n))
    assert [m.mid for m in queue.take(5, wait_s=1)] == [0, 1, 2, 3, 4]
    assert [m.mid for m in queue.take(5, wait_s=1)] == [5, 6, 7, 8, 9]
    # what is there once the wait for a full batch ends (how soon is not timed here)
    assert [m.mid for m in queue.take(5, wait_s=0.05)] == [10, 11]
    assert queue.take(5, wait_s=0.01, idle_s=0.01) == []


def test_a_waiting_taker_wakes_when_the_batch_is_full() -> None:
    queue = MessageQueue(100)
    got: list[list[ReceivedMessage]] = []
    taker = threading.Thread(target=lambda: got.append(queue.take(3, wait_s=30, idle_s=30)))
    taker.start()
    for n in range(3):
        queue.put(item(n))
    taker.join(5)
    assert not taker.is_alive()
    assert [m.mid for m in got[0]] == [0, 1, 2]


def test_put_waits_while_full_and_gives_up_on_stop() -> None:
    queue = MessageQueue(2)
    stop = threading.Event()
    queue.put(item(0))
    queue.put(item(1))
    results: list[bool] = []
    putter = threading.Thread(target=lambda: results.append(queue.put(item(2), stop)))
    putter.start()
    time.sleep(0.05)
    assert putter.is_alive() and len(queue) == 2  # blocked: the broker waits meanwhile
    assert [m.mid for m in queue.take_nowait(1)] == [0]
    putter.join(5)
    assert results == [True] and [m.mid for m in queue.take_nowait(5)] == [1, 2]

    queue.put(item(3))
    queue.put(item(4))
    blocked = threading.Thread(target=lambda: results.append(queue.put(item(5), stop)))
    blocked.start()
    stop.set()
    blocked.join(5)
    assert results == [True, False]
    assert queue.clear() == 2 and len(queue) == 0


# --- IngestStats -------------------------------------------------------------------------

def test_summary_reports_each_period_once() -> None:
    stats = IngestStats()
    assert stats.summary(0) is None  # nothing happened
    stats.record(WriteResult(messages=10, events_written=7, duplicates=2, dead_letters=1), 10)
    stats.record_retry()
    line = stats.summary(0)
    assert line is not None
    assert "7 events written" in line and "2 duplicates" in line and "1 dead letters" in line
    assert "1 retries" in line
    assert stats.summary(0) is None
    assert stats.snapshot().acked == 10 and stats.snapshot().messages == 10
    assert stats.summary(3600, force=True) is not None


# --- paho fast paths ---------------------------------------------------------------------

@pytest.fixture(params=[PAHO_VERSION], ids=lambda v: f"paho-{v}")
def paho_release(request: pytest.FixtureRequest) -> str:
    """The paho-mqtt release the fast paths are tested on here: the installed one."""
    version: str = request.param
    assert fastpath.tested(version), f"paho-mqtt {version} is not in TESTED_VERSIONS"
    return version


def test_the_pin_allows_exactly_the_paho_releases_the_fast_paths_were_tested_with() -> None:
    pyproject = tomllib.loads(
        (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    [paho] = [r for r in map(Requirement, pyproject["project"]["dependencies"])
              if r.name == "paho-mqtt"]
    releases = [f"{major}.{minor}.{patch}" for major in range(1, 4) for minor in range(12)
                for patch in (0, 1, 9)]
    allowed = {".".join(v.split(".")[:2]) for v in releases if paho.specifier.contains(v)}
    assert allowed == set(fastpath.TESTED_VERSIONS)


@pytest.mark.parametrize("version", ["2.3.0", "3.0.0", "2.0.0", "1.6.1"])
def test_an_untested_paho_release_runs_on_stock_paho(
        version: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(fastpath, "PAHO_VERSION", version)
    client = new_client()
    fast: list[tuple[Any, ...]] = []
    with caplog.at_level(logging.WARNING):
        assert not fastpath.install(client, lambda *args: fast.append(args))
    assert f"paho-mqtt {version}" in caplog.text and "using stock paho" in caplog.text
    # nothing replaced: paho's own methods, and messages reach on_message
    assert "_handle_publish" not in vars(client) and "loop_read" not in vars(client)
    assert "_sock_recv" not in vars(client)
    got: list[tuple[Any, ...]] = []
    client.on_message = lambda c, u, m: got.append((m.topic, bytes(m.payload), m.mid))
    client._in_packet["command"], client._in_packet["packet"] = publish_packet(
        "linli/v1/c/b/d/events", b"{}", qos=1, mid=5)
    client._handle_publish()
    assert got == [("linli/v1/c/b/d/events", b"{}", 5)] and fast == []

def publish_packet(topic: str, payload: bytes, *, qos: int, mid: int = 0, dup: bool = False,
                   properties: Properties | None = None) -> tuple[int, bytearray]:
    """(fixed-header byte, rest) of an MQTT 5 PUBLISH, as paho keeps it in ``_in_packet``."""
    encoded = topic.encode()
    body = struct.pack("!H", len(encoded)) + encoded
    if qos:
        body += struct.pack("!H", mid)
    body += properties.pack() if properties else b"\x00"  # type: ignore[no-untyped-call]
    return 0x30 | (qos << 1) | (0x08 if dup else 0), bytearray(body + payload)


def new_client() -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id="unit", protocol=mqtt.MQTTv5,
                       manual_ack=True)


def handled(packet: tuple[int, bytearray], fast: bool) -> list[tuple[Any, ...]]:
    """What the application receives for ``packet``, with or without the fast paths."""
    client = new_client()
    got: list[tuple[Any, ...]] = []
    client.on_message = lambda c, u, m: got.append(
        (m.topic, bytes(m.payload), m.mid, m.qos, bool(m.dup)))
    if fast:
        assert fastpath.install(client, lambda *args: got.append(args))
    client._in_packet["command"], client._in_packet["packet"] = packet
    client._handle_publish()
    return got


def user_properties() -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.UserProperty = ("source", "edge")
    return props


@pytest.mark.parametrize("packet", [
    publish_packet("linli/v1/c/b/d/events", b'{"a": 1}', qos=1, mid=7),
    publish_packet("linli/v1/c/b/d/events", b"", qos=1, mid=65535, dup=True),
    publish_packet("linli/v1/c/b/agent/status", b"online", qos=0),
    publish_packet("linli/v1/社区/b/d/events", "数据".encode(), qos=1, mid=1),
    publish_packet("linli/v1/c/b/d/events", b"x" * 70000, qos=1, mid=300),
    publish_packet("linli/v1/c/b/d/events", b"with props", qos=1, mid=9,
                   properties=user_properties()),
], ids=["qos1", "empty-dup", "qos0", "unicode", "large", "properties"])
def test_fast_publish_hands_over_what_paho_would(packet: tuple[int, bytearray],
                                                  paho_release: str) -> None:
    assert handled(packet, fast=True) == handled(packet, fast=False)
    assert len(handled(packet, fast=True)) == 1


def test_batched_acknowledgements_are_the_same_bytes_as_paho_sends(paho_release: str) -> None:
    mids = [1, 2, 300, 65535]
    stock, fast = new_client(), new_client()
    fastpath.ack_many(stock, mids, fast=False)
    fastpath.ack_many(fast, mids, fast=True)
    stock_bytes = b"".join(bytes(p["packet"]) for p in stock._out_packet)
    fast_bytes = b"".join(bytes(p["packet"]) for p in fast._out_packet)
    assert fast_bytes == stock_bytes
    assert len(fast._out_packet) == 1 and len(stock._out_packet) == len(mids)


def test_burst_reader_handles_every_complete_packet_and_keeps_partial_ones(
        paho_release: str) -> None:
    client = new_client()
    got: list[tuple[Any, ...]] = []
    assert fastpath.install(client, lambda *args: got.append(args))
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours
    try:
        wire = b"".join(_on_wire(publish_packet(f"t/{n}", b"p" * n, qos=1, mid=n + 1))
                        for n in range(200))
        split = len(wire) - 5
        broker.sendall(wire[:split])
        client.loop_read()
        assert [g[2] for g in got] == list(range(1, 200))  # the last one is incomplete
        broker.sendall(wire[split:])
        client.loop_read()
        assert [g[2] for g in got] == list(range(1, 201))
        assert got[-1][:2] == ("t/199", b"p" * 199)

        # A new connection starts clean, whatever the old one left in the read-ahead buffer.
        broker.sendall(_on_wire(publish_packet("old", b"stale", qos=1, mid=1)))
        assert client._sock_recv(1)  # one byte handed out, the rest of the chunk buffered
        fresh_ours, fresh_broker = socket.socketpair()
        fresh_ours.setblocking(False)
        client._sock = fresh_ours
        fresh_broker.sendall(_on_wire(publish_packet("new", b"n", qos=1, mid=2)))
        client.loop_read()
        assert got[-1] == ("new", b"n", 2, 1, False)
        assert all(g[0] != "old" for g in got)
        fresh_ours.close()
        fresh_broker.close()
    finally:
        client._sock = None
        ours.close()
        broker.close()


def _on_wire(packet: tuple[int, bytearray]) -> bytes:
    header, body = packet
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([header]) + bytes(encoded) + bytes(body)


def test_the_share_group_is_a_secret_setting_used_for_the_events_subscription() -> None:
    from pydantic import ValidationError

    from linli.settings import IngestSettings
    from linli.topics import EVENTS_SHARED_SUBSCRIPTION, events_shared_subscription

    assert events_shared_subscription() == EVENTS_SHARED_SUBSCRIPTION  # the contract's default
    settings = IngestSettings(share_group="g-7f3a9c")
    assert "g-7f3a9c" not in repr(settings)
    assert events_shared_subscription(settings.share_group) == \
        "$share/g-7f3a9c/linli/v1/+/+/+/events"
    for bad in ("", "a/b", "a+b", "#", "x" * 65):  # a topic level, nothing more
        with pytest.raises(ValidationError):
            IngestSettings(share_group=bad)
