"""Storage receipts: ingest tells an edge agent which of its messages are committed.

A broker's PUBACK only says the broker has the message, and Mosquitto writes its queue to
disk every ``autosave_interval`` seconds: a broker crash loses what it acknowledged since.
So an agent keeps every message in its spool until ingest has *stored* it. After each
committed batch, ingest publishes (QoS 1, not retained) on
``linli/v1/{community}/{building}/{device}/stored`` one receipt per device whose events
were in the batch; the agent subscribes to its building's receipts and deletes the
messages they name.

A message is named by a digest of its payload (the first 8 bytes of BLAKE2b): the event
JSON stays as it is, no MQTT property is needed (ingest's receive fast path skips them),
and a message ingest could only keep as a dead letter is confirmed like any other. Two
ingest replicas in one shared group each confirm what they stored. A receipt's payload is
the digests, concatenated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

DIGEST_BYTES = 8


def payload_digest(payload: bytes) -> bytes:
    """The name of a message in receipts: BLAKE2b of its payload, 8 bytes."""
    return hashlib.blake2b(payload, digest_size=DIGEST_BYTES).digest()


def encode_receipt(digests: Iterable[bytes]) -> bytes:
    """A receipt's payload."""
    return b"".join(digests)


def decode_receipt(payload: bytes) -> list[bytes]:
    """The digests a receipt names; ValueError when it is not a whole number of them."""
    if len(payload) % DIGEST_BYTES:
        raise ValueError(f"a receipt of {len(payload)} bytes is not a list of "
                         f"{DIGEST_BYTES}-byte digests")
    return [payload[i:i + DIGEST_BYTES] for i in range(0, len(payload), DIGEST_BYTES)]
