"""Daily routines: who passes which door when, as door-controller records.

Every resident's day is drawn from its own random stream, seeded by (seed, resident, local
date), so a day looks the same whichever window of time is asked for: history written in
one go and the same hours followed in real time give identical records. Outings stay
inside the local day (out after 06:30, home by 22:30), so days never overlap.

Elderly residents living alone always go out in the morning (home by 11:30), so by the
afternoon every one of them has passed their door today — except those who stay in.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hardware.simulator.community import Community, Role, SimPerson

Outing = tuple[dt.datetime, dt.datetime]
"""(out, back) as aware local times."""

STAY_IN_SILENCE = dt.timedelta(hours=32, minutes=1)
"""A resident who stays in has passed their door last at least this long before 'now'."""


@dataclass(frozen=True, slots=True)
class DoorRecord:
    """One line of a door controller's log (format 1), without its sequence number."""

    time: dt.datetime
    device: str
    event: str
    person: str | None = None
    direction: str | None = None
    credential: str | None = None
    reader: int | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    def fields(self) -> dict[str, Any]:
        """The record as the controller writes it: time in the zone it carries, ms precision."""
        values: dict[str, Any] = {"time": self.time.isoformat(timespec="milliseconds"),
                                  "device": self.device, "event": self.event}
        optional = {"person": self.person, "direction": self.direction,
                    "credential": self.credential, "reader": self.reader}
        values.update({k: v for k, v in optional.items() if v is not None})
        values.update(self.extra)
        return values

    def sort_key(self) -> tuple[dt.datetime, str, str, str]:
        return (self.time, self.device, self.event, self.person or "")


class _Day:
    """Random times within one local day."""

    def __init__(self, seed: int, key: str, day: dt.date, zone: dt.tzinfo) -> None:
        self.rng = random.Random(f"{seed}:{key}:{day.isoformat()}")
        self.midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        self.weekend = day.weekday() >= 5

    def at(self, earliest_h: float, latest_h: float) -> dt.datetime:
        ms = round(self.rng.uniform(earliest_h, latest_h) * 3_600_000)
        return self.midnight + dt.timedelta(milliseconds=ms)

    def hours(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(milliseconds=round(self.rng.uniform(low, high) * 3_600_000))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def outing(self, start: tuple[float, float], length: tuple[float, float]) -> Outing:
        out = self.at(*start)
        return out, out + self.hours(*length)

    def before(self, hour: float) -> dt.datetime:
        return self.midnight + dt.timedelta(hours=hour)


def outings(person: SimPerson, day: dt.date, seed: int, zone: dt.tzinfo) -> list[Outing]:
    """The resident's trips through their door on a local day, in order."""
    d = _Day(seed, person.id, day, zone)
    trips: list[Outing] = []
    if person.role is Role.ELDER:
        if person.lives_alone or d.chance(0.8):
            trips.append(d.outing((7.5, 9.5) if d.weekend else (6.5, 9.5), (0.5, 2.0)))
        if d.chance(0.4 if d.weekend else 0.6):
            trips.append(d.outing((14.5, 16.5), (0.5, 2.0)))
    elif person.role is Role.CHILD and not d.weekend:
        trips.append((d.at(6.8, 7.7), d.at(16.0, 17.75)))
    elif person.role is Role.WORKER and not d.weekend:
        trips.append((d.at(7.0, 8.75), d.at(17.5, 20.0)))
        if d.chance(0.15):
            trips.append(d.outing((20.25, 20.75), (0.5, 1.5)))
    elif person.role is Role.HOME and not d.weekend:
        if d.chance(0.9):
            trips.append(d.outing((8.5, 10.5), (0.75, 2.0)))
        if d.chance(0.6):
            trips.append(d.outing((15.5, 16.5), (0.5, 1.5)))
    elif d.chance(0.5 if person.role is Role.CHILD else 0.7):  # weekend leisure
        trips.append(d.outing((9.0, 15.0), (1.0, 5.0)))
        if d.chance(0.3) and trips[-1][1] < d.before(19.0):
            trips.append(d.outing((19.25, 19.75), (1.0, 2.0)))
    return trips


def door_incidents(device: str, day: dt.date, seed: int, zone: dt.tzinfo) -> list[DoorRecord]:
    """Unknown cards refused at the door, and now and then a door held open too long."""
    d = _Day(seed, device, day, zone)
    records = []
    for _ in range(d.rng.choice([0, 0, 1, 1, 2])):
        card = f"{d.rng.getrandbits(32):08X}"
        records.append(DoorRecord(d.at(7.0, 22.0), device, "access_denied",
                                  direction="in", credential="card", reader=1,
                                  extra=(("card_no", card), ("reason", "unknown_card"))))
    if d.chance(0.06):
        records.append(DoorRecord(d.at(7.0, 21.0), device, "door_held_open",
                                  extra=(("duration_s", d.rng.randint(40, 240)),)))
    return records


def passages(person: SimPerson, trips: list[Outing]) -> list[DoorRecord]:
    """Out through reader 2, back in through reader 1, with the resident's credential."""
    records = []
    for out, back in trips:
        records.append(DoorRecord(out, person.device, "passage", person.id, "out",
                                  person.credential, 2))
        records.append(DoorRecord(back, person.device, "passage", person.id, "in",
                                  person.credential, 1))
    return records


def stay_in_until(community: Community, anchor: dt.datetime) -> dict[str, dt.datetime]:
    """For each stay-in resident, their last return home: the latest routine return that
    lies more than 32 hours before ``anchor``. Nothing of theirs follows it."""
    limit = anchor - STAY_IN_SILENCE
    zone = community.zone
    found: dict[str, dt.datetime] = {}
    for resident_id in community.stay_in:
        person = community.person(resident_id)
        day = limit.astimezone(zone).date()
        for back_days in range(14):
            candidates = [back for _, back in outings(
                person, day - dt.timedelta(days=back_days), community.spec.seed, zone)
                if back <= limit]
            if candidates:
                found[resident_id] = max(candidates)
                break
        else:  # a routine with no return in two weeks: they were never seen
            found[resident_id] = limit - dt.timedelta(days=14)
    return found


def day_records(community: Community, day: dt.date,
                stay_until: Mapping[str, dt.datetime]) -> list[DoorRecord]:
    """Every record of a local day, in time order."""
    seed, zone = community.spec.seed, community.zone
    records: list[DoorRecord] = []
    for person in community.people:
        trips = outings(person, day, seed, zone)
        until = stay_until.get(person.id)
        if until is not None:
            trips = [trip for trip in trips if trip[1] <= until]
        records += passages(person, trips)
    for _, device in community.doors:
        records += door_incidents(device, day, seed, zone)
    records.sort(key=DoorRecord.sort_key)
    return records


def records_between(community: Community, start: dt.datetime, end: dt.datetime | None,
                    stay_until: Mapping[str, dt.datetime]) -> Iterator[DoorRecord]:
    """Records with ``start < time <= end`` in time order; ``end=None`` never ends."""
    zone = community.zone
    day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date() if end is not None else None
    while last_day is None or day <= last_day:
        for record in day_records(community, day, stay_until):
            if record.time <= start:
                continue
            if end is not None and record.time > end:
                return
            yield record
        day += dt.timedelta(days=1)
