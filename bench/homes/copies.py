"""Copies of a community's homes side by side, so one replay scores several incidents.

A real home is one resident; an incident cuts their data at some time T, so each incident
would need its own replay. Instead, ``replicate`` puts K copies of the home in one
community — the same history under other ids (resident, household and the home's own
devices get a ``-c<i>`` suffix, events a derived uuid5 id) — and each copy gets its own T.
The detectors judge each resident on their own signals, so a copy behaves exactly as the
original would in a replay of its own; building-level devices (a shared entrance terminal)
stay shared.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from typing import Any

from bench.homes.model import BENCH_NAMESPACE, Dataset, Home
from linli.contract import Event

__all__ = ["home_copy", "replicate"]


def _suffix(name: str, i: int) -> str:
    return name if i == 0 else f"{name}-c{i}"


def replicate(dataset: Dataset, count: int) -> Dataset:
    """``count`` copies of every home of ``dataset`` in one community (copy 0 is the original)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if count == 1:
        return dataset
    residents = {h.resident for h in dataset.homes}
    households = {h.household for h in dataset.homes}
    own_devices = {(d["building"], d["id"]) for d in dataset.directory.get("devices", [])
                   if d.get("household") in households}
    directory = copy.deepcopy(dataset.directory)
    directory["households"] = [_rename(h, i, households, "id") for i in range(count)
                               for h in dataset.directory["households"]]
    directory["residents"] = [_resident(r, i, households) for i in range(count)
                              for r in dataset.directory["residents"]]
    directory["devices"] = [d for d in dataset.directory.get("devices", [])
                            if (d["building"], d["id"]) not in own_devices]
    directory["devices"] += [_device(d, i) for i in range(count)
                             for d in dataset.directory.get("devices", [])
                             if (d["building"], d["id"]) in own_devices]
    events: list[Event] = []
    for i in range(count):
        for event in dataset.events:
            mine = (event.person_id in residents
                    or event.attrs.get("household") in households
                    or (event.building, event.device) in own_devices)
            if i == 0 or mine:
                events.append(_event(event, i, residents, households, own_devices))
    homes = [home_copy(h, i) for i in range(count) for h in dataset.homes]
    notes = [*dataset.notes, f"{count} copies of each home in one community"]
    return Dataset(dataset.name, dataset.real, directory, events, homes, notes)


def _rename(row: dict[str, Any], i: int, ids: set[str], key: str) -> dict[str, Any]:
    out = dict(row)
    if out[key] in ids:
        out[key] = _suffix(out[key], i)
    return out


def _resident(row: dict[str, Any], i: int, households: set[str]) -> dict[str, Any]:
    out = dict(row)
    out["id"] = _suffix(out["id"], i)
    if out.get("household") in households:
        out["household"] = _suffix(out["household"], i)
    if i:
        out["name"] = f"{out['name']} ({i})"
    return out


def _device(row: dict[str, Any], i: int) -> dict[str, Any]:
    out = dict(row)
    out["id"] = _suffix(out["id"], i)
    out["household"] = _suffix(out["household"], i)
    return out


def _event(event: Event, i: int, residents: set[str], households: set[str],
           own_devices: set[tuple[str, str]]) -> Event:
    if i == 0:
        return event
    changes: dict[str, Any] = {"event_id": uuid.uuid5(BENCH_NAMESPACE, f"{event.event_id}/{i}")}
    if event.person_id in residents:
        changes["person_id"] = _suffix(event.person_id, i)
    household = event.attrs.get("household")
    if household in households:
        changes["attrs"] = {**event.attrs, "household": _suffix(household, i)}
    if (event.building, event.device) in own_devices:
        changes["device"] = _suffix(event.device, i)
    return event.model_copy(update=changes)


def home_copy(home: Home, i: int) -> Home:
    """The ``i``-th copy of ``home`` as ``replicate`` names it."""
    return replace(home, resident=_suffix(home.resident, i), household=_suffix(home.household, i))
