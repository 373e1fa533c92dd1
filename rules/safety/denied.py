"""Repeated denied access: many refused attempts at one door within a short window.

At least ``denied_count`` ``access_denied`` events at one door within ``denied_window_min``
raise a warning about that door. Denials come in bursts: a burst is a run of denials with
less than the quiet period (``denied_quiet_min``) between consecutive ones. The alert
stands for the burst that is going on; each later denial at the door refreshes it, and it
resolves itself once the door has been quiet that long. A burst that is already over when
it is first seen (a backlog) raises nothing: it would resolve at the next evaluation.

The details carry the counts, the window and the credentials and person ids involved
(never names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from linli.settings import SafetySettings
from rules.framework import (
    ActiveAlert,
    Community,
    Conn,
    Firing,
    PushText,
    Resolution,
    earliest,
)
from rules.queries import ACTIVE_ALERTS
from rules.safety import queries
from rules.safety import texts as t
from rules.safety.events import (
    DoorEvent,
    History,
    Place,
    Tally,
    by_subject,
    iso,
    new_events,
    parse_time,
)
from rules.safety.loading import events_of_kinds, histories

RULE_NAME = "access_denied"
KIND = "access_denied"
SEVERITY = "warning"


@dataclass(frozen=True, slots=True)
class Limits:
    """How many denials, within how long, make a burst worth an alert."""

    count: int
    window: dt.timedelta
    quiet: dt.timedelta
    lookback: dt.timedelta

    @classmethod
    def from_settings(cls, settings: SafetySettings) -> Limits:
        return cls(count=settings.denied_count,
                   window=dt.timedelta(minutes=settings.denied_window_min),
                   quiet=dt.timedelta(minutes=settings.denied_quiet_min),
                   lookback=dt.timedelta(minutes=settings.lookback_min))


# --- pure decisions ----------------------------------------------------------------


def densest(times: Sequence[dt.datetime], window: dt.timedelta) -> int:
    """The most of ``times`` (sorted) that fit in any stretch of length ``window``."""
    best = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def trailing_burst(events: Sequence[DoorEvent], quiet: dt.timedelta) -> list[DoorEvent]:
    """The last run of ``events`` (sorted) with gaps shorter than ``quiet`` between them."""
    if not events:
        return []
    first = len(events) - 1
    while first > 0 and events[first].occurred_at - events[first - 1].occurred_at < quiet:
        first -= 1
    return list(events[first:])


def quiet_since(last: dt.datetime, now: dt.datetime, quiet: dt.timedelta) -> bool:
    """Whether nothing has happened for ``quiet`` since ``last``."""
    return now - last >= quiet


@dataclass(frozen=True, slots=True)
class Burst:
    """What a firing records: the tally and the most denials seen within the window."""

    tally: Tally
    most_in_window: int


def denied_burst(events: Sequence[DoorEvent], history: History, *, now: dt.datetime,
                 limits: Limits) -> Burst | None:
    """The burst the alert should record now, or None when the rule does not fire.

    With an open alert, every new denial refreshes it. Without one, the burst going on
    must hold ``limits.count`` denials within ``limits.window``.
    """
    new = new_events(events, history=history, now=now, lookback=limits.lookback)
    if not new:
        return None
    if history.open is not None:
        tally = Tally.from_details(history.open).add(new)
        listed = sorted(moment for e in tally.events
                        if (moment := parse_time(e.get("occurred_at"))) is not None)
        most = max(int(history.open.get("most_in_window") or 0),
                   densest(listed, limits.window))
        return Burst(tally=tally, most_in_window=most)
    burst = trailing_burst(new, limits.quiet)
    if quiet_since(burst[-1].occurred_at, now, limits.quiet):
        return None
    most = densest([e.occurred_at for e in burst], limits.window)
    if most < limits.count:
        return None
    return Burst(tally=Tally().add(burst), most_in_window=most)


def denied_details(place: Place, burst: Burst, limits: Limits) -> dict[str, Any]:
    """What the alert keeps: the door, the denials, and the limits they were judged by."""
    return {"reason": KIND, "kind": KIND, "severity": SEVERITY, **place.as_details(),
            **burst.tally.as_details(), "most_in_window": burst.most_in_window,
            "threshold": limits.count, "window_min": limits.window.total_seconds() / 60,
            "quiet_min": limits.quiet.total_seconds() / 60}


# --- the rule ----------------------------------------------------------------------


class RepeatedDeniedAccessRule:
    """多次验证失败: a burst of denied attempts at one door. Resolves itself when quiet."""

    name = RULE_NAME

    def __init__(self, settings: SafetySettings) -> None:
        self.limits = Limits.from_settings(settings)

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        """Denials within the lookback, grouped by door, judged against each door's history."""
        events = events_of_kinds(conn, community, [KIND], since=now - self.limits.lookback,
                                 until=now)
        groups = by_subject(events)
        history = histories(conn, community, self.name, groups)
        firings = []
        for subject, at_door in groups.items():
            burst = denied_burst(at_door, history[subject], now=now, limits=self.limits)
            if burst is None:
                continue
            place = at_door[-1].place
            firings.append(Firing(subject=subject,
                                  details=denied_details(place, burst, self.limits),
                                  grid=place.grid, building=place.building, severity=SEVERITY))
        return firings

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        """An open alert's door falls quiet; raising waits for denials (events)."""
        rows = conn.execute(ACTIVE_ALERTS, {"community": community, "rule": self.name})
        lasts = [Tally.from_details(row["details"]).last_event_at for row in rows.fetchall()]
        return earliest(now, *(last + self.limits.quiet for last in lasts if last))

    def should_resolve(
        self, conn: Conn, community: Community, alert: ActiveAlert, now: dt.datetime
    ) -> Resolution | None:
        """Resolve once the door has had no denial for the quiet period."""
        d = alert.details
        recorded = Tally.from_details(d).last_event_at
        if recorded is None or not d.get("building") or not d.get("device"):
            return None
        row = conn.execute(queries.LAST_EVENT_AT, {
            "community": community.id, "building": d["building"], "device": d["device"],
            "kinds": [KIND], "since": recorded, "until": now,
        }).fetchone()
        last = max(recorded, row["last_at"]) if row and row["last_at"] else recorded
        if not quiet_since(last, now, self.limits.quiet):
            return None
        note = t.text("access_denied.resolved", community.locale,
                      quiet=_minutes(self.limits.quiet),
                      time=t.local_time(last, community.tz, community.locale))
        return Resolution(note=note, data={"last_denied_at": iso(last),
                                           "quiet_min": self.limits.quiet.total_seconds() / 60})

    def title(self, firing: Firing, locale: str) -> str:
        """``多次验证失败：3栋1单元门禁``."""
        return t.alert_title(t.text("access_denied.title", locale), firing.details, locale)

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        """Where, how many within how long and when, with which credentials, what to do."""
        d = alert.details
        tally = Tally.from_details(d)
        tz = community.tz
        lines = [t.text("access_denied.what", locale, where=t.where(d, locale),
                        window=_minutes(self.limits.window, d.get("window_min")),
                        most=d.get("most_in_window", tally.event_count),
                        count=tally.event_count,
                        first=t.local_time(tally.first_event_at, tz, locale),
                        last=t.local_time(tally.last_event_at, tz, locale))]
        if tally.credentials:
            lines.append(t.text("credentials", locale,
                                credentials=t.credentials(tally.credentials, locale)))
        if tally.person_ids:
            lines.append(t.people(tally.person_ids, locale))
        lines.append(t.text("access_denied.action", locale,
                            quiet=_minutes(self.limits.quiet, d.get("quiet_min"))))
        title = t.alert_title(t.text("access_denied.title", locale), d, locale)
        return PushText(title=t.push_title(title, SEVERITY, alert.tier, locale),
                        body=t.push_body(lines, alert_id=alert.id, tier=alert.tier,
                                         auto_resolves=True, locale=locale))


def _minutes(default: dt.timedelta, recorded: Any = None) -> str:
    """``10`` / ``2.5``: what the alert recorded, else the current setting."""
    minutes = float(recorded) if isinstance(recorded, int | float) else (
        default.total_seconds() / 60)
    return f"{minutes:g}"
