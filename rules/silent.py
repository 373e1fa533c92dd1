"""The fixed silence rules Linli's adaptive detector (``rules.care``) is compared with.

``day`` is the rule Chinese deployments use ("no entry or exit today", checked in the
evening), ``24h`` and ``48h`` fire after that long without a sign of life; the default
settings of this class combine the first two. Choose one with
``LINLI_RULES__SILENCE__DETECTOR``; the evaluation in ``bench/`` replays all of them.

It fires for a watched resident (``is_elderly AND lives_alone AND active``) when either
(a) the community's local time is past its check time and the resident has not passed
a door since local midnight, or (b) the resident has not been seen for ``max_hours``
(counted from registration when never seen). It reads ``presence`` (one row per
resident), never ``events``. The alert resolves itself when the resident is seen after
what the alert recorded and the new sighting no longer makes the rule fire.

The decisions are pure functions of their arguments; ``SilentResidentRule`` only loads
state and calls them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from linli.settings import RulesSettings
from rules import queries
from rules import texts as t
from rules.framework import (
    ActiveAlert,
    Community,
    Conn,
    Firing,
    PushText,
    Resolution,
    earliest,
)

RULE_NAME = "silent_resident"


class Reason(StrEnum):
    NOT_SEEN_TODAY = "not_seen_today"
    NOT_SEEN_HOURS = "not_seen_hours"


@dataclass(frozen=True, slots=True)
class Clock:
    """The settings one community's silence is judged by."""

    tz: dt.tzinfo
    check_at: dt.time | None
    """None: no daily check, only ``max_hours``."""
    max_hours: float


# --- pure decisions ----------------------------------------------------------------


