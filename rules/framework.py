"""The small rule framework: what a rule is, what it returns, and the community it runs in.

A rule is an object with a ``name`` and four methods (``Rule`` below). The engine
(``rules.engine``) calls ``should_resolve`` for each of the rule's active alerts, then
``evaluate`` for new firings, and turns firings into alerts (one active alert per
community, rule and subject). ``message`` renders the push text for one alert, so that a
new rule (door forced or held open, repeated denied access, tailgating, device offline)
plugs in by adding one class to ``default_rules``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

from linli.pushes import PushText as PushText  # shared with the API, re-exported for rules
from linli.settings import Settings

log = logging.getLogger(__name__)

Conn = psycopg.Connection[dict[str, Any]]
"""A sync connection whose rows are dicts (``linli.db.connect`` makes them)."""


@dataclass(frozen=True, slots=True)
class Community:
    """A community as the rules see it: its clock, its overrides and its language."""

    id: str
    name: str
    tz: ZoneInfo
    locale: str
    silent_check_at: dt.time | None = None
    silent_max_hours: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any], settings: Settings) -> Community:
        """Build from a ``communities`` row; an unknown time zone falls back to the default."""
        try:
            tz = ZoneInfo(row["timezone"] or settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("community %s: unknown time zone %r, using %s",
                        row["id"], row["timezone"], settings.timezone)
            tz = ZoneInfo(settings.timezone)
        max_hours = row.get("silent_max_hours")
        return cls(
            id=row["id"],
            name=row["name"],
            tz=tz,
            locale=row.get("locale") or settings.locale,
            silent_check_at=row.get("silent_check_at"),
            silent_max_hours=float(max_hours) if max_hours is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Firing:
    """One subject for which a rule fires now, with what the alert should carry."""

    subject: str
    details: dict[str, Any]
    grid: str | None = None
    building: str | None = None
    severity: str = "warning"


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """An open or acknowledged alert, as ``should_resolve`` and ``message`` see it."""

    id: int
    rule: str
    subject: str
    status: str
    tier: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Why an alert's cause went away: the timeline note and structured data."""

    note: str
    data: dict[str, Any] = field(default_factory=dict)


class Rule(Protocol):
    """What the engine needs from a rule. Implementations live in ``rules/<name>.py``."""

    name: str

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        """The subjects for which the rule fires at ``now`` (reads the database only)."""
        ...

    def should_resolve(
        self, conn: Conn, community: Community, alert: ActiveAlert, now: dt.datetime
    ) -> Resolution | None:
        """A Resolution when the alert's cause has gone away, else None."""
        ...

    def title(self, firing: Firing, locale: str) -> str:
        """The alert's title (stored in ``alerts.title``) in ``locale``."""
        ...

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        """The push text for ``alert`` in ``locale`` (the tier is in ``alert.tier``)."""
        ...


@runtime_checkable
class Timed(Protocol):
    """A rule that can say until when nothing it decides can change without new events.

    A replay evaluates the minutes in between only from then on (``rules.replay``); a rule
    without ``quiet_until`` is evaluated every simulated minute.
    """

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        """Nothing changes before the returned moment unless events arrive (None: unknown)."""
        ...


def next_quarter_hour(now: dt.datetime) -> dt.datetime:
    """The next quarter-hour boundary after ``now``: an upper bound for any hint, since
    time-of-day thresholds change on local half hours (every time zone's offset is a
    multiple of a quarter hour)."""
    base = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    return base + dt.timedelta(minutes=15 - base.minute % 15)


def earliest(now: dt.datetime, *moments: dt.datetime | None) -> dt.datetime:
    """The earliest of ``moments`` still ahead of ``now``, never later than the next
    quarter hour."""
    ahead = [m for m in moments if m is not None and m > now]
    return min([next_quarter_hour(now), *ahead])
