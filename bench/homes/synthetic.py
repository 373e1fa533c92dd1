"""A synthetic community: elderly residents living alone, each with months of daily life.

Seeded and deterministic: the same ``seed``, ``residents`` and ``days`` give the same
files. Each resident gets a routine drawn for them (``draw_profile``):

* sleep: a usual wake-up (5:30–8:00) and bedtime (20:30–23:30), varying a little from day
  to day; one in five sleeps irregularly (much wider spread, afternoon naps); most get up
  at night for the toilet (0–2.5 times a night on average);
* outings: a morning one (the market) and an afternoon walk, each with the person's own
  likelihood — some rarely go out at all; stay-in days; now and then an evening out with a
  late return (21:30–23:30);
* multi-day absences: trips (to the children, 2–10 days) and hospital stays (3–12 days,
  leaving at any hour), none announced to the system;
* visitors (the door opens, the resident stays in), and for homes with their own door
  contact, short door openings (rubbish, post) with no outing.

``live`` turns a profile into a ``Life``: the truth (``home``/``out``/``away`` stays) and
what happens at home (sleep, naps, visits, night-time toilet visits, meals), from which
``bench.homes.synthetic_events`` makes the sensor and door records.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from bench.homes.model import Stay, check_stays, close_stays

__all__ = ["Door", "Interval", "Life", "Profile", "draw_profile", "hours", "live", "subtract"]

Door = Literal["face", "contact"]
Interval = tuple[dt.datetime, dt.datetime]
H = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Profile:
    """One resident's habits (hours are local hours of the day)."""

    door: Door
    motion: bool
    """The home has a motion sensor besides its water meter."""
    wake: float
    bedtime: float
    spread: float
    """Day-to-day standard deviation of wake-up and bedtime, in hours."""
    naps: bool
    night_toilet: float
    market: float
    walk: float
    late: float
    stay_in: float
    trips: float
    """Expected trips away per 90 days."""
    hospital: float
    """Expected hospital stays per 90 days."""
    visitors: float
    """Expected visits per day."""
    errands: float
    """Expected short door openings per day (rubbish, post) with no outing."""


def draw_profile(rng: random.Random, door: Door, motion: bool) -> Profile:
    """A resident's habits, drawn once."""
    irregular = rng.random() < 0.2
    homebody = rng.random() < 0.15
    return Profile(
        door=door, motion=motion,
        wake=rng.uniform(5.5, 8.0), bedtime=rng.uniform(20.5, 23.5),
        spread=rng.uniform(1.0, 2.0) if irregular else rng.uniform(0.15, 0.5),
        naps=irregular or rng.random() < 0.3,
        night_toilet=rng.choice((0.0, 0.5, 1.0, 1.5, 2.5)),
        market=rng.uniform(0.02, 0.1) if homebody else rng.uniform(0.3, 0.9),
        walk=rng.uniform(0.0, 0.1) if homebody else rng.uniform(0.2, 0.8),
        late=rng.uniform(0.0, 0.01) if homebody else rng.uniform(0.0, 0.06),
        stay_in=rng.uniform(0.05, 0.3),
        trips=0.0 if homebody else rng.choice((0.0, 0.5, 1.0, 2.0)),
        hospital=rng.choice((0.0, 0.0, 0.0, 0.3, 1.0)),
        visitors=rng.uniform(0.05, 0.5),
        errands=rng.uniform(0.0, 1.0) if door == "contact" else 0.0,
    )


@dataclass(slots=True)
class Life:
    """What a resident did: the truth and what happened at home."""

    stays: list[Stay]
    asleep: list[Interval] = field(default_factory=list)
    """Asleep at home (nights and naps)."""
    visits: list[Interval] = field(default_factory=list)
    errands: list[dt.datetime] = field(default_factory=list)
    night_toilet: list[dt.datetime] = field(default_factory=list)
    meals: list[dt.datetime] = field(default_factory=list)

    def at_home(self) -> list[Interval]:
        return [(s.start, s.end) for s in self.stays if s.state == "home"]

    def awake_at_home(self) -> list[Interval]:
        return subtract(self.at_home(), self.asleep)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth; means here are small)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def hours(value: float) -> dt.timedelta:
    """``value`` hours, to the whole second (every time of the synthetic life is whole
    seconds, like the records made from it)."""
    return dt.timedelta(seconds=round(value * 3600))


def overlaps(span: Interval, busy: Iterable[Interval], margin: dt.timedelta = H / 4) -> bool:
    return any(span[0] < b[1] + margin and b[0] < span[1] + margin for b in busy)


