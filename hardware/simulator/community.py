"""A generated community: its directory (format 3) and one edge-agent config per building.

``generate_community(spec)`` is deterministic for a spec (seed included). Besides the
directory it keeps, for each resident, what the routine generator needs: their role
(worker, child, elder, at home), unit door and credential. ``spec.stay_in`` of the elderly
living alone are chosen to stay in: after one last return home they never pass the door
again, which the "silent resident" rule should notice.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hardware.simulator import names
from linli.directory import Directory, parse_directory
from linli.errors import ConfigError
from linli.topics import check_identifier

KNOWN_NAMES = {"juxin": "聚鑫家园"}
"""Display names of the communities the docs use; others are called '<id>社区'."""


class Role(StrEnum):
    """What shapes a resident's day."""

    WORKER = "worker"  # leaves in the morning, back in the evening on weekdays
    CHILD = "child"  # school on weekdays
    ELDER = "elder"  # walks and shopping in the morning and afternoon
    HOME = "home"  # an adult at home: errands, fetching children


Member = tuple[Role, names.Gender, names.Generation]
"""A household member to create: role, gender, naming generation."""


@dataclass(frozen=True, slots=True)
class CommunitySpec:
    """What to generate. Defaults give 3 buildings × 2 units × 6 households."""

    community: str = "juxin"
    name: str | None = None
    buildings: int = 3
    units: int = 2
    households_per_unit: int = 6
    seed: int = 1
    elderly_alone: int = 4
    stay_in: int = 1
    notify_base: str | None = None
    """Grid workers get ``{notify_base}/{worker_id}`` as their notify URL when set."""
    timezone: str = "Asia/Shanghai"

    def check(self) -> None:
        """Raise ConfigError when the numbers cannot make a community."""
        check_identifier(self.community, "community")
        limits = {"buildings": (self.buildings, 1, 99), "units": (self.units, 1, 9),
                  "households_per_unit": (self.households_per_unit, 1, 60)}
        for what, (value, low, high) in limits.items():
            if not low <= value <= high:
                raise ConfigError(f"{what} must be between {low} and {high}, not {value}")
        households = self.buildings * self.units * self.households_per_unit
        if not 0 <= self.elderly_alone <= households:
            raise ConfigError(f"elderly_alone must be between 0 and {households} households")
        if not 0 <= self.stay_in <= self.elderly_alone:
            raise ConfigError("stay_in must be between 0 and elderly_alone")


@dataclass(frozen=True, slots=True)
class SimPerson:
    """A resident as the simulator sees them."""

    id: str
    name: str
    role: Role
    building: str
    device: str
    """Their unit's door."""
    credential: str
    """face or card."""
    lives_alone: bool
    household: str


@dataclass(frozen=True, slots=True)
class Community:
    """A generated community: the directory file's content plus simulation details."""

    spec: CommunitySpec
    directory: Directory
    people: tuple[SimPerson, ...]
    stay_in: tuple[str, ...]
    """Ids of elderly residents living alone who stop leaving home."""

    @property
    def id(self) -> str:
        return self.directory.community.id

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.directory.community.timezone)

    @property
    def doors(self) -> list[tuple[str, str]]:
        """(building, device) of every door."""
        return [(d.building, d.id) for d in self.directory.devices if d.kind == "door"]

    def person(self, resident_id: str) -> SimPerson:
        return next(p for p in self.people if p.id == resident_id)

    def agent_config(self, building: str, logs_dir: Path) -> dict[str, Any]:
        """The building's edge-agent configuration (format 2) reading logs in ``logs_dir``."""
        return {
            "community": self.id,
            "building": building,
            "agent_id": "agent",
            "sources": [
                {"type": "log", "device": device, "path": str(logs_dir / f"{device}.jsonl"),
                 "format": "jsonl", "timezone": self.directory.community.timezone,
                 "readers": {"1": "in", "2": "out"}}
                for b, device in self.doors
                if b == building
            ],
        }


def door_id(building: str, unit: str) -> str:
    return f"{building}-{unit}-door"


def generate_community(spec: CommunitySpec) -> Community:
    """Build a community from ``spec``; the same spec always gives the same community."""
    spec.check()
    rng = random.Random(f"community:{spec.community}:{spec.seed}")
    builder = _Builder(spec, rng)
    directory = parse_directory(builder.build(), source="generated community")
    alone = [p.id for p in builder.people if p.lives_alone and p.role is Role.ELDER]
    stay_in = tuple(sorted(rng.sample(alone, spec.stay_in)))
    return Community(spec, directory, tuple(builder.people), stay_in)


