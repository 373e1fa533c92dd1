"""The ingest service: the MQTT consumer feeding a writer loop, until told to stop.

The writer takes batches from the consumer's queue, stores each in one transaction and
only then acknowledges its messages and publishes storage receipts for them, by which the
edge agents delete them from their spools (``linli.receipts``). A batch that cannot be
stored because the database is unavailable is retried with backoff and never dropped; while
it waits, the bounded queue fills and the broker stops sending (the session's receive
maximum), so memory stays bounded. On stop, intake pauses, what is queued is stored and
acknowledged, then the session disconnects; anything received later stays with the broker for the next start.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg

from ingest.batch import PreparedBatch, prepare_batch
from ingest.consumer import Consumer, MessageQueue, ReceivedMessage
from ingest.stats import IngestStats
from ingest.writer import DATA_ERRORS, BatchWriter, WriteResult
from linli.errors import ServiceError
from linli.logs import redact
from linli.mqtt import parse_broker_url
from linli.settings import IngestSettings, Settings

log = logging.getLogger(__name__)

__all__ = ["SUMMARY_EVERY_S", "WriterLoop", "run_ingest"]

SUMMARY_EVERY_S = 60.0
RETIRE_IDLE_S = 3.0
"""While retiring, a phase ends after this long without a message."""
BACKOFF_INITIAL_S = 0.2
BACKOFF_MAX_S = 10.0


def run_ingest(
    settings: Settings,
    stop: threading.Event,
    ready: threading.Event | None = None,
    *,
    stats: IngestStats | None = None,
    summary_every_s: float = SUMMARY_EVERY_S,
    fast_path: bool = True,
    retire: bool = False,
    retire_idle_s: float = RETIRE_IDLE_S,
) -> None:
    """Consume and store until ``stop`` is set; ``ready`` is set once subscribed.

    Raises ServiceError when the database cannot be reached at start or the broker refuses
    the subscriptions. ``stats``, when given, receives the running figures; ``fast_path``
    False runs on stock paho (see ``ingest.fastpath``).

    ``retire`` winds this replica down for good instead: it stores what the broker kept
    for its session, leaves the shared group, stores what was still on its way (each phase
    ends after ``retire_idle_s`` without a message), and ends the session, so the broker
    deals every later event to the replicas that remain.
    """
    writer = BatchWriter(settings.require_database_url())
    broker = parse_broker_url(settings.require_mqtt_url())
    writer.connect()
    queue = MessageQueue(maxsize=2 * settings.ingest.receive_maximum)
    consumer = Consumer(broker, settings.ingest, queue, fast_path=fast_path)
    loop = WriterLoop(settings.ingest, queue, consumer, writer, stats or IngestStats(),
                      summary_every_s=summary_every_s)
    consumer.start()
    try:
        _wait_subscribed(consumer, stop)
        if ready is not None and not stop.is_set():
            ready.set()
        if retire:
            _retire(consumer, loop, stop, retire_idle_s)
        else:
            loop.run(stop)
        consumer.pause_intake()
        loop.flush(stop)
    finally:
        consumer.stop(end_session=retire and not stop.is_set())
        writer.close()
        loop.log_summary(force=True)
        log.info("ingest stopped")


def _retire(consumer: Consumer, loop: WriterLoop, stop: threading.Event,
            idle_s: float) -> None:
    log.info("retiring: storing what the broker kept for this replica")
    loop.run(stop, idle_exit_s=idle_s)
    if stop.is_set():
        return
    if not consumer.leave_group():
        raise ServiceError("the broker did not confirm that this replica left the group; "
                           "not ending the session (run --retire again)")
    loop.run(stop, idle_exit_s=idle_s)
    log.info("retired: left the shared group; ending the session (%d messages stored)",
             loop.stats.snapshot().messages)


def _wait_subscribed(consumer: Consumer, stop: threading.Event) -> None:
    while not stop.is_set() and not consumer.subscribed.wait(0.05):
        if consumer.refused is not None:
            raise ServiceError(f"the broker refused ingest's subscriptions: {consumer.refused}")


class WriterLoop:
    """Takes batches from the queue, stores them, acknowledges them, keeps the figures."""

    def __init__(self, settings: IngestSettings, queue: MessageQueue, consumer: Consumer,
                 writer: BatchWriter, stats: IngestStats, *,
                 summary_every_s: float = SUMMARY_EVERY_S) -> None:
        self._batch_size = settings.batch_size
        self._wait_s = settings.batch_wait_ms / 1000
        self._queue = queue
        self._consumer = consumer
        self._writer = writer
        self.stats = stats
        self._summary_every_s = summary_every_s

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> None:
        """Store batches until ``stop`` is set (or nothing arrived for ``idle_exit_s``)."""
        last_message = time.monotonic()
        while not stop.is_set():
            messages = self._queue.take(self._batch_size, self._wait_s)
            if messages:
                self.store(messages, stop)
                last_message = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - last_message >= idle_exit_s:
                return
            self.log_summary()

    def flush(self, stop: threading.Event) -> None:
        """Store what is queued now (intake should be paused first)."""
        while messages := self._queue.take_nowait(self._batch_size):
            if not self.store(messages, stop):
                return

    def store(self, messages: list[ReceivedMessage], stop: threading.Event) -> bool:
        """Store one batch (retrying while the database fails) and acknowledge it.

        False when ``stop`` was set while it could not be stored: nothing is acknowledged
        then, and the broker delivers the messages again.
        """
        prepared = prepare_batch(messages)
        delay = BACKOFF_INITIAL_S
        while True:
            try:
                result = self._write(prepared, messages)
                break
            except Exception as exc:
                self._writer.close()
                self.stats.record_retry()
                expected = isinstance(exc, psycopg.Error | ServiceError)
                if stop.is_set():
                    log.warning("stopping: %d messages not stored (%s); the broker keeps them",
                                len(messages), _first_line(exc), exc_info=not expected)
                    return False
                log.warning("cannot store a batch of %d messages (%s); retrying in %.1fs",
                            len(messages), _first_line(exc), delay, exc_info=not expected)
                stop.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
        self.stats.record(result, self._consumer.ack(messages))
        try:
            self._consumer.confirm(messages)
        except Exception:
            # without its receipt an agent sends the events again later: harmless
            log.exception("cannot publish storage receipts")
        return True

    def _write(self, prepared: PreparedBatch, messages: list[ReceivedMessage]) -> WriteResult:
        try:
            return self._writer.write(prepared)
        except DATA_ERRORS as exc:
            log.warning("the database refused a batch of %d messages (%s); "
                        "storing them one by one", len(messages), _first_line(exc))
            return self._writer.write_isolating(messages)

    def log_summary(self, *, force: bool = False) -> None:
        """Log the one-line summary when it is due."""
        line = self.stats.summary(self._summary_every_s, force=force)
        if line:
            log.info("%s", line)


def _first_line(exc: BaseException) -> str:
    text = redact(str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