def subtract(spans: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """``spans`` minus ``holes`` (both lists of intervals), sorted."""
    holes = sorted(holes)
    out = []
    for start, end in sorted(spans):
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def live(rng: random.Random, profile: Profile, start: dt.datetime, days: int) -> Life:
    """``days`` days of life from local midnight ``start`` (aware)."""
    end = start + dt.timedelta(days=days)
    day = [start + dt.timedelta(days=d) for d in range(days + 1)]
    away = _absences(rng, profile, day, days, end)
    outings: list[Interval] = []
    nights: list[Interval] = []
    naps: list[Interval] = []
    bed_prev = start
    for d in range(days):
        wake = day[d] + hours(_hour(rng, profile.wake, profile.spread, 4.0, 11.0))
        bed = day[d] + hours(_hour(rng, profile.bedtime, profile.spread, 19.5, 26.0))
        outings += _outings(rng, profile, day[d], wake, bed, away + outings)
        back = [o[1] for o in outings if day[d] <= o[0] < day[d + 1]]
        if back:
            bed = max(bed, max(back) + hours(rng.uniform(0.3, 1.0)))
        nights.append((bed_prev, wake))
        if profile.naps and rng.random() < 0.5:
            nap = day[d] + hours(rng.uniform(12.5, 14.5))
            naps.append((nap, nap + hours(rng.uniform(0.5, 1.5))))
        bed_prev = bed
    nights.append((bed_prev, end))
    stays = _stays(start, end, away, outings)
    life = Life(stays)
    home = life.at_home()
    life.asleep = sorted(i for spans in (nights, naps) for i in _within(spans, home))
    awake = life.awake_at_home()
    life.visits = _visits(rng, profile, days, awake)
    life.errands = _moments(rng, profile.errands * days, subtract(awake, life.visits))
    life.night_toilet = [t for a, b in _within(nights, home)
                         for t in _moments(rng, profile.night_toilet * (b - a) / (8 * H),
                                           [(a + H / 2, b - H / 4)])]
    life.meals = _meals(rng, day[:-1], awake)
    return life


def _hour(rng: random.Random, mean: float, spread: float, low: float, high: float) -> float:
    return min(high, max(low, rng.gauss(mean, spread)))


def _absences(rng: random.Random, p: Profile, day: list[dt.datetime], days: int,
              end: dt.datetime) -> list[Interval]:
    """Trips and hospital stays, not overlapping each other, clipped to the span."""
    planned: list[Interval] = []
    kinds = ([("trip", 8.0, 15.0, 2, 10)] * poisson(rng, p.trips * days / 90)
             + [("hospital", 0.0, 24.0, 3, 12)] * poisson(rng, p.hospital * days / 90))
    for _kind, leave_lo, leave_hi, len_lo, len_hi in kinds:
        first = rng.randrange(1, max(2, days - 1))
        length = rng.randint(len_lo, len_hi)
        leave = day[first] + hours(rng.uniform(leave_lo, leave_hi))
        back = day[first] + dt.timedelta(days=length) + hours(rng.uniform(10.0, 19.0))
        span = (leave, min(back, end))
        if span[0] < span[1] and not overlaps(span, planned, dt.timedelta(days=1)):
            planned.append(span)
    return sorted(planned)


def _outings(rng: random.Random, p: Profile, midnight: dt.datetime, wake: dt.datetime,
             bed: dt.datetime, busy: list[Interval]) -> list[Interval]:
    if rng.random() < p.stay_in:
        return []
    wanted = []
    if rng.random() < p.market:
        leave = wake + hours(rng.uniform(0.5, 2.5))
        wanted.append((leave, leave + hours(rng.uniform(0.5, 2.0))))
    if rng.random() < p.walk:
        leave = midnight + hours(rng.uniform(14.0, 17.0))
        wanted.append((leave, leave + hours(rng.uniform(0.5, 2.5))))
    if rng.random() < p.late:
        wanted.append((midnight + hours(rng.uniform(17.0, 19.5)),
                       midnight + hours(rng.uniform(21.5, 23.5))))
    kept: list[Interval] = []
    for span in wanted:
        late = span[1] > bed
        fits = span[0] > wake + H / 4 and (late or span[1] < bed - H / 4)
        if fits and not overlaps(span, busy + kept):
            kept.append(span)
    return kept


def _stays(start: dt.datetime, end: dt.datetime, away: list[Interval],
           outings: list[Interval]) -> list[Stay]:
    marked = sorted([(a, b, "away") for a, b in away] + [(a, b, "out") for a, b in outings])
    stays: list[Stay] = []
    cursor = start
    for a, b, state in marked:
        stays.append(Stay(cursor, a, "home"))
        stays.append(Stay(a, b, "away" if state == "away" else "out"))
        cursor = b
    stays.append(Stay(cursor, end, "home"))
    merged = close_stays(stays)
    check_stays(merged)
    return merged


def _within(spans: Iterable[Interval], home: list[Interval]) -> list[Interval]:
    """The parts of ``spans`` inside ``home`` intervals."""
    out = []
    for a, b in spans:
        for h_a, h_b in home:
            lo, hi = max(a, h_a), min(b, h_b)
            if lo < hi:
                out.append((lo, hi))
    return out


def _moments(rng: random.Random, mean: float, spans: list[Interval]) -> list[dt.datetime]:
    """About ``mean`` moments spread uniformly over ``spans``."""
    total = sum((b - a).total_seconds() for a, b in spans)
    if total <= 0:
        return []
    picks = sorted(rng.uniform(0, total) for _ in range(poisson(rng, mean)))
    out, offset, i = [], 0.0, 0
    for a, b in spans:
        length = (b - a).total_seconds()
        while i < len(picks) and picks[i] < offset + length:
            out.append(a + dt.timedelta(seconds=round(picks[i] - offset)))
            i += 1
        offset += length
    return out


def _visits(rng: random.Random, p: Profile, days: int, awake: list[Interval]) -> list[Interval]:
    visits: list[Interval] = []
    for arrive in _moments(rng, p.visitors * days, awake):
        span = (arrive, arrive + hours(rng.uniform(0.5, 3.0)))
        if any(a <= span[0] and span[1] <= b for a, b in awake) and not overlaps(span, visits):
            visits.append(span)
    return visits


def _meals(rng: random.Random, midnights: list[dt.datetime],
           awake: list[Interval]) -> list[dt.datetime]:
    meals = []
    for midnight in midnights:
        for lo, hi in ((6.5, 9.5), (11.5, 13.0), (17.5, 19.5)):
            moment = midnight + hours(rng.uniform(lo, hi))
            if any(a <= moment < b for a, b in awake):
                meals.append(moment)
    return meals
