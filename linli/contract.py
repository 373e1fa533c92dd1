"""The event contract, version 1: one pydantic model validated on both sides of MQTT.

The edge builds ``Event`` objects and publishes ``event.to_json()``; ingest calls
``parse_event(topic, payload)``, which also checks that the event belongs to its topic.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import to_json

from linli.errors import ContractError
from linli.topics import IDENTIFIER, TopicAddress, events_topic, parse_topic

MAX_ATTRS_BYTES = 2048
MAX_PAYLOAD_BYTES = 8192


class EventKind(StrEnum):
    """What happened. A closed set: extend it deliberately, with a contract note."""

    PASSAGE = "passage"
    ACCESS_DENIED = "access_denied"
    DOOR_FORCED = "door_forced"
    DOOR_HELD_OPEN = "door_held_open"
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    EXIT_BUTTON = "exit_button"
    # contract note (Dec 2026): terminals raise these two alarms and a safety system must
    # not keep them aside; older consumers dead-letter them (raw payload kept), never lose them
    TAMPER = "tamper"
    """The device's case was opened or it was torn off the wall."""
    DURESS = "duress"
    """Someone opened the door under threat (a duress finger or code)."""
    # contract note (Dec 2026): in-home sensors (water meter, motion, power) are the signal
    # that lets the silence rule judge a resident at home within hours, not days
    ACTIVITY = "activity"
    """A sign of life inside a home (source ``sensor``): ``person_id`` when the home has one
    resident, else ``attrs.household``."""


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Credential(StrEnum):
    FACE = "face"
    CARD = "card"
    FINGERPRINT = "fingerprint"
    PIN = "pin"
    QR = "qr"
    REMOTE = "remote"
    EXIT_BUTTON = "exit_button"


class Source(StrEnum):
    DOOR = "door"
    CAMERA = "camera"
    SENSOR = "sensor"


Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER.pattern)]
PersonId = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class Event(BaseModel):
    """One entry, exit or door event, as it travels from the edge to the database."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(1, alias="schema")
    event_id: uuid.UUID
    occurred_at: AwareDatetime
    community: Identifier
    building: Identifier
    device: Identifier
    kind: EventKind
    direction: Direction | None = None
    person_id: PersonId | None = None
    credential: Credential | None = None
    count: int = Field(1, ge=1, le=1000)
    confidence: float = Field(1.0, ge=0.0, le=1.0)
    source: Source
    attrs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("attrs")
    @classmethod
    def _small_attrs(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            return value
        size = len(to_json(value, fallback=str))
        if size > MAX_ATTRS_BYTES:
            raise ValueError(f"attrs is {size} bytes; at most {MAX_ATTRS_BYTES}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        # one validator, not one per rule: each is a call back into Python for every event
        if self.confidence != 1.0 and self.source is Source.DOOR:
            raise ValueError("access-control records (source door) have confidence 1")
        if self.kind is EventKind.ACTIVITY:
            if self.source is not Source.SENSOR:
                raise ValueError("activity events come from in-home sensors (source sensor)")
            household = self.attrs.get("household")
            if self.person_id is None and not (isinstance(household, str) and household):
                raise ValueError("an activity event names its resident (person_id) or its "
                                 "home (attrs.household)")
        return self

    @property
    def topic(self) -> str:
        """The topic this event must be published on."""
        return events_topic(self.community, self.building, self.device)

    def to_json(self) -> bytes:
        """The wire form: compact JSON, RFC 3339 times, ``schema`` spelled as in the contract."""
        return self.model_dump_json(by_alias=True).encode()


def new_event_id() -> uuid.UUID:
    """A fresh event id, made once at the edge when an event is first seen."""
    return uuid.uuid4()


EVENT_ID_NAMESPACE = uuid.UUID("5d0c8a52-3b0e-4c56-9a4e-6c1f2b7e9d10")
"""Namespace of derived event ids; fixed forever, or replays would get new ids."""


def derived_event_id(community: str, building: str, device: str, record: str) -> uuid.UUID:
    """The event id of a record a device numbers itself (a serial number, a record number).

    The same record seen twice — replayed history, a catch-up overlapping the live stream —
    gets the same id, so ingest stores it once. ``record`` must identify the record on that
    device for good (include a boot or log id where the device's numbering restarts).
    """
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{community}/{building}/{device}/{record}")


def parse_event(topic: str, payload: bytes) -> Event:
    """Validate a received message against the contract; ContractError says why not."""
    address: TopicAddress = parse_topic(topic)
    if address.channel != "events":
        raise ContractError(f"topic {topic!r} is not an events topic")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError(f"payload is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES}")
    try:
        event = Event.model_validate_json(payload)
    except ValidationError as exc:
        raise ContractError(describe_validation_error(exc)) from exc
    if (event.community, event.building, event.device) != (
        address.community,
        address.building,
        address.device,
    ):
        raise ContractError(
            f"event is for {event.community}/{event.building}/{event.device} "
            f"but came on {topic!r}"
        )
    return event


def describe_validation_error(exc: ValidationError) -> str:
    """A short, operator-readable reason: ``field: message`` for each problem."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)
