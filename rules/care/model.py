"""The silence model: what is usual for one resident, and when the present silence is not.

Everything here is pure (no I/O), so it is tested and tuned on recorded homes directly.

A resident's *signals* are the signs of life their home gives: passages through a door
(with a direction where the terminal reports one, without where a contact sensor or a
direction-less record gives none) and in-home activity (a water meter, a motion sensor).
Between two signals lies a *gap*; its *kind* is the kind of the signal that opened it,
because that signal says where the person probably is during the gap:

- ``activity``: something moved inside the home: the resident is at home;
- ``door_in``: they came in: at home;
- ``door_out``: they went out;
- ``door``: the door was used, direction unknown: out, or at home without a sign.

For each gap kind the model keeps, per half-hour slot of the local day, the longest
silence that was *in progress* at that time of day over the last weeks (Cuddihy et al.
2007 learn the same per time of day), then widens it: a silence may run up to ``shift``
longer than any seen in a comparable slot (someone sleeping in by two hours), times
``factor``, plus ``margin``. A gap longer than the hard backstop is never learned (it was
alerted, or it was a trip), nor is a gap inside a registered absence. Until a resident has
``full_days`` of history the thresholds lean on a prior (the community's, else a cautious
built-in one), so a new resident is never alerted at once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SLOT_MINUTES = 30
SLOTS = 24 * 60 // SLOT_MINUTES
HOUR = 3600.0


class SignalKind(StrEnum):
    ACTIVITY = "activity"
    DOOR_IN = "door_in"
    DOOR_OUT = "door_out"
    DOOR = "door"
    """A door used with no direction known (a contact sensor, a direction-less record)."""
    VISIT = "visit"
    """A person (grid worker, family) checked on the resident and closed an alert."""


GAP_KINDS = (SignalKind.ACTIVITY, SignalKind.DOOR_IN, SignalKind.DOOR_OUT, SignalKind.DOOR)


def judged_kind(kind: SignalKind) -> SignalKind:
    """The gap kind a signal opens: a visit is judged like activity (someone saw the
    resident at home)."""
    return SignalKind.ACTIVITY if kind is SignalKind.VISIT else kind


def inferred_out(kind: SignalKind, *, has_activity: bool) -> bool:
    """In a home with sensors, quiet after a direction-less door means nobody is in."""
    return kind is SignalKind.DOOR and has_activity


@dataclass(frozen=True, slots=True)
class Signal:
    at: dt.datetime
    kind: SignalKind


@dataclass(frozen=True, slots=True)
class Params:
    """The detector's settings (``linli.settings.SilenceSettings`` fills them)."""

    window_days: float = 28.0
    full_days: float = 10.0
    """History after which the resident's own thresholds are used alone."""
    min_days: float = 3.0
    """Below this much history only the prior counts."""
    shift_h: float = 2.0
    factor: float = 1.2
    margin_h: float = 1.0
    door_factor: float = 1.5
    door_margin_h: float = 4.0
    door_floor_h: float = 24.0
    """No silence seen only at the door is unusual below this (missing a usual outing
    alone is no emergency)."""
    """Silence at (or possibly at) home seen only at the door: a day without going out is
    common, so this may want more room than a silence inside the home."""
    floor_h: float = 2.0
    """No threshold at home is shorter than this (a very regular day still has rests)."""
    out_floor_h: float = 10.0
    """Nobody seen going out is reported "not back" sooner than this: outings vary far more
    than rests."""
    inferred_out_floor_h: float = 24.0
    """Nor anybody only believed out (a direction-less door, then no activity at home) sooner
    than this: an unannounced night away is common, a fall right after coming in rare."""
    backstop_h: float = 47.0
    """Silence this long always alerts (and is never learned as usual)."""
    night_floor_h: float = 8.0
    """At night (``night_hours``) no silence at home shorter than this is unusual: a night
    without the usual trip to the toilet is no emergency."""
    night_hours: tuple[int, int] = (22, 8)
    min_samples: int = 3
    """Days a slot must have been seen in a gap kind before its own figure is trusted."""


