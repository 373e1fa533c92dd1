"""What the safety rules read and remember: events at a door, and what earlier alerts kept.

Each safety alert is about one device (its subject is ``"{building}/{device}"``) and
records in its details the events it stands for: how many, the first and the last
(``last_event_at``), their ids. That record is the rule's memory:

- events at or before the last event of a *closed* alert on the same subject were
  handled by whoever closed it (or by the system), so they never raise again, even while
  they are still inside the lookback;
- events at or before the last event of the *open* alert are already counted in it, so
  only later ones refresh it;
- events older than the lookback are history and never raise at all.

An event that arrives late and is older than what an alert on its door already recorded
is taken as part of that incident: it neither raises a new alert nor adds to the count.
Events at one device mostly arrive in order (one agent's spool is first in, first out),
so this trades a rare miscount for never paging twice about one incident.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_LISTED = 20
"""Events (or episodes) an alert lists one by one; counts cover all of them."""


def iso(value: dt.datetime | None) -> str | None:
    """An aware time as RFC 3339 text, as details keep it."""
    return value.isoformat() if value is not None else None


def parse_time(value: Any) -> dt.datetime | None:
    """A time from details (RFC 3339 text), or None."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Place:
    """A device in a building, with display names when the directory has them."""

    building: str
    device: str
    building_name: str | None = None
    device_name: str | None = None
    grid: str | None = None

    @property
    def subject(self) -> str:
        """The alert's subject: ``b01/b01-u1-door``."""
        return f"{self.building}/{self.device}"

    def as_details(self) -> dict[str, Any]:
        """The place as alert details keep it (the keys ``texts.describe_where`` reads)."""
        return {"building": self.building, "building_name": self.building_name,
                "device": self.device, "device_name": self.device_name}


@dataclass(frozen=True, slots=True)
class DoorEvent:
    """One stored event at a device, as the safety rules use it."""

    event_id: str
    occurred_at: dt.datetime
    kind: str
    place: Place
    direction: str | None = None
    person_id: str | None = None
    credential: str | None = None
    count: int = 1
    confidence: float = 1.0
    source: str = "door"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DoorEvent:
        """From a row of ``queries.EVENTS_OF_KINDS``."""
        place = Place(building=row["building"], device=row["device"],
                      building_name=row["building_name"], device_name=row["device_name"],
                      grid=row["grid"])
        return cls(event_id=str(row["event_id"]), occurred_at=row["occurred_at"],
                   kind=row["kind"], place=place, direction=row["direction"],
                   person_id=row["person_id"], credential=row["credential"],
                   count=row["count"], confidence=float(row["confidence"]),
                   source=row["source"])

    def summary(self) -> dict[str, Any]:
        """What an alert lists about this event."""
        return {"event_id": self.event_id, "occurred_at": iso(self.occurred_at),
                "kind": self.kind, "direction": self.direction, "person_id": self.person_id,
                "credential": self.credential}


def by_subject(events: Iterable[DoorEvent]) -> dict[str, list[DoorEvent]]:
    """Events grouped by their device's subject, each group in time order."""
    groups: dict[str, list[DoorEvent]] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        groups.setdefault(event.place.subject, []).append(event)
    return groups


@dataclass(frozen=True, slots=True)
class History:
    """What earlier alerts of one rule on one subject recorded."""

    handled_until: dt.datetime | None = None
    """The last event a closed alert covered."""
    open: Mapping[str, Any] | None = None
    """The details of the open (or acknowledged) alert, when there is one."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | None) -> History:
        """From a row of ``queries.SUBJECT_HISTORY`` (None: no alert yet)."""
        if row is None:
            return cls()
        return cls(handled_until=row["handled_until"], open=row["open_details"])

    @property
    def open_last_event_at(self) -> dt.datetime | None:
        return parse_time(self.open.get("last_event_at")) if self.open else None

    def watermark(self, now: dt.datetime, lookback: dt.timedelta) -> dt.datetime:
        """Only events after this can raise or refresh: the lookback, and what alerts
        on the subject already covered."""
        known = [now - lookback, self.handled_until, self.open_last_event_at]
        return max(moment for moment in known if moment is not None)


def new_events(events: Sequence[DoorEvent], *, history: History, now: dt.datetime,
               lookback: dt.timedelta) -> list[DoorEvent]:
    """The events after the subject's watermark and not after ``now``, in time order."""
    after = history.watermark(now, lookback)
    return [e for e in events if after < e.occurred_at <= now]


@dataclass(frozen=True, slots=True)
class Tally:
    """The running record of the events an alert stands for."""

    event_count: int = 0
    first_event_at: dt.datetime | None = None
    last_event_at: dt.datetime | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    credentials: dict[str, int] = field(default_factory=dict)
    person_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_details(cls, details: Mapping[str, Any] | None) -> Tally:
        """The tally an open alert recorded (empty when there is none)."""
        if not details:
            return cls()
        return cls(event_count=int(details.get("event_count") or 0),
                   first_event_at=parse_time(details.get("first_event_at")),
                   last_event_at=parse_time(details.get("last_event_at")),
                   events=list(details.get("events") or []),
                   credentials=dict(details.get("credentials") or {}),
                   person_ids=list(details.get("person_ids") or []))

    def add(self, new: Sequence[DoorEvent]) -> Tally:
        """This tally with ``new`` events added (the latest ``MAX_LISTED`` are listed)."""
        if not new:
            return self
        credentials = Counter(self.credentials)
        credentials.update(e.credential or "unknown" for e in new)
        people = sorted(set(self.person_ids) | {e.person_id for e in new if e.person_id})
        times = [e.occurred_at for e in new]
        first = min([*times, *([self.first_event_at] if self.first_event_at else [])])
        last = max([*times, *([self.last_event_at] if self.last_event_at else [])])
        listed = [*self.events, *(e.summary() for e in new)][-MAX_LISTED:]
        return Tally(event_count=self.event_count + len(new), first_event_at=first,
                     last_event_at=last, events=listed, credentials=dict(credentials),
                     person_ids=people[:MAX_LISTED])

    def as_details(self) -> dict[str, Any]:
        return {"event_count": self.event_count, "first_event_at": iso(self.first_event_at),
                "last_event_at": iso(self.last_event_at), "events": self.events,
                "event_ids": [e["event_id"] for e in self.events],
                "credentials": self.credentials, "person_ids": self.person_ids}
