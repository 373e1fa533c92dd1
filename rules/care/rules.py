"""The care rules for elderly residents living alone: unusual silence at home, out and not
back, and a registered absence that ended without a return.

Each resident is judged by ``rules.care.watch.Watch`` (their own baseline, the community
prior, the hard backstop). Nobody is judged while a registered absence covers them, nor
while a device their signs of life come through is offline, silent or catching up: the
device alert speaks for them then, and they are judged again once it is back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from linli.settings import SilenceSettings
from rules import texts as t
from rules.care import queries as q
from rules.care import texts as ct
from rules.care.model import Finding
from rules.care.watch import Resident, Watch
from rules.framework import (
    ActiveAlert,
    Community,
    Conn,
    Firing,
    PushText,
    Resolution,
    earliest,
)

SEVERITY = {Finding.SILENT_AT_HOME: "high", Finding.NOT_BACK: "high",
            Finding.BACKSTOP: "critical"}


class _CareRule:
    """What the silence and not-back rules share: the watch, details, texts, resolving."""

    name = ""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch

    def _fires(self, resident: Resident) -> bool:
        raise NotImplementedError

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        return self.watch.quiet_until(community, now)

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        firings = []
        for resident in self.watch.residents(conn, community, now):
            if resident.absent or resident.untrusted or not self._fires(resident):
                continue
            finding = resident.assessment.finding
            assert finding is not None
            firings.append(Firing(subject=resident.id, details=self.details(resident, now),
                                  grid=resident.row["grid"],
                                  building=resident.row["home_building"],
                                  severity=SEVERITY[finding]))
        return firings

    def details(self, resident: Resident, now: dt.datetime) -> dict[str, Any]:
        """What the alert keeps: the judgement, the last sign, the home, device health."""
        row, judged = resident.row, resident.assessment
        return {
            "resident": resident.id, "name": row["name"],
            "reason": judged.finding.value if judged.finding else None,
            **judged.to_json(),
            "backstop_h": self.watch.params.backstop_h,
            "last": resident.last,
            "home": resident.home(),
            "care_level": row["care_level"],
            "registered_at": row["created_at"].isoformat(),
            "devices": {"reporting": bool(row["devices_ok"])},
            "judged_at": now.isoformat(),
        }

    def should_resolve(self, conn: Conn, community: Community, alert: ActiveAlert,
                       now: dt.datetime) -> Resolution | None:
        """Resolve on a new sign of life, a registered absence, or the end of the watch."""
        resident = next((r for r in self.watch.residents(conn, community, now)
                         if r.id == alert.subject), None)
        locale = community.locale
        if resident is None:
            return Resolution(note=ct.text("care.resolved.unwatched", locale))
        if resident.absent:
            row = resident.row
            return Resolution(
                note=ct.text("care.resolved.absence", locale,
                             reason=row["absence_reason"] or "—",
                             until=t.local_time(row["absence_ends_at"], community.tz, locale)),
                data={"absence": row["absence_id"]})
        recorded = (alert.details.get("last") or {}).get("at")
        last = resident.last
        if last is None or (recorded is not None
                            and dt.datetime.fromisoformat(last["at"])
                            <= dt.datetime.fromisoformat(recorded)):
            return None
        return Resolution(
            note=ct.text("care.resolved.seen", locale,
                         time=t.local_time(last["at"], community.tz, locale),
                         what=ct.describe_signal(last, locale)),
            data={"last": last})

    def title(self, firing: Firing, locale: str) -> str:
        return ct.text("care.alert_title", locale, title=self._headline(firing.details, locale),
                       name=firing.details.get("name", firing.subject))

    def _headline(self, details: dict[str, Any], locale: str) -> str:
        reason = details.get("reason") or Finding.SILENT_AT_HOME.value
        if reason == Finding.BACKSTOP.value:
            return ct.text("care.title.backstop", locale,
                           hours=f"{float(details.get('backstop_h', 47)):g}")
        return ct.text(f"care.title.{reason}", locale)

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        """Who, why (the same facts as the alert), the care level and what to do."""
        d = alert.details
        judged_at = d.get("judged_at")
        now = dt.datetime.fromisoformat(judged_at) if judged_at else dt.datetime.now(dt.UTC)
        lines = []
        if alert.tier > 1:
            lines.append(t.text("push.escalated", locale, tier=alert.tier))
        lines.append(ct.text("care.who", locale, name=d.get("name", alert.subject),
                             home=t.describe_home(d.get("home"), locale)))
        lines.append(ct.explanation(d, now, community.tz, locale))
        lines.append(t.text("silent.care_level", locale, level=d.get("care_level", 0)))
        lines.append(t.text("contacts_link", locale))
        lines.append(t.text("push.action", locale, alert_id=alert.id))
        title = t.push_title(self._headline(d, locale), alert.tier, locale)
        return PushText(title=title, body="\n".join(lines))


class SilenceRule(_CareRule):
    """At home, or possibly at home, and silent for longer than is usual for this person
    at this time of day; or no sign of life at all for the hard backstop."""

    name = "silent_resident"

    def _fires(self, resident: Resident) -> bool:
        finding = resident.assessment.finding
        if finding is Finding.SILENT_AT_HOME:
            return True
        return finding is Finding.BACKSTOP and resident.assessment.place.value in (
            "home", "unknown")


class NotBackRule(_CareRule):
    """Went out and has not come back long after their usual return (wandering, a fall
    outside): a separate alert, since the grid worker looks elsewhere."""

    name = "out_not_back"

    def _fires(self, resident: Resident) -> bool:
        finding = resident.assessment.finding
        if finding is Finding.NOT_BACK:
            return True
        return finding is Finding.BACKSTOP and resident.assessment.place.value in (
            "out", "away")


class AbsenceOverdueRule:
    """A registered absence (外出报备) ended and the resident has given no sign since:
    a reminder to the grid worker who watches them."""

    name = "absence_overdue"

    def __init__(self, settings: SilenceSettings) -> None:
        self.grace = dt.timedelta(hours=settings.absence_grace_h)
        self.backstop = dt.timedelta(hours=settings.backstop_h)

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        row = conn.execute(q.NEXT_ABSENCE_END, {"community": community, "now": now}).fetchone()
        ends = row["ends_at"] + self.grace if row and row["ends_at"] else None
        return earliest(now, ends)

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        rows = conn.execute(q.OVERDUE_ABSENCES, {
            "community": community.id, "now": now, "due_before": now - self.grace,
            "oldest": now - self.grace - self.backstop}).fetchall()
        firings = []
        for row in rows:
            details = {"resident": row["resident"], "name": row["name"],
                       "home": {"building": row["home_building"],
                                "building_name": row["home_building_name"],
                                "room": row["room"]},
                       "absence": row["id"], "reason": row["reason"],
                       "starts_at": row["starts_at"].isoformat(),
                       "ends_at": row["ends_at"].isoformat(),
                       "registered_by": row["created_by"]}
            firings.append(Firing(subject=row["resident"], details=details, grid=row["grid"],
                                  building=row["home_building"], severity="warning"))
        return firings

    def should_resolve(self, conn: Conn, community: Community, alert: ActiveAlert,
                       now: dt.datetime) -> Resolution | None:
        row = conn.execute(q.LAST_SIGNAL, {"community": community.id,
                                           "resident": alert.subject}).fetchone()
        ended = dt.datetime.fromisoformat(alert.details["ends_at"])
        if row is None or row["last_at"] is None or row["last_at"] < ended:
            return None
        locale = community.locale
        return Resolution(note=ct.text("care.resolved.seen", locale,
                                       time=t.local_time(row["last_at"], community.tz, locale),
                                       what="—"),
                          data={"last_at": row["last_at"].isoformat()})

    def title(self, firing: Firing, locale: str) -> str:
        return ct.text("care.alert_title", locale,
                       title=ct.text("care.title.absence_overdue", locale),
                       name=firing.details.get("name", firing.subject))

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        d = alert.details
        lines = [ct.text("care.who", locale, name=d.get("name", alert.subject),
                         home=t.describe_home(d.get("home"), locale)),
                 ct.text("care.absence.overdue", locale, reason=d.get("reason") or "—",
                         until=t.local_time(d.get("ends_at"), community.tz, locale)),
                 t.text("push.action", locale, alert_id=alert.id)]
        title = t.push_title(ct.text("care.title.absence_overdue", locale), alert.tier, locale)
        return PushText(title=title, body="\n".join(lines))
