"""What one batch of received messages becomes in the database, decided without I/O.

``prepare_batch`` sorts messages into valid events (unique by event id), device status
reports and dead letters, and derives the presence and device rows the events move.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from ingest.consumer import ReceivedMessage
from linli.contract import MAX_PAYLOAD_BYTES, Event, EventKind, parse_event
from linli.errors import ContractError
from linli.topics import parse_topic

__all__ = [
    "DEFAULT_AGENT_ID",
    "DeadLetter",
    "DeviceSighting",
    "PreparedBatch",
    "PresenceUpdate",
    "SignalUpdate",
    "StatusUpdate",
    "event_row",
    "parse_status",
    "prepare_batch",
]

DEFAULT_AGENT_ID = "agent"
"""Device id of an edge agent's own status topic (the agents' default ``agent_id``)."""

DEVICE_KINDS = frozenset({"door", "camera", "sensor", "agent"})
_STATE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_BARE_STATES = {b"online": "online", b"offline": "offline",
                b'"online"': "online", b'"offline"': "offline"}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that cannot be stored as what it claims to be, kept for an operator."""

    topic: str
    payload: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A device's (or agent's) health report from its retained status topic."""

    community: str
    building: str
    device: str
    kind: str
    state: str
    status: dict[str, Any]


class PresenceUpdate(TypedDict):
    """Where and when a resident was last seen, per this batch (a row of ``presence``)."""

    community: str
    resident: str
    last_seen_at: dt.datetime
    building: str
    device: str
    direction: str | None
    event_id: uuid.UUID


class SignalUpdate(TypedDict):
    """A sign of life for whoever it names or whichever home its device belongs to: the
    latest door use and the latest in-home activity of this batch, per key."""

    community: str
    building: str
    device: str
    person: str | None
    household: str | None
    """From ``attrs.household``; the device's own household is looked up in SQL."""
    door_at: dt.datetime | None
    door_direction: str | None
    activity_at: dt.datetime | None


_DOOR_SIGNALS = {EventKind.PASSAGE: None, EventKind.EXIT_BUTTON: "out",
                 EventKind.DOOR_OPENED: None}
"""Door events that are a sign of life, with the direction they imply (None: as the event
says). An exit button or a door opening names nobody: it counts only on a home's own door."""


URGENT_KINDS = frozenset({EventKind.DURESS, EventKind.DOOR_FORCED})
"""Alarms the rules evaluate at once rather than after the usual debounce. A redelivered
copy is urgent again; the alert it raised is refreshed, not repeated."""


class DeviceSighting(TypedDict):
    """A device that sent events in this batch, and its latest event time."""

    community: str
    building: str
    device: str
    kind: str
    last_event_at: dt.datetime


