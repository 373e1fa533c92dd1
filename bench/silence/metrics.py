"""Scoring a replay's alert lines against the truth: false alerts and detection delays.

The replay prints one JSON object per alert change: ``at``, ``alert``, ``rule``,
``subject``, ``change``, ``reason``. Only lines whose ``subject`` is the resident count
(device rules name a device). For one resident's window (``Window``):

* a **false alert** is a ``raised`` change about the resident before T — or anywhere in
  the window when the run has no incident — whatever the rule and wherever the resident
  was (an "out and not back" alert during an unannounced trip counts); they are also
  counted by where the truth had the resident (home, out, away);
* the **detection** is the first alert about the resident ``raised`` at or after T and
  no later than T + 48 h; its delay is its time minus T. An incident with none is
  undetected;
* an incident where an alert about the resident, raised before T, was still open at T is
  counted apart (``open at T``) and left out of the delay and undetected figures: the
  detector was already alarming — falsely, counted above — and in real life a grid worker
  would have checked on the resident and closed it, which a replay cannot play.

``summarize`` gathers windows into figures: false alerts per resident-day (alerts over the
days scored before T), delay median and p90 by nearest rank over the scored incidents
with undetected ones counted as infinite (so a p90 past 48 h reads ``> 48 h``), and the
share of them undetected within 48 h.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.homes.model import STATES, Home

__all__ = ["HORIZON", "AlertLine", "Figures", "Score", "Window", "nearest_rank",
           "parse_alert_lines", "score_window", "summarize"]

HORIZON = dt.timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One line of the replay's output."""

    at: dt.datetime
    alert: str
    rule: str
    subject: str
    change: str
    reason: str | None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AlertLine:
        at = dt.datetime.fromisoformat(str(raw["at"]).replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise ValueError(f"alert time without offset: {raw['at']!r}")
        reason = raw.get("reason")
        return cls(at, str(raw["alert"]), str(raw["rule"]), str(raw["subject"]),
                   str(raw["change"]), None if reason is None else str(reason))


def parse_alert_lines(text: str) -> tuple[list[AlertLine], list[str]]:
    """The alert lines of a replay's stdout, and the lines that were not alerts."""
    lines, rejected = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            lines.append(AlertLine.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            rejected.append(line)
    return lines, rejected


@dataclass(frozen=True, slots=True)
class Window:
    """What one replay is scored on for one resident: their home and incident time, if any."""

    home: Home
    start: dt.datetime
    end: dt.datetime
    """End of the scored period without an incident (the data's end)."""
    incident_at: dt.datetime | None = None


@dataclass(slots=True)
class Score:
    """One resident's result in one replay."""

    resident: str
    exposure_days: float
    false_alerts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    incident: bool = False
    delay: dt.timedelta | None = None
    """Detection delay; None when undetected (or when no incident)."""
    open_at_incident: bool = False
    """An alert about the resident (raised before T) was still open at T."""

    @property
    def false_total(self) -> int:
        return sum(self.false_alerts.values())


def score_window(lines: Iterable[AlertLine], window: Window) -> Score:
    """Score ``lines`` (any order) for the resident of ``window``."""
    mine = sorted((x for x in lines if x.subject == window.home.resident), key=lambda x: x.at)
    t = window.incident_at
    fine_until = t if t is not None else window.end
    score = Score(window.home.resident, (fine_until - window.start).total_seconds() / 86400,
                  incident=t is not None)
    open_alerts: set[str] = set()
    for line in mine:
        if line.at < window.start:
            continue
        if line.at < fine_until:
            if line.change == "raised":
                state = window.home.state_at(line.at) or "home"
                score.false_alerts[state] += 1
                open_alerts.add(line.alert)
            elif line.change == "resolved":
                open_alerts.discard(line.alert)
            continue
        if t is None or line.at > t + HORIZON:
            break
        if line.change == "raised":
            score.delay = line.at - t
            break
    score.open_at_incident = t is not None and bool(open_alerts)
    return score


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by nearest rank (the ceil(q·n)-th smallest); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@dataclass(frozen=True, slots=True)
class Figures:
    """One row of the results table."""

    homes: int
    resident_days: float
    incidents: int
    exposure_days: float
    false_alerts: dict[str, int]
    delay_p50_h: float
    delay_p90_h: float
    undetected: float
    open_at_incident: int

    @property
    def false_total(self) -> int:
        return sum(self.false_alerts.values())

    @property
    def false_per_day(self) -> float:
        return self.false_total / self.exposure_days if self.exposure_days else math.nan


def summarize(scores: Iterable[Score], *, homes: int, resident_days: float) -> Figures:
    """Figures over ``scores``; ``homes`` and ``resident_days`` describe the data itself
    (distinct homes and their days, however many replays scored them)."""
    scores = list(scores)
    false: dict[str, int] = dict.fromkeys(STATES, 0)
    for s in scores:
        for state, n in s.false_alerts.items():
            false[state] += n
    incidents = [s for s in scores if s.incident]
    scored = [s for s in incidents if not s.open_at_incident]
    delays = [s.delay.total_seconds() / 3600 if s.delay is not None else math.inf
              for s in scored]
    undetected = sum(1 for s in scored if s.delay is None)
    return Figures(
        homes=homes, resident_days=resident_days, incidents=len(incidents),
        exposure_days=sum(s.exposure_days for s in scores), false_alerts=false,
        delay_p50_h=nearest_rank(delays, 0.5), delay_p90_h=nearest_rank(delays, 0.9),
        undetected=undetected / len(scored) if scored else math.nan,
        open_at_incident=len(incidents) - len(scored))
