"""MQTT topics of contract version 1: built and parsed here, nowhere else.

``linli/v1/{community}/{building}/{device}/events``  QoS 1, not retained, one event each
``linli/v1/{community}/{building}/{device}/status``  retained; last-will ``offline``
``linli/v1/{community}/{building}/{device}/stored``  QoS 1, not retained: ingest's receipts for
                                                    that device's events, once committed
                                                    (``linli.receipts``)
``linli/v1/_ingest/session``                        retained, QoS 1: the epoch of ingest's
                                                    newest fresh session; agents re-send
                                                    what is unconfirmed when it changes
                                                    (``linli.receipts``)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from linli.errors import ContractError

PREFIX = "linli/v1"
IDENTIFIER = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
"""Lowercase letters, digits and inner hyphens, 1–64 characters."""

SHARE_GROUP = "ingest"
"""Ingest's shared-subscription group unless ``LINLI_INGEST__SHARE_GROUP`` names another."""
EVENTS_SHARED_SUBSCRIPTION = f"$share/{SHARE_GROUP}/{PREFIX}/+/+/+/events"


def events_shared_subscription(group: str = SHARE_GROUP) -> str:
    """Ingest's subscription to every building's events, in shared group ``group``."""
    return f"$share/{group}/{PREFIX}/+/+/+/events"


STATUS_SUBSCRIPTION = f"{PREFIX}/+/+/+/status"
INGEST_SESSION_TOPIC = f"{PREFIX}/_ingest/session"
"""Not a community: identifiers never contain ``_``, and it has two levels, not four."""

Channel = Literal["events", "status", "stored"]


def check_identifier(value: str, what: str = "identifier") -> str:
    """Return ``value`` if it may appear in a topic, else raise ContractError."""
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise ContractError(f"{what} {value!r} must be lowercase [a-z0-9-], 1-64 characters")
    return value


@dataclass(frozen=True, slots=True)
class TopicAddress:
    """Where a message comes from, as its topic says."""

    community: str
    building: str
    device: str
    channel: Channel

    @property
    def topic(self) -> str:
        return f"{PREFIX}/{self.community}/{self.building}/{self.device}/{self.channel}"


def events_topic(community: str, building: str, device: str) -> str:
    """The topic a device's events are published on."""
    return _build(community, building, device, "events")


def status_topic(community: str, building: str, device: str) -> str:
    """The retained topic a device's (or agent's) health is published on."""
    return _build(community, building, device, "status")


def stored_topic(community: str, building: str, device: str) -> str:
    """Where ingest confirms that a device's events are stored (``linli.receipts``)."""
    return _build(community, building, device, "stored")


def building_stored_subscription(community: str, building: str) -> str:
    """The receipts of every device of one building: what its agent subscribes to."""
    check_identifier(community, "community")
    check_identifier(building, "building")
    return f"{PREFIX}/{community}/{building}/+/stored"


def _build(community: str, building: str, device: str, channel: Channel) -> str:
    check_identifier(community, "community")
    check_identifier(building, "building")
    check_identifier(device, "device")
    return TopicAddress(community, building, device, channel).topic


@functools.lru_cache(maxsize=8192)
def parse_topic(topic: str) -> TopicAddress:
    """Split a contract topic into its parts; ContractError when it is not one.

    Cached: ingest sees the same few thousand device topics over and over."""
    parts = topic.split("/")
    if len(parts) != 6 or f"{parts[0]}/{parts[1]}" != PREFIX:
        raise ContractError(f"topic {topic!r} is not linli/v1/{{community}}/{{building}}/{{device}}/...")
    community, building, device, channel = parts[2:]
    if channel not in ("events", "status", "stored"):
        raise ContractError(f"topic {topic!r} has unknown channel {channel!r}")
    check_identifier(community, "community")
    check_identifier(building, "building")
    check_identifier(device, "device")
    return TopicAddress(community, building, device, channel)  # type: ignore[arg-type]
