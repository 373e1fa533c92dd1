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

Receipts alone leave one hole: when the broker loses ingest's session (a crash before its
autosave while ingest is away), the agents' re-sends at their reconnect are dropped until
ingest has subscribed again, and nothing tells an agent when that is. So whenever ingest
connects *without* a session the broker kept, it publishes, retained, on
``linli/v1/_ingest/session`` a new epoch once its subscriptions are granted; an agent that
sees the epoch change sends everything unconfirmed again (the first epoch it sees only
tells it where things stand: it re-sends at every connect anyway).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable

from linli.contract import utc_now

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


def new_epoch() -> bytes:
    """The payload ingest publishes on a fresh session: a new random epoch and the time."""
    return json.dumps({"epoch": uuid.uuid4().hex, "at": utc_now().isoformat()}).encode()


def decode_epoch(payload: bytes) -> str:
    """The epoch an ingest session message names; ValueError when it names none."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    epoch = body.get("epoch") if isinstance(body, dict) else None
    if not isinstance(epoch, str) or not epoch:
        raise ValueError("no epoch")
    return epoch
