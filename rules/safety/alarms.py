"""Door and device alarms: duress, tamper, door forced open, door held open.

Each alarm event raises an alert about its device at once (subject ``"{building}/{device}"``);
another alarm of the same kind at the same device while that alert is open refreshes it
and adds to its count. Duress (critical), tamper and a forced door (high) stay open until a
person closes them. A door held open (warning) resolves itself when the door shuts again:
a later ``door_closed``, or a ``passage`` through it (the door works again).

What counts as new is decided in ``rules.safety.events``: nothing older than the lookback,
and nothing an earlier alert on the same device already covered.
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
from rules.safety import queries
from rules.safety import texts as t
from rules.safety.events import DoorEvent, History, Place, Tally, by_subject, iso, new_events
from rules.safety.loading import events_of_kinds, histories


@dataclass(frozen=True, slots=True)
class Alarm:
    """One kind of alarm event and the alert it raises."""

    rule: str
    kind: str
    severity: str
    show_people: bool = False
    """List the person ids the events name (a duress finger or code names its owner)."""


DURESS = Alarm(rule="duress", kind="duress", severity="critical", show_people=True)
TAMPER = Alarm(rule="tamper", kind="tamper", severity="high")
DOOR_FORCED = Alarm(rule="door_forced", kind="door_forced", severity="high")
DOOR_HELD_OPEN = Alarm(rule="door_held_open", kind="door_held_open", severity="warning")


# --- pure decisions ----------------------------------------------------------------


def alarm_tally(events: Sequence[DoorEvent], history: History, *, now: dt.datetime,
                lookback: dt.timedelta) -> Tally | None:
    """The open alert's tally with the new alarms added, or None when nothing is new."""
    new = new_events(events, history=history, now=now, lookback=lookback)
    if not new:
        return None
    return Tally.from_details(history.open).add(new)


def still_held_open(last_held_at: dt.datetime, shut_at: dt.datetime | None) -> bool:
    """Whether a door reported held open at ``last_held_at`` has not shut since.

    A close stamped in the same instant counts as shutting: the device reported both.
    """
    return shut_at is None or shut_at < last_held_at


def alarm_details(alarm: Alarm, place: Place, tally: Tally,
                  lookback: dt.timedelta) -> dict[str, Any]:
    """What the alert keeps: the device, the events, and the lookback it was judged by."""
    return {"reason": alarm.kind, "kind": alarm.kind, "severity": alarm.severity,
            **place.as_details(), **tally.as_details(),
            "lookback_min": lookback.total_seconds() / 60}


# --- the rules ---------------------------------------------------------------------


