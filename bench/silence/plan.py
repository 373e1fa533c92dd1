"""Which replays the benchmark runs, and what each is scored on.

For every data set and signal variant (``door``: door passages only, the in-home sensors
and their events removed; ``door+activity``: everything), one ``Job`` — one replay per
detector — per round. In a round, some residents are left as they are (a baseline: their
data replayed to its end, every alert about them is false) and the others get an incident
at their own T (``bench.silence.incidents``: their events stop at T); the replay runs to
the later of the data's end and the last T + 48 h, and each resident is scored on their
own window. The detectors judge each resident on their own signals, so sharing a replay
changes nothing for them and halves the number of replays.

* a community of several residents (synthetic): in round r, resident i gets an incident
  when i + r is odd — two rounds give every resident one incident and one baseline;
* a real home is one resident: its job holds ``copies`` copies of it side by side
  (``bench.homes.copies``); the first is the baseline, every other one gets an incident.

T is drawn from a generator seeded with the seed, the data set, the round and the
resident, so reruns pick the same times.
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


def plan_jobs(dataset: Dataset, variant: str, *, rounds: int, copies: int, seed: int,
              incidents: bool = True) -> list[Job]:
    """``rounds`` jobs for one data set and variant (see the module docstring);
    ``incidents=False``: baselines only."""
    base = with_variant(dataset, variant)
    jobs = []
    for r in range(1, rounds + 1):
        community = replicate(base, copies)
        cuts, windows = [], []
        for i, home in enumerate(community.homes):
            incident = incidents and (i >= len(base.homes) if copies > 1 else (i + r) % 2 == 1)
            rng = random.Random(f"{seed}/{dataset.name}/{r}/{home.resident}")
            at = pick_incident(rng, home) if incident else None
            if at is not None:
                cuts.append(Cut(home.resident, home.household, at))
            windows.append(Window(home, home.start, home.end, at))
        events = cut_after(community.events, cuts, community.device_households())
        cut_dataset = Dataset(community.name, community.real, community.directory, events,
                              community.homes, community.notes)
        until = max([community.end, *(c.at + HORIZON for c in cuts)])
        jobs.append(Job(dataset.name, variant, f"round-{r}", cut_dataset, until, windows, cuts))
    return jobs


def door_kind(dataset: Dataset, home: Home) -> str:
    """``contact`` when the home has a door device of its own, else ``face`` (a building
    terminal that tells in from out)."""
    own = any(d.get("kind") == "door" and d.get("household") == home.household
              for d in dataset.directory.get("devices", []))
    return "contact" if own else "face"
