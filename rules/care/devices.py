"""Devices gone offline: one alert per silent door terminal, home device or edge agent.

A device is down when its status stopped refreshing (heartbeat missed for
``silence.device_stale_s``), or when its retained status has said ``offline`` (the agent's
last-will, its clean stop, a terminal it cannot reach) for that long: a terminal reported
offline while its agent starts, or a restart, is no reason to send an installer. When a
building's agent is down, its terminals go silent with it: only the agent is alerted (the
outage's cause), not each device behind it. While any of these is down the care rules do
not judge the residents behind them (``rules.care``); they are judged again once the
device is back and its backlog has arrived.

An agent whose spool is full (state or problem ``spool_full``: its disk is full, usually
because the broker or ingest has been away for long) reads nothing new from its doors
until room returns: it is alerted as down, with its own text, once that has lasted as long,
and resolved when it says ``online`` again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from linli.settings import SilenceSettings
from rules import texts as t
from rules.care import queries as q
from rules.care import texts as ct
from rules.framework import (
    ActiveAlert,
    Community,
    Conn,
    Firing,
    PushText,
    Resolution,
    earliest,
)

SPOOL_FULL = "spool_full"


def is_spool_full(row: dict[str, Any]) -> bool:
    """The agent said its spool is full: it is up but reads nothing new."""
    problems = row.get("problems") or []
    return bool(row["state"] == SPOOL_FULL
                or (row["state"] != "offline" and SPOOL_FULL in problems))


def is_down(row: dict[str, Any], stale_before: dt.datetime) -> bool:
    """Offline or spool full by its own word, or silent, since before ``stale_before``. Such
    a report refreshes ``status_at`` on every heartbeat, so ``state_since`` dates it."""
    if row["status_at"] is None:
        return False
    if row["status_at"] < stale_before:
        return True
    since: dt.datetime = row["state_since"] or row["status_at"]
    return bool((row["state"] == "offline" or is_spool_full(row)) and since < stale_before)


def down_devices(rows: list[dict[str, Any]], stale_before: dt.datetime) -> list[dict[str, Any]]:
    """The devices to alert: an agent that is down stands for its whole building."""
    down = [r for r in rows if is_down(r, stale_before)]
    agents_down = {r["building"] for r in down if r["kind"] == "agent"}
    return [r for r in down if r["kind"] == "agent" or r["building"] not in agents_down]


class DeviceOfflineRule:
    """A door terminal, home device or edge agent that stopped reporting."""

    name = "device_offline"

    def __init__(self, settings: SilenceSettings) -> None:
        self.stale = dt.timedelta(seconds=settings.device_stale_s)

    def _rows(self, conn: Conn, community: Community) -> list[dict[str, Any]]:
        return conn.execute(q.DEVICE_HEALTH, {"community": community.id}).fetchall()

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        """When the next heartbeat runs out."""
        rows = conn.execute(q.DEVICE_HEALTH, {"community": community}).fetchall()
        return earliest(now, *(moment + self.stale for r in rows
                               for moment in (r["status_at"], r["state_since"]) if moment))

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        firings = []
        for row in down_devices(self._rows(conn, community), now - self.stale):
            details = {"device": row["id"], "building": row["building"], "kind": row["kind"],
                       "device_name": row["name"], "building_name": row["building_name"],
                       "state": row["state"],
                       "spool_full": row["status_at"] >= now - self.stale and is_spool_full(row),
                       "status_at": row["status_at"].isoformat() if row["status_at"] else None,
                       "household": row["household"]}
            firings.append(Firing(subject=f"{row['building']}/{row['id']}", details=details,
                                  grid=row["grid"], building=row["building"],
                                  severity="warning"))
        return firings

    def should_resolve(self, conn: Conn, community: Community, alert: ActiveAlert,
                       now: dt.datetime) -> Resolution | None:
        building, _, device = alert.subject.partition("/")
        row = next((r for r in self._rows(conn, community)
                    if r["building"] == building and r["id"] == device), None)
        if row is not None and is_down(row, now - self.stale):
            return None
        locale = community.locale
        key = "device.spool_full.resolved" if alert.details.get("spool_full") \
            else "device.resolved"
        return Resolution(note=ct.text(key, locale,
                                       time=t.local_time(now, community.tz, locale)),
                          data={"state": row["state"] if row else None})

    def title(self, firing: Firing, locale: str) -> str:
        return ct.text(_key(firing.details, "title"), locale,
                       device=_name(firing.details, locale))

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        d = alert.details
        lines = [ct.text(_key(d, "body"), locale, device=_name(d, locale),
                         since=t.local_time(d.get("status_at"), community.tz, locale)),
                 ct.text(_key(d, "effect"), locale),
                 ct.text(_key(d, "action"), locale, alert_id=alert.id)]
        title = t.push_title(ct.text(_key(d, "title"), locale, device=_name(d, locale)),
                             alert.tier, locale)
        return PushText(title=title, body="\n".join(lines))


def _key(details: dict[str, Any], part: str) -> str:
    return f"device.spool_full.{part}" if details.get("spool_full") else f"device.{part}"


def _name(details: dict[str, Any], locale: str) -> str:
    device = details.get("device_name") or details.get("device") or "?"
    building = details.get("building_name") or details.get("building")
    if details.get("kind") == "agent":
        device = ct.text("device.agent", locale)
    return f"{building} {device}" if building and not str(device).startswith(str(building)) \
        else str(device)
