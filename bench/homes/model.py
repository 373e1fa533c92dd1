"""What every bench home is made of: a directory, contract events and the truth.

A ``Dataset`` is one community ready for ``linli rules replay``: the directory as the
``linli import`` YAML would hold it, the events (contract v1 ``Event`` objects, written one
JSON line each), and for each watched resident a ``Home`` with the truth — where the
person really was, as ``Stay`` intervals (``home``, ``out`` for an outing, ``away`` for a
trip or a hospital stay) that cover the home's whole span without gaps.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from linli.contract import Event, EventKind

State = Literal["home", "out", "away"]
STATES: tuple[State, ...] = ("home", "out", "away")
BENCH_NAMESPACE = uuid.UUID("0b6f4bd5-8f3e-4b0a-a7f5-2f6d1c3e9a41")
"""Namespace of the bench's own derived ids (copies of a home); fixed so reruns match."""


@dataclass(frozen=True, slots=True)
class Stay:
    """Where a resident was from ``start`` to ``end`` (aware datetimes, end excluded)."""

    start: dt.datetime
    end: dt.datetime
    state: State


@dataclass(frozen=True, slots=True)
class Home:
    """One watched resident living alone, their home, and the truth about them."""

    resident: str
    household: str
    building: str
    stays: tuple[Stay, ...]

    @property
    def start(self) -> dt.datetime:
        return self.stays[0].start

    @property
    def end(self) -> dt.datetime:
        return self.stays[-1].end

    def days(self) -> float:
        """Length of the home's span in days."""
        return (self.end - self.start).total_seconds() / 86400

    def state_at(self, moment: dt.datetime) -> State | None:
        """Where the resident was at ``moment`` (None outside the span)."""
        for stay in self.stays:
            if stay.start <= moment < stay.end:
                return stay.state
        return None


@dataclass(slots=True)
class Dataset:
    """One community: directory, events and the truth for each watched resident."""

    name: str
    real: bool
    directory: dict[str, Any]
    events: list[Event]
    homes: list[Home]
    notes: list[str] = field(default_factory=list)

    @property
    def start(self) -> dt.datetime:
        return min(h.start for h in self.homes)

    @property
    def end(self) -> dt.datetime:
        return max(h.end for h in self.homes)

    def resident_days(self) -> float:
        return sum(h.days() for h in self.homes)

    def device_households(self) -> dict[tuple[str, str], str]:
        """(building, device) → household, for devices that belong to one home."""
        return {(d["building"], d["id"]): d["household"]
                for d in self.directory.get("devices", []) if d.get("household")}


def close_stays(stays: Sequence[Stay]) -> list[Stay]:
    """Merge adjacent stays of the same state and drop empty ones."""
    merged: list[Stay] = []
    for stay in stays:
        if stay.end <= stay.start:
            continue
        if merged and merged[-1].state == stay.state and merged[-1].end >= stay.start:
            merged[-1] = replace(merged[-1], end=max(merged[-1].end, stay.end))
        else:
            merged.append(stay)
    return merged


def check_stays(stays: Sequence[Stay]) -> None:
    """Raise ValueError unless ``stays`` are ordered, contiguous and non-empty."""
    if not stays:
        raise ValueError("a home needs at least one stay")
    for before, after in itertools.pairwise(stays):
        if before.end != after.start:
            raise ValueError(f"stays not contiguous at {before.end.isoformat()}")
    for stay in stays:
        if stay.end <= stay.start:
            raise ValueError(f"empty stay at {stay.start.isoformat()}")


def door_only(dataset: Dataset) -> Dataset:
    """The same community without its in-home sensors (their devices and events)."""
    directory = dict(dataset.directory)
    directory["devices"] = [d for d in dataset.directory.get("devices", [])
                            if d.get("kind") != "sensor"]
    events = [e for e in dataset.events if e.kind is not EventKind.ACTIVITY]
    return Dataset(dataset.name, dataset.real, directory, events, list(dataset.homes),
                   list(dataset.notes))


# --- files --------------------------------------------------------------------------


def write_directory(directory: dict[str, Any], path: Path) -> None:
    """The directory as a ``linli import`` YAML file (times quoted, as the importer asks)."""
    path.write_text(yaml.safe_dump(directory, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")


def write_events(events: Iterable[Event], path: Path) -> int:
    """Events as contract JSON lines; returns how many were written."""
    n = 0
    with path.open("wb") as out:
        for event in events:
            out.write(event.to_json() + b"\n")
            n += 1
    return n


def truth_rows(homes: Iterable[Home]) -> list[dict[str, Any]]:
    """The truth as plain rows: one per stay."""
    return [{"resident": h.resident, "household": h.household, "state": s.state,
             "start": s.start.isoformat(), "end": s.end.isoformat()}
            for h in homes for s in h.stays]


def write_truth(homes: Iterable[Home], path: Path) -> None:
    """The truth file: one JSON object per stay (resident, household, state, start, end)."""
    with path.open("w", encoding="utf-8") as out:
        for row in truth_rows(homes):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_dataset(dataset: Dataset, folder: Path) -> dict[str, Path]:
    """``community.yaml``, ``events.jsonl`` and ``truth.jsonl`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"community": folder / "community.yaml", "events": folder / "events.jsonl",
             "truth": folder / "truth.jsonl"}
    write_directory(dataset.directory, paths["community"])
    write_events(sorted(dataset.events, key=lambda e: e.occurred_at), paths["events"])
    write_truth(dataset.homes, paths["truth"])
    return paths
