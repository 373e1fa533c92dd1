"""Which replays the benchmark runs, and what each is scored on.

For every data set and signal variant (``door``: door passages only, the in-home sensors
and their events removed; ``door+activity``: everything), one ``Job`` per round:

* ``baseline``: the data as it is, replayed to its end; every alert about a resident is
  false (nobody is in trouble in the data);
* ``incidents-<r>``: every watched resident gets one incident at their own T
  (``bench.silence.incidents``); the run goes on to the last T + 48 h, and each resident is
  scored on their own window: false alerts before T, detection in [T, T + 48 h].
  A real home is one resident, so its incident rounds hold ``copies`` copies of it
  (``bench.homes.copies``), each with its own T: one replay scores them all.

Each job is replayed once per detector. T is drawn from a generator seeded with the seed,
the data set, the round and the resident, so reruns pick the same times.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path

from bench.homes.copies import replicate
from bench.homes.model import Dataset, Home, door_only, write_dataset
from bench.silence.incidents import Cut, cut_after, pick_incident
from bench.silence.metrics import HORIZON, Window

__all__ = ["VARIANTS", "Job", "door_kind", "plan_jobs", "with_variant"]

VARIANTS = ("door", "door+activity")


@dataclass(slots=True)
class Job:
    """One replay's inputs, whatever the detector."""

    source: str
    """The data set's name (``ordonez-a``, ``synthetic``)."""
    variant: str
    label: str
    dataset: Dataset
    until: dt.datetime
    windows: list[Window]
    cuts: list[Cut]

    @property
    def key(self) -> str:
        return f"{self.source}/{self.variant}/{self.label}"

    def write(self, folder: Path) -> dict[str, Path]:
        """The replay's input files (plus the truth and the incidents) in ``folder``."""
        paths = write_dataset(self.dataset, folder)
        paths["incidents"] = folder / "incidents.json"
        paths["incidents"].write_text(json.dumps(
            [{"resident": c.resident, "household": c.household, "at": c.at.isoformat()}
             for c in self.cuts], indent=1) + "\n", encoding="utf-8")
        return paths


def with_variant(dataset: Dataset, variant: str) -> Dataset:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    return dataset if variant == "door+activity" else door_only(dataset)


def plan_jobs(dataset: Dataset, variant: str, *, rounds: int, copies: int,
              seed: int) -> list[Job]:
    """The baseline job and ``rounds`` incident rounds for one data set and variant."""
    base = with_variant(dataset, variant)
    jobs = [Job(dataset.name, variant, "baseline", base, base.end,
                [Window(h, h.start, h.end) for h in base.homes], [])]
    for r in range(1, rounds + 1):
        community = replicate(base, copies)
        cuts, windows = [], []
        for home in community.homes:
            rng = random.Random(f"{seed}/{dataset.name}/{r}/{home.resident}")
            at = pick_incident(rng, home)
            if at is None:
                continue
            cuts.append(Cut(home.resident, home.household, at))
            windows.append(Window(home, home.start, home.end, at))
        if not cuts:
            continue
        events = cut_after(community.events, cuts, community.device_households())
        cut_dataset = Dataset(community.name, community.real, community.directory, events,
                              community.homes, community.notes)
        until = max(c.at for c in cuts) + HORIZON
        jobs.append(Job(dataset.name, variant, f"incidents-{r}", cut_dataset, until, windows,
                        cuts))
    return jobs


def door_kind(dataset: Dataset, home: Home) -> str:
    """``contact`` when the home has a door device of its own, else ``face`` (a building
    terminal that tells in from out)."""
    own = any(d.get("kind") == "door" and d.get("household") == home.household
              for d in dataset.directory.get("devices", []))
    return "contact" if own else "face"
