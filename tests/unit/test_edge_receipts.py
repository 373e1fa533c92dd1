"""Storage receipts: the codec, what the agent does with a bad one, and the publisher's
rule for sending again what ingest never confirmed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge import publisher as publisher_module
from edge.publisher import REPUBLISH_AFTER_S, Publisher
from edge.spool import Spool
from linli.mqtt import new_session, parse_broker_url
from linli.receipts import (
    DIGEST_BYTES,
    decode_epoch,
    decode_receipt,
    encode_receipt,
    new_epoch,
    payload_digest,
)
from linli.topics import INGEST_SESSION_TOPIC

TOPIC = "linli/v1/c/b/d/events"
RECEIPTS = "linli/v1/c/b/+/stored"


def test_a_receipt_round_trips_its_digests_in_order() -> None:
    digests = [payload_digest(f"event {i}".encode()) for i in range(300)]
    assert all(len(d) == DIGEST_BYTES for d in digests)
    assert len(set(digests)) == 300
    assert decode_receipt(encode_receipt(digests)) == digests
    assert decode_receipt(encode_receipt([])) == []


def test_the_digest_names_the_payload_bytes() -> None:
    assert payload_digest(b'{"a": 1}') == payload_digest(b'{"a": 1}')
    assert payload_digest(b'{"a": 1}') != payload_digest(b'{"a":1}')


@pytest.mark.parametrize("length", [1, DIGEST_BYTES - 1, DIGEST_BYTES + 3, 10 * DIGEST_BYTES + 1])
def test_a_payload_that_is_not_whole_digests_is_refused_clearly(length: int) -> None:
    with pytest.raises(ValueError, match=f"a receipt of {length} bytes is not a list of "
                                         f"{DIGEST_BYTES}-byte digests"):
        decode_receipt(b"x" * length)


def test_each_ingest_session_gets_a_new_epoch() -> None:
    first, second = decode_epoch(new_epoch()), decode_epoch(new_epoch())
    assert first and second and first != second


@pytest.mark.parametrize("payload", [b"", b"\xff", b"[]", b'{"epoch": ""}', b'{"epoch": 3}',
                                     b'{"at": "2026-01-01T00:00:00+00:00"}'])
def test_a_payload_without_an_epoch_is_refused(payload: bytes) -> None:
    with pytest.raises(ValueError):
        decode_epoch(payload)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        import time
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(publisher_module, "time", fake)
    return fake


@pytest.fixture
def spool(tmp_path: Path) -> Any:
    opened = Spool(tmp_path / "spool.db")
    yield opened
    opened.close()


@pytest.fixture
def publisher(spool: Spool) -> Publisher:
    # a real paho client that never connects: it queues what it is given, as while the
    # broker is away, and the publisher's logic runs on its own thread's steps below
    session = new_session(parse_broker_url("mqtt://127.0.0.1:1"), "test-agent")
    return Publisher(spool, session, status_topic="linli/v1/c/b/agent/status",
                     max_inflight=100, status_interval_s=30, receipts_topic=RECEIPTS)


def spool_messages(spool: Spool, count: int, start: int = 0) -> list[bytes]:
    payloads = [f'{{"n": {i}}}'.encode() for i in range(start, start + count)]
    spool.append_events("src", [(TOPIC, p) for p in payloads])
    return payloads


def ack_all(publisher: Publisher) -> None:
    success = ReasonCode(PacketTypes.PUBACK, "Success")
    for mid in list(publisher._inflight):
        publisher._on_publish(publisher._client, None, mid, success, None)
    publisher._handle_notes()


def receive(publisher: Publisher, payload: bytes) -> None:
    message = mqtt.MQTTMessage(topic=b"linli/v1/c/b/d/stored")
    message.payload = payload
    publisher._on_message(publisher._client, None, message)
    publisher._handle_notes()
    publisher._delete_stored(force=True)


def in_flight_seqs(publisher: Publisher) -> list[int]:
    return sorted(publisher._inflight.values())


def test_a_puback_deletes_nothing_and_a_receipt_deletes_what_it_names(
        publisher: Publisher, spool: Spool, clock: Clock) -> None:
    payloads = spool_messages(spool, 4)
    publisher._fill()
    ack_all(publisher)
    publisher._delete_acked(force=True)
    assert spool.depth() == 4 and publisher.published == 4
    receive(publisher, encode_receipt(payload_digest(p) for p in payloads[1:3]))
    assert [m.payload for m in spool.pending(0, 10)] == [payloads[0], payloads[3]]
    assert publisher.confirmed == 2


def test_unconfirmed_messages_go_again_once_later_ones_were_confirmed_long_enough(
        publisher: Publisher, spool: Spool, clock: Clock) -> None:
    payloads = spool_messages(spool, 5)
    publisher._fill()
    ack_all(publisher)
    # ingest confirms 3, 4 and 5; the receipt (or the events) of 1 and 2 were lost
    receive(publisher, encode_receipt(payload_digest(p) for p in payloads[2:]))
    publisher._republish_unconfirmed()
    assert in_flight_seqs(publisher) == [] and publisher.resent == 0
    later = spool_messages(spool, 2, start=5)  # spooled and sent after the confirmation
    publisher._fill()
    ack_all(publisher)
    clock.now += REPUBLISH_AFTER_S - 1
    publisher._republish_unconfirmed()
    assert publisher.resent == 0, "too early: the receipt may still come"
    clock.now += 1
    publisher._republish_unconfirmed()
    # 1 and 2 again; 6 and 7 are not older than the confirmation, so they wait
    assert in_flight_seqs(publisher) == [1, 2] and publisher.resent == 2
    publisher._republish_unconfirmed()
    assert publisher.resent == 2, "sent again once, not on every round"
    ack_all(publisher)
    receive(publisher, encode_receipt(payload_digest(p) for p in payloads[:2] + later))
    assert spool.depth() == 0


def test_messages_still_in_flight_are_not_sent_twice(
        publisher: Publisher, spool: Spool, clock: Clock) -> None:
    payloads = spool_messages(spool, 3)
    publisher._fill()  # 1, 2, 3 handed to paho, never acknowledged
    receive(publisher, encode_receipt([payload_digest(payloads[2])]))
    clock.now += REPUBLISH_AFTER_S
    publisher._republish_unconfirmed()
    clock.now += REPUBLISH_AFTER_S
    publisher._republish_unconfirmed()
    # paho sends 1 and 2 itself once connected; handing them over again would double them
    assert publisher.resent == 0 and in_flight_seqs(publisher) == [1, 2, 3]


def test_a_malformed_receipt_is_logged_and_ignored(
        publisher: Publisher, spool: Spool, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    payloads = spool_messages(spool, 2)
    publisher._fill()
    ack_all(publisher)
    with caplog.at_level(logging.WARNING, logger="edge.publisher"):
        receive(publisher, payload_digest(payloads[0]) + b"tail")  # not whole digests
        receive(publisher, b"")  # names nothing
    assert "ignoring a malformed receipt on linli/v1/c/b/d/stored" in caplog.text
    assert spool.depth() == 2 and publisher.confirmed == 0
    receive(publisher, payload_digest(payloads[0]))  # the next good one still counts
    assert spool.depth() == 1 and publisher.confirmed == 1


def test_a_receipt_for_another_agents_messages_deletes_nothing(
        publisher: Publisher, spool: Spool, clock: Clock) -> None:
    spool_messages(spool, 2)
    receive(publisher, encode_receipt([payload_digest(b"someone else's event")]))
    assert spool.depth() == 2 and publisher.confirmed == 0


def test_without_receipts_a_puback_deletes_and_the_status_says_so(
        spool: Spool, clock: Clock) -> None:
    # LINLI_EDGE__RECEIPTS=false: the agent gives no receipts topic
    session = new_session(parse_broker_url("mqtt://127.0.0.1:1"), "test-agent")
    publisher = Publisher(spool, session, status_topic="linli/v1/c/b/agent/status",
                          max_inflight=100, status_interval_s=30)
    spool_messages(spool, 3)
    publisher._fill()
    ack_all(publisher)
    publisher._delete_acked(force=True)
    assert spool.depth() == 0
    status = publisher.status("online")
    assert status["problems"] == ["no_receipts"] and status["published"] == 3


def announce(publisher: Publisher, payload: bytes, *, retained: bool) -> None:
    message = mqtt.MQTTMessage(topic=INGEST_SESSION_TOPIC.encode())
    message.payload = payload
    message.retain = retained
    publisher._on_message(publisher._client, None, message)
    publisher._handle_notes()


def test_a_new_ingest_epoch_sends_everything_unconfirmed_again_but_not_what_is_in_flight(
        publisher: Publisher, spool: Spool, clock: Clock) -> None:
    payloads = spool_messages(spool, 5)
    announce(publisher, b'{"epoch": "a"}', retained=True)  # found at start: noted only
    publisher._fill()
    ack_all(publisher)
    receive(publisher, encode_receipt([payload_digest(payloads[0])]))
    spool_messages(spool, 1, start=5)
    publisher._fill()  # 6 in flight, never acknowledged
    announce(publisher, b'{"epoch": "a"}', retained=True)  # the same again (a reconnect)
    publisher._fill()
    assert in_flight_seqs(publisher) == [6] and publisher.epochs == 0
    announce(publisher, b'{"epoch": "b"}', retained=False)
    publisher._fill()
    # 2 to 5 were acknowledged by the broker, never stored: again; 1 is stored, 6 in flight
    assert in_flight_seqs(publisher) == [2, 3, 4, 5, 6] and publisher.epochs == 1


def test_an_epoch_published_while_connected_is_a_new_session_even_if_the_first_seen(
        publisher: Publisher, spool: Spool, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    spool_messages(spool, 2)
    publisher._fill()
    ack_all(publisher)
    with caplog.at_level(logging.WARNING, logger="edge.publisher"):
        announce(publisher, b"not json", retained=False)
    assert "ignoring a malformed ingest epoch" in caplog.text and publisher.epochs == 0
    announce(publisher, b'{"epoch": "a"}', retained=False)  # the broker had lost the retained
    publisher._fill()
    assert in_flight_seqs(publisher) == [1, 2] and publisher.epochs == 1