class AlarmRule:
    """Alarms a person closes: one alert per device, refreshed by each new alarm there."""

    auto_resolves = False

    def __init__(self, alarm: Alarm, settings: SafetySettings) -> None:
        self.name = alarm.rule
        self.alarm = alarm
        self._lookback = dt.timedelta(minutes=settings.lookback_min)

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        """One query for the alarms within the lookback, one for their devices' history."""
        events = events_of_kinds(conn, community, [self.alarm.kind],
                                 since=now - self._lookback, until=now)
        groups = by_subject(events)
        history = histories(conn, community, self.name, groups)
        firings = []
        for subject, at_device in groups.items():
            tally = alarm_tally(at_device, history[subject], now=now, lookback=self._lookback)
            place = at_device[-1].place
            if tally is None or not self._still_alarming(conn, community, place, tally, now):
                continue
            firings.append(Firing(subject=subject,
                                  details=alarm_details(self.alarm, place, tally,
                                                        self._lookback),
                                  grid=place.grid, building=place.building,
                                  severity=self.alarm.severity))
        return firings

    def _still_alarming(self, conn: Conn, community: Community, place: Place, tally: Tally,
                        now: dt.datetime) -> bool:
        return True

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        """Alarms are raised, and held-open doors resolved, by events alone."""
        return earliest(now)

    def should_resolve(
        self, conn: Conn, community: Community, alert: ActiveAlert, now: dt.datetime
    ) -> Resolution | None:
        """Never: a person closes these."""
        return None

    def title(self, firing: Firing, locale: str) -> str:
        """``门禁胁迫报警：3栋1单元门禁``."""
        return t.alert_title(t.text(f"{self.name}.title", locale), firing.details, locale)

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        """What, where and when, how often, who (duress), and what to do."""
        d = alert.details
        tally = Tally.from_details(d)
        lines = [t.text(f"{self.name}.what", locale, where=t.where(d, locale),
                        time=t.local_time(tally.first_event_at, community.tz, locale))]
        if tally.event_count > 1:
            lines.append(t.text("repeat", locale, count=tally.event_count,
                                first=t.local_time(tally.first_event_at, community.tz, locale),
                                last=t.local_time(tally.last_event_at, community.tz, locale)))
        if self.alarm.show_people and tally.person_ids:
            lines.append(t.people(tally.person_ids, locale))
        lines.append(t.text(f"{self.name}.action", locale))
        title = t.alert_title(t.text(f"{self.name}.title", locale), d, locale)
        return PushText(title=t.push_title(title, self.alarm.severity, alert.tier, locale),
                        body=t.push_body(lines, alert_id=alert.id, tier=alert.tier,
                                         auto_resolves=self.auto_resolves, locale=locale))


class DuressRule(AlarmRule):
    """胁迫: someone opened a door under threat. Critical; a person closes it."""

    def __init__(self, settings: SafetySettings) -> None:
        super().__init__(DURESS, settings)


class TamperRule(AlarmRule):
    """防拆: a device's case was opened or it was torn off. High; a person closes it."""

    def __init__(self, settings: SafetySettings) -> None:
        super().__init__(TAMPER, settings)


class DoorForcedRule(AlarmRule):
    """强行开门: a door opened without a granted access. High; a person closes it."""

    def __init__(self, settings: SafetySettings) -> None:
        super().__init__(DOOR_FORCED, settings)


class DoorHeldOpenRule(AlarmRule):
    """门长时间未关: warning; resolves itself when the door shuts or someone passes."""

    auto_resolves = True

    def __init__(self, settings: SafetySettings) -> None:
        super().__init__(DOOR_HELD_OPEN, settings)

    def _still_alarming(self, conn: Conn, community: Community, place: Place, tally: Tally,
                        now: dt.datetime) -> bool:
        # Held open and shut again before we heard of it (a backlog): it is over already.
        assert tally.last_event_at is not None  # a tally with new events has times
        shut = _first_shut(conn, community, place.building, place.device,
                           since=tally.last_event_at, until=now)
        return still_held_open(tally.last_event_at, shut["occurred_at"] if shut else None)

    def should_resolve(
        self, conn: Conn, community: Community, alert: ActiveAlert, now: dt.datetime
    ) -> Resolution | None:
        """Resolve once the door has shut after the last held-open alarm the alert saw."""
        d = alert.details
        last = Tally.from_details(d).last_event_at
        if last is None or not d.get("building") or not d.get("device"):
            return None
        shut = _first_shut(conn, community, d["building"], d["device"], since=last, until=now)
        if shut is None:
            return None
        how = t.text(f"door_held_open.how.{shut['kind']}", community.locale)
        note = t.text("door_held_open.resolved", community.locale, how=how,
                      time=t.local_time(shut["occurred_at"], community.tz, community.locale))
        return Resolution(note=note, data={"shut_at": iso(shut["occurred_at"]),
                                           "shut_by": shut["kind"],
                                           "event_id": shut["event_id"]})


def _first_shut(conn: Conn, community: Community, building: str, device: str, *,
                since: dt.datetime, until: dt.datetime) -> dict[str, Any] | None:
    return conn.execute(queries.FIRST_CLOSE_AFTER, {
        "community": community.id, "building": building, "device": device,
        "since": since, "until": until,
    }).fetchone()