class _Builder:
    """Accumulates the directory's lists while walking buildings, units and rooms."""

    def __init__(self, spec: CommunitySpec, rng: random.Random) -> None:
        self.spec, self.rng = spec, rng
        self.phones = names.FakePhones()
        self.people: list[SimPerson] = []
        self.residents: list[dict[str, Any]] = []
        self.households: list[dict[str, Any]] = []

    def build(self) -> dict[str, Any]:
        spec = self.spec
        grid_count = math.ceil(spec.buildings / 2)
        grids = [{"id": f"g{g}", "name": f"第{_cn(g)}网格"} for g in range(1, grid_count + 1)]
        buildings, devices = [], []
        total = spec.buildings * spec.units * spec.households_per_unit
        alone_slots = set(self.rng.sample(range(total), spec.elderly_alone))
        slot = 0
        for b in range(1, spec.buildings + 1):
            building = f"b{b:02d}"
            units = [{"id": f"u{u}", "name": f"{u}单元"} for u in range(1, spec.units + 1)]
            buildings.append({"id": building, "name": f"{b}栋", "grid": f"g{(b + 1) // 2}",
                              "units": units})
            devices.append({"building": building, "id": "agent", "kind": "agent",
                            "name": f"{b}栋边缘网关"})
            for unit in units:
                device = door_id(building, unit["id"])
                devices.append({"building": building, "id": device, "kind": "door",
                                "name": f"{b}栋{unit['name']}门禁"})
                for index in range(spec.households_per_unit):
                    room = f"{index // 2 + 1}0{index % 2 + 1}"
                    self._household(building, unit["id"], room, device, slot in alone_slots)
                    slot += 1
        return {
            "community": {"id": spec.community,
                          "name": spec.name or KNOWN_NAMES.get(spec.community,
                                                               f"{spec.community}社区"),
                          "timezone": spec.timezone, "silent_check_at": "20:00"},
            "grids": grids,
            "buildings": buildings,
            "households": self.households,
            "residents": self.residents,
            "grid_workers": self._staff(grids),
            "devices": devices,
        }

    def _household(self, building: str, unit: str, room: str, device: str, alone: bool) -> None:
        household = f"h-{building}-{unit}-{room}"
        self.households.append({"id": household, "building": building, "unit": unit,
                                "room": room})
        family = names.surname(self.rng)
        for role, gender, generation in self._members(alone):
            own_surname = family if generation == "child" or gender == "m" \
                else names.surname(self.rng)
            self._resident(household, building, device, role, alone,
                           own_surname + names.given_name(self.rng, generation, gender))

    def _members(self, alone: bool) -> list[Member]:
        rng = self.rng
        if alone:
            return [(Role.ELDER, "f" if rng.random() < 0.7 else "m", "elder")]
        kind = rng.choices(["family", "family3", "elders", "couple", "single", "home"],
                           weights=[35, 10, 20, 20, 10, 5])[0]
        couple: list[Member] = [(Role.WORKER, "m", "adult"), (Role.WORKER, "f", "adult")]
        kids: list[Member] = [(Role.CHILD, names.gender(rng), "child") for _ in range(rng.choice([1, 1, 2]))]
        if kind == "family":
            return couple + kids
        if kind == "family3":
            return [*couple, *kids, (Role.ELDER, names.gender(rng), "elder")]
        if kind == "elders":
            return [(Role.ELDER, "m", "elder"), (Role.ELDER, "f", "elder")]
        if kind == "couple":
            return couple
        if kind == "home":
            return [(Role.WORKER, "m", "adult"), (Role.HOME, "f", "adult"), kids[0]]
        return [(Role.WORKER, names.gender(rng), "adult")]

    def _resident(self, household: str, building: str, device: str, role: Role,
                  alone: bool, name: str) -> None:
        rng = self.rng
        rid = f"r-{len(self.people) + 1:04d}"
        elderly = role is Role.ELDER
        credential = "card" if role is Role.CHILD or rng.random() < 0.3 else "face"
        self.people.append(SimPerson(rid, name, role, building, device, credential,
                                     alone and elderly, household))
        resident: dict[str, Any] = {"id": rid, "name": name, "household": household}
        if role is not Role.CHILD:
            resident["phone"] = self.phones.next()
        if elderly:
            resident.update(elderly=True, lives_alone=alone,
                            care_level=rng.choice([1, 2, 2, 3] if alone else [0, 1, 1, 2]),
                            emergency_contacts=[self._contact(name[0])])
        self.residents.append(resident)

    def _contact(self, elder_surname: str) -> dict[str, str]:
        gender = names.gender(self.rng)
        family = elder_surname if gender == "m" else names.surname(self.rng)
        return {"name": family + names.given_name(self.rng, "adult", gender),
                "phone": self.phones.next(), "relation": names.CHILD_RELATIONS[gender]}

    def _staff(self, grids: list[dict[str, str]]) -> list[dict[str, Any]]:
        staff = []
        for index, grid in enumerate(grids, start=1):
            staff.append(self._worker(f"w-{index:02d}", "grid_worker", [grid["id"]]))
        staff.append(self._worker("cr-01", "control_room", []))
        return staff

    def _worker(self, worker_id: str, role: str, grids: list[str]) -> dict[str, Any]:
        gender = names.gender(self.rng)
        worker: dict[str, Any] = {
            "id": worker_id,
            "name": names.surname(self.rng) + names.given_name(self.rng, "adult", gender),
            "phone": self.phones.next(), "role": role, "grids": grids, "locale": "zh-CN",
        }
        if self.spec.notify_base:
            worker["notify"] = [f"{self.spec.notify_base.rstrip('/')}/{worker_id}"]
        return worker


def _cn(number: int) -> str:
    """Chinese numerals for grid names (第一网格 … 第九十九网格)."""
    digits = "零一二三四五六七八九"
    if number < 10:
        return digits[number]
    tens, ones = divmod(number, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")