@dataclass(slots=True)
class Baseline:
    """What one resident's history says: per gap kind, per slot, the longest silence (h)."""

    history_days: float
    longest: dict[str, list[float | None]] = field(default_factory=dict)
    samples: dict[str, list[int]] = field(default_factory=dict)
    has_activity: bool = False
    """The home produced in-home activity in the window (a sensor is installed)."""

    def to_json(self) -> dict[str, Any]:
        return {"history_days": round(self.history_days, 3), "has_activity": self.has_activity,
                "longest": {k: [None if v is None else round(v, 3) for v in vals]
                            for k, vals in self.longest.items()},
                "samples": self.samples}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Baseline:
        return cls(history_days=float(data.get("history_days", 0.0)),
                   longest={k: list(v) for k, v in (data.get("longest") or {}).items()},
                   samples={k: list(v) for k, v in (data.get("samples") or {}).items()},
                   has_activity=bool(data.get("has_activity", False)))


EMPTY = Baseline(history_days=0.0)


def slot_of(moment: dt.datetime, tz: dt.tzinfo) -> int:
    local = moment.astimezone(tz)
    return (local.hour * 60 + local.minute) // SLOT_MINUTES


# --- learning ----------------------------------------------------------------------


def learn(signals: Iterable[Signal], *, now: dt.datetime, tz: dt.tzinfo, params: Params,
          excluded: Sequence[tuple[dt.datetime, dt.datetime]] = ()) -> Baseline:
    """The baseline from signals in ``[now - window, now]`` (any order, duplicates fine).

    ``excluded`` are periods not to learn from (registered absences): a gap overlapping
    one is skipped. The gap still open at ``now`` is not learned.
    """
    start = now - dt.timedelta(days=params.window_days)
    ordered = sorted({(s.at, s.kind) for s in signals if start <= s.at <= now})
    longest: dict[str, list[float | None]] = {k.value: [None] * SLOTS for k in GAP_KINDS}
    days: dict[str, list[set[dt.date]]] = {k.value: [set() for _ in range(SLOTS)]
                                           for k in GAP_KINDS}
    if not ordered:
        return Baseline(history_days=0.0, longest=longest,
                        samples={k: [0] * SLOTS for k in longest})
    step = dt.timedelta(minutes=SLOT_MINUTES)
    backstop = dt.timedelta(hours=params.backstop_h)
    has_activity = any(k is SignalKind.ACTIVITY for _, k in ordered)
    for (opened, kind), (closed, _) in itertools.pairwise(ordered):
        if closed - opened >= backstop or _overlaps(opened, closed, excluded):
            continue
        key = judged_kind(kind).value
        # Sample the gap at every slot boundary it spans: how long the silence had lasted.
        local = opened.astimezone(tz)
        first = local.replace(second=0, microsecond=0,
                              minute=(local.minute // SLOT_MINUTES) * SLOT_MINUTES) + step
        moment = first
        while moment < closed:
            slot = (moment.hour * 60 + moment.minute) // SLOT_MINUTES
            elapsed = (moment - opened).total_seconds() / HOUR
            current = longest[key][slot]
            if current is None or elapsed > current:
                longest[key][slot] = elapsed
            days[key][slot].add(moment.date())
            moment = (moment + step).astimezone(tz)
    history = (now - ordered[0][0]).total_seconds() / 86400.0
    return Baseline(history_days=min(history, params.window_days), longest=longest,
                    samples={k: [len(d) for d in v] for k, v in days.items()},
                    has_activity=has_activity)


def _overlaps(start: dt.datetime, end: dt.datetime,
              periods: Sequence[tuple[dt.datetime, dt.datetime]]) -> bool:
    return any(a < end and start < b for a, b in periods)


# --- thresholds --------------------------------------------------------------------


PRIOR_BEDTIME = 19
PRIOR_HOURS: dict[str, tuple[float, ...]] = {}
"""Built-in prior, per gap kind, per hour of the local day: the longest silence that is
usual for an older person living alone (a cautious guess, filled below)."""


def _night_aware(day_h: float, bed: int = 21, rise: int = 11) -> tuple[float, ...]:
    # At home: in the daytime up to ``day_h``; at night, everything since ``bed``.
    hours = []
    for hour in range(24):
        since_bed = (hour - bed) % 24
        hours.append(max(day_h, float(since_bed + 1)) if since_bed <= (rise - bed) % 24
                     else day_h)
    return tuple(hours)


PRIOR_HOURS.update({
    SignalKind.ACTIVITY.value: _night_aware(6.0, bed=PRIOR_BEDTIME),
    SignalKind.DOOR_IN.value: (36.0,) * 24,
    SignalKind.DOOR.value: (36.0,) * 24,
    SignalKind.DOOR_OUT.value: (14.0,) * 24,
})


def prior_longest(kind: str, slot: int) -> float:
    return PRIOR_HOURS[kind][slot * SLOT_MINUTES // 60]


def widened(longest: Sequence[float | None], samples: Sequence[int], slot: int,
            params: Params) -> float | None:
    """max over δ in [0, shift] of longest[slot − δ] + δ, from slots with enough samples."""
    best: float | None = None
    steps = int(params.shift_h * 60 // SLOT_MINUTES)
    for back in range(steps + 1):
        index = (slot - back) % SLOTS
        value = longest[index]
        if value is None or samples[index] < params.min_samples:
            continue
        candidate = value + back * SLOT_MINUTES / 60
        best = candidate if best is None else max(best, candidate)
    return best


@dataclass(frozen=True, slots=True)
class Threshold:
    """When a silence of one gap kind becomes unusual at one slot, and why."""

    hours: float
    """Silence beyond this is unusual."""
    longest_h: float
    """The longest usual silence it was widened from (what a person is told)."""
    source: str
    """``own``, ``blend`` (own history still mixed with the prior), ``community`` or
    ``default`` (the built-in prior)."""


def threshold(baseline: Baseline, kind: SignalKind, slot: int, params: Params,
              prior: Baseline | None = None, *, floor_h: float | None = None,
              prior_as: SignalKind | None = None) -> Threshold:
    """The threshold for a silence opened by ``kind`` (as judged) at ``slot``; ``floor_h``
    defaults to the one for the kind (``out_floor_h`` for going out, else ``floor_h``), and
    the prior is the kind's own unless ``prior_as`` names another."""
    key = kind.value
    prior_longest_h, source = _prior((prior_as or kind).value, slot, params, prior)
    factor, margin = ((params.door_factor, params.door_margin_h)
                      if (prior_as or kind) in (SignalKind.DOOR_IN, SignalKind.DOOR)
                      else (params.factor, params.margin_h))
    fallback = prior_longest_h * factor + margin
    own = None
    if baseline.history_days >= params.min_days and key in baseline.longest:
        own = widened(baseline.longest[key], baseline.samples[key], slot, params)
    longest = prior_longest_h
    if own is None:
        value = fallback
    else:
        own_threshold = own * factor + margin
        weight = min(1.0, (baseline.history_days - params.min_days)
                     / max(params.full_days - params.min_days, 1e-9))
        value = weight * own_threshold + (1 - weight) * max(fallback, own_threshold)
        longest = weight * own + (1 - weight) * max(prior_longest_h, own)
        source = "own" if weight >= 1.0 else "blend"
    if floor_h is None:
        floor_h = {SignalKind.DOOR_OUT: params.out_floor_h,
                   SignalKind.DOOR_IN: params.door_floor_h,
                   SignalKind.DOOR: params.door_floor_h}.get(kind, params.floor_h)
        if kind is SignalKind.ACTIVITY and _at_night(slot, params.night_hours):
            floor_h = max(floor_h, params.night_floor_h)
    return Threshold(min(max(value, floor_h), params.backstop_h), longest, source)


def _at_night(slot: int, hours: tuple[int, int]) -> bool:
    start, end = hours
    hour = slot * SLOT_MINUTES // 60
    return hour >= start or hour < end if start > end else start <= hour < end


def _prior(key: str, slot: int, params: Params, prior: Baseline | None) -> tuple[float, str]:
    if prior is not None and key in prior.longest:
        value = widened(prior.longest[key], prior.samples[key], slot, params)
        if value is not None:
            return value, "community"
    return prior_longest(key, slot), "default"


def community_prior(baselines: Sequence[Baseline], params: Params) -> Baseline | None:
    """Per kind and slot, the median of established residents' longest silences."""
    settled = [b for b in baselines if b.history_days >= params.full_days]
    if len(settled) < 3:
        return None
    longest: dict[str, list[float | None]] = {}
    samples: dict[str, list[int]] = {}
    for key in (k.value for k in GAP_KINDS):
        longest[key], samples[key] = [], []
        for slot in range(SLOTS):
            values = sorted(v for b in settled
                            if (v := b.longest.get(key, [None] * SLOTS)[slot]) is not None
                            and b.samples[key][slot] >= params.min_samples)
            longest[key].append(values[len(values) // 2] if len(values) >= 3 else None)
            samples[key].append(params.min_samples if len(values) >= 3 else 0)
    return Baseline(history_days=params.full_days, longest=longest, samples=samples)


# --- the present -------------------------------------------------------------------


class Place(StrEnum):
    HOME = "home"
    OUT = "out"
    AWAY = "away"
    UNKNOWN = "unknown"


class Finding(StrEnum):
    SILENT_AT_HOME = "silent_at_home"
    """At home (or possibly at home) and silent for longer than is usual."""
    NOT_BACK = "not_back"
    """Went out and has not come back long after their usual return."""
    BACKSTOP = "backstop"
    """No sign of life at all for the hard backstop."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """The resident's present, as the rule and the explanation see it."""

    place: Place
    last: Signal | None
    silent_h: float
    usual: Threshold
    """What the present silence is compared with."""
    finding: Finding | None

    def to_json(self) -> dict[str, Any]:
        return {"place": self.place.value, "silent_h": round(self.silent_h, 2),
                "threshold_h": round(self.usual.hours, 2),
                "usual_longest_h": round(self.usual.longest_h, 2),
                "usual_source": self.usual.source,
                "last_kind": self.last.kind.value if self.last else None,
                "last_at": self.last.at.isoformat() if self.last else None,
                "finding": self.finding.value if self.finding else None}


def place_of(last: Signal | None, *, has_activity: bool, silent_h: float,
             usual_out_h: float) -> Place:
    """Where the resident probably is, from the kind of their last signal."""
    if last is None:
        return Place.UNKNOWN
    kind = judged_kind(last.kind)
    if kind is SignalKind.ACTIVITY or kind is SignalKind.DOOR_IN:
        return Place.HOME
    if kind is SignalKind.DOOR_OUT or inferred_out(kind, has_activity=has_activity):
        return Place.AWAY if silent_h > usual_out_h else Place.OUT
    return Place.UNKNOWN


def assess(last: Signal | None, *, now: dt.datetime, tz: dt.tzinfo, baseline: Baseline,
           params: Params, prior: Baseline | None = None, since: dt.datetime | None = None,
           has_activity: bool | None = None) -> Assessment:
    """Judge the present silence. ``since`` is when watching began for a resident never
    seen (registration): they are only judged by the backstop."""
    activity_home = baseline.has_activity if has_activity is None else has_activity
    slot = slot_of(now, tz)
    finding: Finding | None
    if last is None:
        silent = _hours(now - since) if since is not None else 0.0
        finding = Finding.BACKSTOP if silent >= params.backstop_h else None
        backstop = Threshold(params.backstop_h, params.backstop_h, "backstop")
        return Assessment(Place.UNKNOWN, None, silent, backstop, finding)
    silent = _hours(now - last.at)
    kind = judged_kind(last.kind)
    believed_out = inferred_out(kind, has_activity=activity_home)
    usual = (threshold(baseline, kind, slot, params, prior,
                       floor_h=params.inferred_out_floor_h, prior_as=SignalKind.DOOR_OUT)
             if believed_out else threshold(baseline, kind, slot, params, prior))
    out = kind is SignalKind.DOOR_OUT or believed_out
    place = place_of(last, has_activity=activity_home, silent_h=silent,
                     usual_out_h=usual.hours if out else params.backstop_h)
    finding = None
    if silent >= params.backstop_h:
        finding = Finding.BACKSTOP
    elif silent > usual.hours and not math.isclose(silent, usual.hours):
        finding = Finding.NOT_BACK if out else Finding.SILENT_AT_HOME
    return Assessment(place, last, silent, usual, finding)


def _hours(delta: dt.timedelta) -> float:
    return max(delta.total_seconds(), 0.0) / HOUR
