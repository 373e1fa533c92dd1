"""The synthetic community's directory and the records its doors and sensors would write.

Layout: buildings of ``PER_BUILDING`` flats, one elderly resident living alone in each.
Buildings alternate between two kinds of door:

* ``face``: one face-recognition terminal at the building's entrance (``b01-gate``, shared
  by the building): ``passage`` events with the resident's ``person_id``, ``direction``
  in/out and ``credential: face``; ``FACE_MISS`` of passages are not recorded (tailgating
  behind a neighbour, a face not recognised). Visitors let in remotely are anonymous
  passages (no ``person_id``).
* ``contact``: a contact on each flat's own door (``h-b02-101-door``, household set):
  ``passage`` events with the resident's ``person_id`` and no direction, for every opening
  — outings, visitors coming and going, taking the rubbish out.

In-home sensors, the household's own devices: a water meter in every flat
(``h-…-water``: a few uses after getting up, at meals, toilet visits while awake at home
and at night; events name the household only, ``attrs.household``) and in some flats a
motion sensor (``h-…-motion``: a report every 10–40 minutes while someone is up and about
at home, and at night-time toilet visits; events name the resident). Now and then a
sensor stops reporting for 1–3 days (``OUTAGE``, a flat battery), as real ones do.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from typing import Any

from bench.homes.model import Dataset, Home
from bench.homes.synthetic import (
    Door,
    Interval,
    Life,
    Profile,
    draw_profile,
    hours,
    live,
    subtract,
)
from linli.contract import Credential, Direction, Event, EventKind, Source, derived_event_id

__all__ = ["COMMUNITY", "FACE_MISS", "OUTAGE", "PER_BUILDING", "TIMEZONE", "synthetic_community"]

COMMUNITY = "hexie"
TIMEZONE = "Asia/Shanghai"
PER_BUILDING = 6
FACE_MISS = 0.03
OUTAGE = 0.25
"""Chance that a flat has one sensor outage over 90 days."""
START = dt.date(2026, 3, 2)


def synthetic_community(*, residents: int, days: int, seed: int) -> Dataset:
    """``residents`` people × ``days`` days of life, the same for the same arguments."""
    tz = zoneinfo.ZoneInfo(TIMEZONE)
    start = dt.datetime.combine(START, dt.time(0), tzinfo=tz)
    directory = _directory_head()
    events: list[Event] = []
    homes: list[Home] = []
    for n in range(residents):
        building_no, flat = divmod(n, PER_BUILDING)
        building = f"b{building_no + 1:02d}"
        household = f"h-{building}-{101 + flat}"
        resident = f"r-{n + 1:03d}"
        rng = random.Random(f"{seed}/{resident}")
        door: Door = "face" if building_no % 2 == 0 else "contact"
        profile = draw_profile(rng, door, motion=rng.random() < 0.6)
        life = live(rng, profile, start, days)
        _register(directory, building, household, resident, profile, new_building=flat == 0)
        events += Records(rng, building, household, resident, profile).of(life, days)
        homes.append(Home(resident, household, building, tuple(life.stays)))
    events.sort(key=lambda e: (e.occurred_at, str(e.event_id)))
    notes = [f"synthetic community: {residents} residents × {days} days, seed {seed}"]
    return Dataset("synthetic", False, directory, events, homes, notes)


def _directory_head() -> dict[str, Any]:
    return {"community": {"id": COMMUNITY, "name": "和谐社区 (synthetic)", "timezone": TIMEZONE},
            "grids": [{"id": "g1", "name": "第一网格"}], "buildings": [], "households": [],
            "residents": [], "grid_workers": [{"id": "w-01", "name": "网格员", "grids": ["g1"]}],
            "devices": []}


def _register(directory: dict[str, Any], building: str, household: str, resident: str,
              profile: Profile, *, new_building: bool) -> None:
    devices = directory["devices"]
    if new_building:
        directory["buildings"].append({"id": building, "name": f"{building[1:]}栋", "grid": "g1"})
        if profile.door == "face":
            devices.append({"building": building, "id": f"{building}-gate", "kind": "door",
                            "name": f"{building} entrance face terminal"})
    directory["households"].append({"id": household, "building": building,
                                    "room": household.rsplit("-", 1)[1]})
    directory["residents"].append({"id": resident, "name": f"居民{resident[2:]}",
                                   "household": household, "elderly": True, "lives_alone": True,
                                   "care_level": 1})
    if profile.door == "contact":
        devices.append({"building": building, "id": f"{household}-door", "kind": "door",
                        "name": "flat door contact", "household": household})
    sensors = ["water", "motion"] if profile.motion else ["water"]
    devices += [{"building": building, "id": f"{household}-{s}", "kind": "sensor",
                 "name": f"{s} sensor", "household": household} for s in sensors]


class Records:
    """Turns one resident's life into the records their home's devices write."""

    def __init__(self, rng: random.Random, building: str, household: str, resident: str,
                 profile: Profile) -> None:
        self.rng, self.building, self.household = rng, building, household
        self.resident, self.profile = resident, profile
        self.serial = 0

    def of(self, life: Life, days: int) -> list[Event]:
        events = self._doors(life) + self._water(life)
        if self.profile.motion:
            events += self._motion(life)
        return self._outage(events, days, life.stays[0].start)

    # --- doors --------------------------------------------------------------------

    def _doors(self, life: Life) -> list[Event]:
        moves: list[tuple[dt.datetime, Direction, bool]] = []
        for before, after in zip(life.stays, life.stays[1:], strict=False):
            leaving = before.state == "home"
            moves.append((after.start, Direction.OUT if leaving else Direction.IN, True))
        for arrive, leave in life.visits:
            moves += [(arrive, Direction.IN, False), (leave, Direction.OUT, False)]
        if self.profile.door == "contact":
            for moment in life.errands:
                back = moment + hours(self.rng.uniform(40, 240) / 3600)
                moves += [(moment, Direction.OUT, True), (back, Direction.IN, True)]
        return [e for at, direction, own in moves
                if (e := self._door_event(at, direction, own)) is not None]

    def _door_event(self, at: dt.datetime, direction: Direction, own: bool) -> Event | None:
        if self.profile.door == "contact":
            return self._event(f"{self.household}-door", at, EventKind.PASSAGE, Source.DOOR,
                               person=True)
        if own and self.rng.random() < FACE_MISS:
            return None
        credential = Credential.FACE if own else (Credential.REMOTE if direction is Direction.IN
                                                  else None)
        return self._event(f"{self.building}-gate", at, EventKind.PASSAGE, Source.DOOR,
                           person=own, direction=direction, credential=credential)

    # --- in-home sensors ----------------------------------------------------------

    def _water(self, life: Life) -> list[Event]:
        rng, moments = self.rng, []
        awake = life.awake_at_home()
        for _sleep_start, wake in life.asleep:
            if any(a <= wake < b for a, b in awake) and (wake - _sleep_start) > hours(3):
                moments += [wake + hours(rng.uniform(1, 40) / 60)
                            for _ in range(rng.randint(1, 3))]
        for meal in life.meals:
            moments += [meal + hours(rng.uniform(0, 20) / 60) for _ in range(rng.randint(1, 2))]
        moments += _uniform(rng, 0.35, awake)
        moments += [t + hours(rng.uniform(1, 4) / 60) for t in life.night_toilet]
        home = life.at_home()
        return [self._water_event(m) for m in sorted(moments)
                if any(a <= m < b for a, b in home)]

    def _water_event(self, at: dt.datetime) -> Event:
        return self._event(f"{self.household}-water", at, EventKind.ACTIVITY, Source.SENSOR,
                           person=False, attrs={"household": self.household, "meter": "water"})

    def _motion(self, life: Life) -> list[Event]:
        moments = list(life.night_toilet)
        for a, b in life.awake_at_home():
            t = a + hours(self.rng.uniform(0, 5) / 60)
            while t < b:
                moments.append(t)
                t += hours(self.rng.uniform(10, 40) / 60)
        return [self._event(f"{self.household}-motion", m, EventKind.ACTIVITY, Source.SENSOR,
                            person=True, attrs={"household": self.household})
                for m in sorted(moments)]

    def _outage(self, events: list[Event], days: int, start: dt.datetime) -> list[Event]:
        if self.rng.random() >= OUTAGE * days / 90:
            return events
        sensors = sorted({e.device for e in events if e.kind is EventKind.ACTIVITY})
        if not sensors:
            return events
        device = self.rng.choice(sensors)
        begin = start + hours(24 * self.rng.uniform(0, max(days - 1, 0)))
        hole = (begin, begin + hours(24 * self.rng.uniform(1, 3)))
        return [e for e in events
                if not (e.device == device and hole[0] <= e.occurred_at < hole[1])]

    def _event(self, device: str, at: dt.datetime, kind: EventKind, source: Source, *,
               person: bool, direction: Direction | None = None,
               credential: Credential | None = None,
               attrs: dict[str, Any] | None = None) -> Event:
        self.serial += 1
        record = f"{self.resident}/{self.serial}"
        return Event(event_id=derived_event_id(COMMUNITY, self.building, device, record),
                     occurred_at=at, community=COMMUNITY, building=self.building,
                     device=device, kind=kind, direction=direction,
                     person_id=self.resident if person else None, credential=credential,
                     source=source, attrs=attrs or {})


def _uniform(rng: random.Random, per_hour: float, spans: list[Interval]) -> list[dt.datetime]:
    """A Poisson process of ``per_hour`` over ``spans``."""
    out = []
    for a, b in subtract(spans, []):
        t = a + hours(rng.expovariate(per_hour))
        while t < b:
            out.append(t)
            t += hours(rng.expovariate(per_hour))
    return out