@dataclass(slots=True)
class PreparedBatch:
    """One batch, sorted: what the writer stores in a single transaction."""

    messages: int = 0
    """Messages the batch was made of."""
    events: list[Event] = field(default_factory=list)
    """Valid events, each event id once, in arrival order."""
    duplicates_in_batch: int = 0
    statuses: list[StatusUpdate] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    redelivered: bool = False
    """Some message says it may have been delivered before: expect duplicates."""

    def presence_updates(self) -> list[PresenceUpdate]:
        """The latest passage of each identified resident, sorted by key."""
        latest: dict[tuple[str, str], Event] = {}
        passage = EventKind.PASSAGE
        for event in self.events:
            if event.person_id is None or event.kind is not passage:
                continue
            key = (event.community, event.person_id)
            seen = latest.get(key)
            if seen is None or seen.occurred_at <= event.occurred_at:
                latest[key] = event
        return [
            PresenceUpdate(community=community, resident=resident,
                           last_seen_at=e.occurred_at, building=e.building, device=e.device,
                           direction=e.direction.value if e.direction else None,
                           event_id=e.event_id)
            for (community, resident), e in sorted(latest.items())
        ]

    def urgent_communities(self) -> list[str]:
        """Communities with an alarm in this batch that must not wait (``URGENT_KINDS``)."""
        return sorted({e.community for e in self.events if e.kind in URGENT_KINDS})

    def signal_updates(self) -> list[SignalUpdate]:
        """Signs of life per (device, person, household), latest first kept, sorted by key."""
        latest: dict[tuple[str, str, str, str, str], SignalUpdate] = {}
        for event in self.events:
            activity = event.kind is EventKind.ACTIVITY
            if not activity and event.kind not in _DOOR_SIGNALS:
                continue
            household = event.attrs.get("household") if activity else None
            household = household if isinstance(household, str) else None
            key = (event.community, event.building, event.device, event.person_id or "",
                   household or "")
            row = latest.get(key)
            if row is None:
                row = latest[key] = SignalUpdate(
                    community=event.community, building=event.building, device=event.device,
                    person=event.person_id, household=household, door_at=None,
                    door_direction=None, activity_at=None)
            at = event.occurred_at
            if activity:
                if row["activity_at"] is None or row["activity_at"] < at:
                    row["activity_at"] = at
            elif row["door_at"] is None or row["door_at"] <= at:
                row["door_at"] = at
                implied = _DOOR_SIGNALS[event.kind]
                row["door_direction"] = implied or (
                    event.direction.value if event.direction else None)
        return [latest[key] for key in sorted(latest)]

    def device_sightings(self) -> list[DeviceSighting]:
        """Every device that sent an event, with its latest event time, sorted by key."""
        latest: dict[tuple[str, str, str], Event] = {}
        for event in self.events:
            key = (event.community, event.building, event.device)
            seen = latest.get(key)
            if seen is None or seen.occurred_at < event.occurred_at:
                latest[key] = event
        return [
            DeviceSighting(community=c, building=b, device=d, kind=e.source.value,
                           last_event_at=e.occurred_at)
            for (c, b, d), e in sorted(latest.items())
        ]


def prepare_batch(messages: Iterable[ReceivedMessage]) -> PreparedBatch:
    """Validate every message; invalid ones become dead letters, never exceptions."""
    batch = PreparedBatch()
    seen: set[uuid.UUID] = set()
    latest_status: dict[tuple[str, str, str], StatusUpdate] = {}
    for message in messages:
        batch.messages += 1
        batch.redelivered = batch.redelivered or message.dup
        try:
            if message.topic.endswith("/status"):
                if not message.payload:
                    continue  # a retained status being cleared: nothing to store
                status = parse_status(message.topic, message.payload)
                # A later report of the same device in this batch supersedes an earlier one.
                key = (status.community, status.building, status.device)
                latest_status.pop(key, None)
                latest_status[key] = status
                continue
            event = parse_event(message.topic, message.payload)
        except ContractError as exc:
            batch.dead_letters.append(DeadLetter(message.topic, message.payload, str(exc)))
            continue
        if event.event_id in seen:
            batch.duplicates_in_batch += 1
            continue
        seen.add(event.event_id)
        batch.events.append(event)
    batch.statuses = [latest_status[key] for key in sorted(latest_status)]
    return batch


def parse_status(topic: str, payload: bytes) -> StatusUpdate:
    """Validate a status message: a JSON object with a ``state``, or bare online/offline."""
    address = parse_topic(topic)
    if address.channel != "status":
        raise ContractError(f"topic {topic!r} is not a status topic")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError(f"payload is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    bare = _BARE_STATES.get(payload.strip())
    body: Any = {"state": bare} if bare else _json_object(payload)
    state = body.get("state")
    if not isinstance(state, str) or not _STATE.match(state):
        raise ContractError(f"status.state must be a short lowercase word, got {state!r}")
    return StatusUpdate(address.community, address.building, address.device,
                        _device_kind(address.device, body.get("kind")), state, body)


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError(f"status is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ContractError("status must be a JSON object or the word online/offline")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _device_kind(device: str, declared: Any) -> str:
    """The kind a status report implies: as declared, else by the agent's default id."""
    if isinstance(declared, str) and declared in DEVICE_KINDS:
        return declared
    return "agent" if device == DEFAULT_AGENT_ID else "door"


def event_row(event: Event) -> tuple[Any, ...]:
    """An event as a row in the column order of ``queries.EVENT_COLUMNS``."""
    return (
        event.event_id,
        event.occurred_at,
        event.community,
        event.building,
        event.device,
        event.kind.value,
        event.direction.value if event.direction else None,
        event.person_id,
        event.credential.value if event.credential else None,
        event.count,
        event.confidence,
        event.source.value,
        event.attrs,
    )
