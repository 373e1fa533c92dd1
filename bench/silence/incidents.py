"""Incident injection: a resident stops showing signs of life at home at a time T.

The rule for T (``pick_incident``): uniform over the time the truth has the resident at
home — awake or asleep — from ``warmup`` after the start of their data to its end, so the
detectors always have some history. ``warmup_for`` is 7 days, or a third of the span for
homes shorter than three weeks (Ordóñez A: 14 days → 4.6 days).

``cut_after`` then drops every event of that resident after T: their own door passages
and in-home activity (``person_id``), and everything from their household's devices (a
flat's door contact, its water meter and motion sensor, ``attrs.household``) — the home
falls silent, as it would if the resident fell or had a stroke. Events that name nobody
on a shared device (an anonymous passage at the building's entrance) stay.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bench.homes.model import Home
from linli.contract import Event

__all__ = ["Cut", "cut_after", "pick_incident", "warmup_for"]

WARMUP = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Cut:
    """One injected incident: ``resident`` of ``household`` is silent from ``at``."""

    resident: str
    household: str
    at: dt.datetime


def warmup_for(home: Home) -> dt.timedelta:
    """History a home keeps before its incident: 7 days, at most a third of its span."""
    return min(WARMUP, (home.end - home.start) / 3)


def pick_incident(rng: random.Random, home: Home,
                  warmup: dt.timedelta | None = None) -> dt.datetime | None:
    """T uniform over the resident's at-home time after ``warmup`` (None: never at home)."""
    earliest = home.start + (warmup_for(home) if warmup is None else warmup)
    spans = [(max(s.start, earliest), s.end) for s in home.stays
             if s.state == "home" and s.end > earliest]
    total = sum((b - a).total_seconds() for a, b in spans)
    if total <= 0:
        return None
    pick = rng.uniform(0, total)
    for a, b in spans:
        length = (b - a).total_seconds()
        if pick < length:
            return (a + dt.timedelta(seconds=pick)).replace(microsecond=0)
        pick -= length
    return spans[-1][1] - dt.timedelta(seconds=1)


def cut_after(events: Iterable[Event], cuts: Iterable[Cut],
              device_households: Mapping[tuple[str, str], str]) -> list[Event]:
    """``events`` without any event of a cut resident or their household after its T.

    ``device_households`` maps (building, device) to the household a device belongs to
    (``Dataset.device_households``). An event exactly at T is kept: T is the last moment
    the resident was fine.
    """
    by_person = {c.resident: c.at for c in cuts}
    by_household = {c.household: c.at for c in cuts}
    kept = []
    for event in events:
        household = event.attrs.get("household") or device_households.get(
            (event.building, event.device))
        limits = [by_person.get(event.person_id or ""), by_household.get(household or "")]
        if any(limit is not None and event.occurred_at > limit for limit in limits):
            continue
        kept.append(event)
    return kept