def local_midnight(now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The start of ``now``'s local day in ``tz``, as an aware datetime."""
    local = now.astimezone(tz)
    return dt.datetime.combine(local.date(), dt.time(0), tzinfo=tz)


def check_time_passed(now: dt.datetime, clock: Clock) -> bool:
    """Whether the local time of day has reached the check time (never without one)."""
    if clock.check_at is None:
        return False
    return now.astimezone(clock.tz).time() >= clock.check_at


def last_sign_of_life(
    last_seen_at: dt.datetime | None, visited_at: dt.datetime | None
) -> dt.datetime | None:
    """The later of the last passage and the last visit a person confirmed."""
    known = [moment for moment in (last_seen_at, visited_at) if moment is not None]
    return max(known) if known else None


def silent_reason(
    *,
    now: dt.datetime,
    clock: Clock,
    last_seen_at: dt.datetime | None,
    registered_at: dt.datetime,
    visited_at: dt.datetime | None = None,
) -> Reason | None:
    """Why the rule fires for this resident at ``now``, or None when it does not.

    The 24-hour kind wins over the daily one: it is the stronger statement.
    """
    alive = last_sign_of_life(last_seen_at, visited_at)
    since = alive if alive is not None else registered_at
    if now - since >= dt.timedelta(hours=clock.max_hours):
        return Reason.NOT_SEEN_HOURS
    if check_time_passed(now, clock) and (alive is None or alive < local_midnight(now, clock.tz)):
        return Reason.NOT_SEEN_TODAY
    return None


def seen_again(recorded: dt.datetime | None, current: dt.datetime | None) -> bool:
    """Whether presence moved past what an alert recorded (any sighting when it had none)."""
    if current is None:
        return False
    return recorded is None or current > recorded


# --- state -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResidentState:
    """One resident's row from ``queries.WATCHED_RESIDENTS`` / ``RESIDENT_STATE``."""

    row: dict[str, Any]

    @property
    def last_seen_at(self) -> dt.datetime | None:
        value: dt.datetime | None = self.row["last_seen_at"]
        return value

    def where(self) -> dict[str, Any] | None:
        """Building, device and direction of the last passage, with display names."""
        row = self.row
        if row["seen_device"] is None:
            return None
        return {"building": row["seen_building"], "building_name": row["seen_building_name"],
                "device": row["seen_device"], "device_name": row["seen_device_name"],
                "direction": row["seen_direction"]}

    def reason(self, now: dt.datetime, clock: Clock) -> Reason | None:
        return silent_reason(now=now, clock=clock, last_seen_at=self.last_seen_at,
                             registered_at=self.row["created_at"],
                             visited_at=self.row["visited_at"])

    def details(self, now: dt.datetime, clock: Clock, reason: Reason) -> dict[str, Any]:
        """What the alert keeps: enough for the worker without another lookup, but no
        phone numbers (contacts are read at the time they are needed, through the API)."""
        row = self.row
        alive = last_sign_of_life(self.last_seen_at, row["visited_at"]) or row["created_at"]
        return {
            "resident": row["id"],
            "name": row["name"],
            "reason": reason.value,
            "last_seen_at": _iso(self.last_seen_at),
            "where": self.where(),
            "visited_at": _iso(row["visited_at"]),
            "registered_at": _iso(row["created_at"]),
            "hours_unseen": round((now - alive).total_seconds() / 3600, 1),
            "home": {"household": row["household"], "building": row["home_building"],
                     "building_name": row["home_building_name"], "unit": row["unit"],
                     "unit_name": row["unit_name"], "room": row["room"]},
            "care_level": row["care_level"],
            "check_at": clock.check_at.strftime("%H:%M") if clock.check_at else None,
            "max_hours": clock.max_hours,
            "timezone": str(clock.tz),
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def _hours_label(hours: float) -> str:
    return f"{hours:g}"


# --- the rule ----------------------------------------------------------------------


class SilentResidentRule:
    """Elderly residents living alone who have not been seen today / for too long."""

    name = RULE_NAME

    def __init__(self, settings: RulesSettings) -> None:
        self._default_check_at: dt.time | None = settings.silent_check_at
        self._default_max_hours = settings.silent_max_hours
        self._fixed = False
        self._seen: tuple[str, dt.datetime, Clock, list[dict[str, Any]]] | None = None

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        """The next moment a resident's silence reaches ``max_hours``, the check time or
        midnight comes (None when this rule did not just evaluate ``community``)."""
        if self._seen is None or self._seen[:2] != (community, now):
            return None
        _, _, clock, rows = self._seen
        midnight = local_midnight(now, clock.tz)
        moments = [midnight + dt.timedelta(days=1)]
        if clock.check_at is not None:
            check = dt.datetime.combine(midnight.date(), clock.check_at, tzinfo=clock.tz)
            moments += [check, check + dt.timedelta(days=1)]
        limit = dt.timedelta(hours=min(clock.max_hours, 24.0 * 365))
        for row in rows:
            alive = last_sign_of_life(row["last_seen_at"], row["visited_at"])
            moments.append((alive or row["created_at"]) + limit)
        return earliest(now, *moments)

    @classmethod
    def fixed(cls, settings: RulesSettings, detector: str) -> SilentResidentRule:
        """One of the fixed rules alone: ``day`` (check time, no hour limit), ``24h``, ``48h``
        (hour limit, no daily check); community overrides do not apply."""
        rule = cls(settings)
        rule._fixed = True
        if detector == "day":
            rule._default_max_hours = 24.0 * 365
        else:
            rule._default_check_at = None
            rule._default_max_hours = float(detector.removesuffix("h"))
        return rule

    def clock(self, community: Community) -> Clock:
        """The community's check time and limit, else the service defaults."""
        if self._fixed:
            return Clock(tz=community.tz, check_at=self._default_check_at,
                         max_hours=self._default_max_hours)
        return Clock(tz=community.tz,
                     check_at=community.silent_check_at or self._default_check_at,
                     max_hours=community.silent_max_hours or self._default_max_hours)

    def _params(self, community: Community, now: dt.datetime, clock: Clock) -> dict[str, Any]:
        # Visits older than both windows cannot change a decision; bound the scan.
        visits_since = min(local_midnight(now, clock.tz),
                           now - dt.timedelta(hours=min(clock.max_hours, 24.0 * 365)))
        return {"community": community.id, "rule": self.name, "visits_since": visits_since}

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        """One query over the watched residents and their presence rows."""
        clock = self.clock(community)
        rows = conn.execute(queries.WATCHED_RESIDENTS,
                            self._params(community, now, clock)).fetchall()
        self._seen = (community.id, now, clock, rows)
        firings = []
        for row in rows:
            state = ResidentState(row)
            reason = state.reason(now, clock)
            if reason is not None:
                firings.append(Firing(subject=row["id"], details=state.details(now, clock, reason),
                                      grid=row["grid"], building=row["home_building"]))
        return firings

    def should_resolve(
        self, conn: Conn, community: Community, alert: ActiveAlert, now: dt.datetime
    ) -> Resolution | None:
        """Resolve once the resident is seen after the alert's record and no longer silent."""
        clock = self.clock(community)
        params = self._params(community, now, clock) | {"resident": alert.subject}
        row = conn.execute(queries.RESIDENT_STATE, params).fetchone()
        if row is None:
            return None
        state = ResidentState(row)
        if not seen_again(_parse(alert.details.get("last_seen_at")), state.last_seen_at):
            return None
        # A late record from before midnight moves presence without ending the silence:
        # the alert stays, and the next firing refreshes what it recorded.
        if row["watched"] and state.reason(now, clock) is not None:
            return None
        where = t.describe_where(state.where(), community.locale)
        note = t.text("silent.resolved", community.locale,
                      time=t.local_time(state.last_seen_at, community.tz, community.locale),
                      where=where)
        return Resolution(note=note, data={"last_seen_at": _iso(state.last_seen_at),
                                           "device": row["seen_device"],
                                           "building": row["seen_building"],
                                           "direction": row["seen_direction"]})

    def title(self, firing: Firing, locale: str) -> str:
        """``独居老人今日未出现：张桂英``."""
        return t.text("silent.alert_title", locale, title=self._headline(firing.details, locale),
                      name=firing.details.get("name", firing.subject))

    def _headline(self, details: dict[str, Any], locale: str) -> str:
        if details.get("reason") == Reason.NOT_SEEN_HOURS.value:
            return t.text("silent.title.not_seen_hours", locale,
                          hours=_hours_label(float(details.get("max_hours", 24))))
        return t.text("silent.title.not_seen_today", locale)

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        """Title ``【邻里】独居老人今日未出现``; the body says who, where, since when, what to do
        (the dispatch adds the link to the alert, behind which are the phones)."""
        d = alert.details
        tz = community.tz
        lines = []
        if alert.tier > 1:
            lines.append(t.text("push.escalated", locale, tier=alert.tier))
        lines.append(t.text("silent.who", locale, name=d.get("name", alert.subject),
                            home=t.describe_home(d.get("home"), locale)))
        if d.get("last_seen_at"):
            lines.append(t.text("silent.last_seen", locale,
                                time=t.local_time(d["last_seen_at"], tz, locale),
                                where=t.describe_where(d.get("where"), locale)))
        else:
            lines.append(t.text("silent.never_seen", locale,
                                time=t.local_time(d.get("registered_at"), tz, locale)))
        if d.get("visited_at"):
            lines.append(t.text("silent.visited", locale,
                                time=t.local_time(d["visited_at"], tz, locale)))
        lines.append(t.text("silent.care_level", locale, level=d.get("care_level", 0)))
        lines.append(t.text("contacts_link", locale))
        lines.append(t.text("push.action", locale, alert_id=alert.id))
        title = t.push_title(self._headline(d, locale), alert.tier, locale)
        return PushText(title=title, body="\n".join(lines))
