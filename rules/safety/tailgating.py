"""Tailgating: more people went in through a doorway than the door let in.

Where a camera counts the doorway of a door device (``devices.door``), each person the
camera counts going in (``passage``, source camera, direction ``in``) should be covered by
a granted passage at the door (direction ``in`` or unknown) within ``tailgating_window_s``
either side. People left over form an episode; an episode with at least
``tailgating_min_excess`` of them raises a warning about the door; later episodes refresh
it with a count; it resolves itself after ``tailgating_quiet_min`` without one.

Camera counts are noisy, so the rule is built to prefer a missed episode to a false one:

- counts below ``tailgating_min_confidence`` are left out entirely (they neither raise
  nor use up a granted passage);
- grants are shared out so that as many counted people as possible are covered, each
  grant covering one person once: two counts of one person each, seconds apart, with one
  grant between them still leave one person over;
- counts are judged only once they are ``tailgating_settle_s`` old, so that the door's
  records of the same moment (another source of the same agent) have arrived;
- the default minimum excess is one person: with the confidence floor, one confident
  person more than the door let in is what tailgating is. Raise it where a camera is known
  to double-count.

A door whose terminal is offline looks like a door that lets nobody in; the rule cannot
tell the two apart from events alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
from rules.safety.events import History, Place, iso, parse_time
from rules.safety.loading import histories

RULE_NAME = "tailgating"
SEVERITY = "warning"
MAX_EPISODES_LISTED = 10


@dataclass(frozen=True, slots=True)
class Limits:
    """The tailgating settings, as durations."""

    window: dt.timedelta
    min_confidence: float
    min_excess: int
    settle: dt.timedelta
    quiet: dt.timedelta
    lookback: dt.timedelta

    @classmethod
    def from_settings(cls, settings: SafetySettings) -> Limits:
        return cls(window=dt.timedelta(seconds=settings.tailgating_window_s),
                   min_confidence=settings.tailgating_min_confidence,
                   min_excess=settings.tailgating_min_excess,
                   settle=dt.timedelta(seconds=settings.tailgating_settle_s),
                   quiet=dt.timedelta(minutes=settings.tailgating_quiet_min),
                   lookback=dt.timedelta(minutes=settings.lookback_min))


@dataclass(frozen=True, slots=True)
class Crossing:
    """A passage through the doorway: a camera's count or a door's granted passage."""

    event_id: str
    occurred_at: dt.datetime
    count: int = 1


@dataclass(frozen=True, slots=True)
class Episode:
    """People counted in beyond the granted passages, around one moment."""

    first_at: dt.datetime
    last_at: dt.datetime
    counted: int
    granted: int
    excess: int
    cameras: tuple[str, ...]
    camera_event_ids: tuple[str, ...]
    door_event_ids: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return {"first_at": iso(self.first_at), "last_at": iso(self.last_at),
                "counted": self.counted, "granted": self.granted, "excess": self.excess,
                "cameras": list(self.cameras), "camera_event_ids": list(self.camera_event_ids),
                "door_event_ids": list(self.door_event_ids)}


# --- pure decisions ----------------------------------------------------------------


def camera_counts(rows: Iterable[Mapping[str, Any]], camera: str,
                  min_confidence: float) -> list[Crossing]:
    """The camera's confident counts of people going in, in time order."""
    return sorted((Crossing(str(r["event_id"]), r["occurred_at"], int(r["count"]))
                   for r in rows
                   if r["device"] == camera and r["source"] == "camera"
                   and r["direction"] == "in" and float(r["confidence"]) >= min_confidence),
                  key=lambda c: (c.occurred_at, c.event_id))


def door_grants(rows: Iterable[Mapping[str, Any]], door: str) -> list[Crossing]:
    """The door's granted passages going in (or of unknown direction), in time order."""
    return sorted((Crossing(str(r["event_id"]), r["occurred_at"], int(r["count"]))
                   for r in rows
                   if r["device"] == door and r["source"] != "camera"
                   and r["direction"] in ("in", None)),
                  key=lambda c: (c.occurred_at, c.event_id))


def uncovered(counts: Sequence[Crossing], grants: Sequence[Crossing],
              window: dt.timedelta) -> list[tuple[Crossing, int]]:
    """Each count with how many of its people no grant within ``window`` covers.

    Counts are taken in time order and each person uses the earliest grant still free in
    reach; with windows of equal length this covers as many people as any matching can.
    """
    free = [grant.count for grant in grants]
    start = 0
    judged = []
    for count in counts:
        while start < len(grants) and grants[start].occurred_at < count.occurred_at - window:
            start += 1
        missing = 0
        for _ in range(count.count):
            index = start
            while (index < len(grants) and free[index] == 0
                   and grants[index].occurred_at <= count.occurred_at + window):
                index += 1
            if index < len(grants) and grants[index].occurred_at <= count.occurred_at + window:
                free[index] -= 1
            else:
                missing += 1
        judged.append((count, missing))
    return judged


def episodes(counts: Sequence[Crossing], grants: Sequence[Crossing], *, camera: str,
             limits: Limits, after: dt.datetime, until: dt.datetime) -> list[Episode]:
    """Episodes made of counts in ``(after, until]``; earlier counts only use up grants."""
    judged = [(count, missing) for count, missing
              in uncovered([c for c in counts if c.occurred_at <= until], grants, limits.window)
              if missing > 0 and count.occurred_at > after]
    groups: list[list[tuple[Crossing, int]]] = []
    for item in judged:
        if groups and item[0].occurred_at - groups[-1][-1][0].occurred_at <= limits.window:
            groups[-1].append(item)
        else:
            groups.append([item])
    found = []
    for group in groups:
        excess = sum(missing for _, missing in group)
        if excess < limits.min_excess:
            continue
        low = group[0][0].occurred_at - limits.window
        high = group[-1][0].occurred_at + limits.window
        nearby_counts = [c for c in counts if low <= c.occurred_at <= high]
        nearby_grants = [g for g in grants if low <= g.occurred_at <= high]
        found.append(Episode(
            first_at=group[0][0].occurred_at, last_at=group[-1][0].occurred_at,
            counted=sum(c.count for c in nearby_counts),
            granted=sum(g.count for g in nearby_grants), excess=excess, cameras=(camera,),
            camera_event_ids=tuple(c.event_id for c in nearby_counts),
            door_event_ids=tuple(g.event_id for g in nearby_grants)))
    return found


def merge_cameras(found: Iterable[Episode], window: dt.timedelta) -> list[Episode]:
    """One episode per moment when two cameras watch the same door and both saw it."""
    merged: list[Episode] = []
    for episode in sorted(found, key=lambda e: e.first_at):
        if merged and episode.first_at - merged[-1].last_at <= window:
            last = merged[-1]
            merged[-1] = replace(
                last, last_at=max(last.last_at, episode.last_at),
                counted=max(last.counted, episode.counted),
                granted=max(last.granted, episode.granted),
                excess=max(last.excess, episode.excess),
                cameras=tuple(sorted(set(last.cameras) | set(episode.cameras))),
                camera_event_ids=last.camera_event_ids + episode.camera_event_ids,
                door_event_ids=tuple(dict.fromkeys(last.door_event_ids
                                                   + episode.door_event_ids)))
        else:
            merged.append(episode)
    return merged


@dataclass(frozen=True, slots=True)
class EpisodeTally:
    """The running record of the episodes an alert stands for."""

    episode_count: int = 0
    people_over: int = 0
    first_event_at: dt.datetime | None = None
    last_event_at: dt.datetime | None = None
    episodes: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_details(cls, details: Mapping[str, Any] | None) -> EpisodeTally:
        if not details:
            return cls()
        return cls(episode_count=int(details.get("episode_count") or 0),
                   people_over=int(details.get("people_over") or 0),
                   first_event_at=parse_time(details.get("first_event_at")),
                   last_event_at=parse_time(details.get("last_event_at")),
                   episodes=list(details.get("episodes") or []))

    def add(self, new: Sequence[Episode]) -> EpisodeTally:
        if not new:
            return self
        firsts = [e.first_at for e in new] + ([self.first_event_at] if self.first_event_at
                                              else [])
        lasts = [e.last_at for e in new] + ([self.last_event_at] if self.last_event_at
                                            else [])
        return EpisodeTally(
            episode_count=self.episode_count + len(new),
            people_over=self.people_over + sum(e.excess for e in new),
            first_event_at=min(firsts), last_event_at=max(lasts),
            episodes=[*self.episodes, *(e.summary() for e in new)][-MAX_EPISODES_LISTED:])

    def as_details(self) -> dict[str, Any]:
        return {"episode_count": self.episode_count, "people_over": self.people_over,
                "first_event_at": iso(self.first_event_at),
                "last_event_at": iso(self.last_event_at), "episodes": self.episodes}


def tailgating_tally(found: Sequence[Episode], history: History, *, now: dt.datetime,
                     quiet: dt.timedelta) -> EpisodeTally | None:
    """What the alert should record now, or None when the rule does not fire.

    ``found`` holds only episodes after the subject's watermark. With an open alert each
    refreshes it; without one, the latest must be recent enough not to count as over.
    """
    if not found:
        return None
    if history.open is None and now - max(e.last_at for e in found) >= quiet:
        return None
    return EpisodeTally.from_details(history.open).add(found)


# --- the rule ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Doorway:
    """A door device and the cameras that count its doorway."""

    door: Place
    cameras: dict[str, str | None]
    """Camera id → display name."""


def doorways(rows: Iterable[Mapping[str, Any]]) -> dict[str, Doorway]:
    """Rows of ``queries.WATCHED_DOORS`` by the door's subject."""
    found: dict[str, Doorway] = {}
    for row in rows:
        door = Place(building=row["building"], device=row["door"],
                     building_name=row["building_name"], device_name=row["door_name"],
                     grid=row["grid"])
        found.setdefault(door.subject, Doorway(door=door, cameras={}))
        found[door.subject].cameras[row["camera"]] = row["camera_name"]
    return found


class TailgatingRule:
    """疑似尾随: the camera counted more people in than the door let in."""

    name = RULE_NAME

    def __init__(self, settings: SafetySettings) -> None:
        self.limits = Limits.from_settings(settings)

    def evaluate(self, conn: Conn, community: Community, now: dt.datetime) -> list[Firing]:
        """Per watched door: its episodes after the door's watermark, against its history."""
        watched = doorways(conn.execute(queries.WATCHED_DOORS,
                                        {"community": community.id}).fetchall())
        history = histories(conn, community, self.name, watched)
        after = {subject: history[subject].watermark(now, self.limits.lookback)
                 for subject in watched}
        rows = self._passages(conn, community, watched.values(),
                              since=min(after.values(), default=now), now=now)
        firings = []
        for subject, doorway in watched.items():
            found = self._episodes(doorway, rows, after=after[subject], now=now)
            tally = tailgating_tally(found, history[subject], now=now, quiet=self.limits.quiet)
            if tally is None:
                continue
            firings.append(Firing(subject=subject, details=self._details(doorway, tally),
                                  grid=doorway.door.grid, building=doorway.door.building,
                                  severity=SEVERITY))
        return firings

    def _passages(self, conn: Conn, community: Community, watched: Iterable[Doorway], *,
                  since: dt.datetime, now: dt.datetime) -> list[dict[str, Any]]:
        """Passages at the doors and their cameras, from ``since`` up to the horizon."""
        devices = [(d.door.building, device) for d in watched
                   for device in (d.door.device, *d.cameras)]
        until = now - self.limits.settle
        if not devices or until <= since:
            return []
        reach = self.limits.window
        return conn.execute(queries.DOORWAY_PASSAGES, {
            "community": community.id, "buildings": [b for b, _ in devices],
            "devices": [d for _, d in devices],
            # Earlier counts use up grants near the start; grants just after the horizon
            # still cover the counts just before it.
            "since": since - 2 * reach, "until": until + reach,
        }).fetchall()

    def _episodes(self, doorway: Doorway, rows: Sequence[Mapping[str, Any]], *,
                  after: dt.datetime, now: dt.datetime) -> list[Episode]:
        door = doorway.door
        here = [row for row in rows if row["building"] == door.building]
        grants = door_grants(here, door.device)
        found = [episode for camera in doorway.cameras
                 for episode in episodes(camera_counts(here, camera, self.limits.min_confidence),
                                         grants, camera=camera, limits=self.limits,
                                         after=after, until=now - self.limits.settle)]
        return merge_cameras(found, self.limits.window)

    def _details(self, doorway: Doorway, tally: EpisodeTally) -> dict[str, Any]:
        limits = self.limits
        return {"reason": RULE_NAME, "kind": RULE_NAME, "severity": SEVERITY,
                **doorway.door.as_details(),
                "cameras": [{"device": cid, "device_name": name}
                            for cid, name in sorted(doorway.cameras.items())],
                **tally.as_details(),
                "window_s": limits.window.total_seconds(),
                "min_confidence": limits.min_confidence, "min_excess": limits.min_excess,
                "quiet_min": limits.quiet.total_seconds() / 60}

    def quiet_until(self, conn: Conn, community: str, now: dt.datetime) -> dt.datetime | None:
        """Counts are judged once settled, and an open alert's doorway falls quiet."""
        row = conn.execute(queries.LAST_CAMERA_PASSAGE, {
            "community": community, "since": now - self.limits.settle - self.limits.window,
            "until": now}).fetchone()
        moments = [row["last_at"] + self.limits.settle] if row and row["last_at"] else []
        alerts = conn.execute(ACTIVE_ALERTS, {"community": community, "rule": self.name})
        for alert in alerts.fetchall():
            last = EpisodeTally.from_details(alert["details"]).last_event_at
            if last is not None:
                moments.append(last + self.limits.quiet)
        return earliest(now, *moments)

    def should_resolve(
        self, conn: Conn, community: Community, alert: ActiveAlert, now: dt.datetime
    ) -> Resolution | None:
        """Resolve after the quiet period without an episode (one not yet recorded counts)."""
        recorded = EpisodeTally.from_details(alert.details).last_event_at
        if recorded is None:
            return None
        last = recorded
        rows = conn.execute(queries.WATCHED_DOORS, {"community": community.id}).fetchall()
        doorway = doorways(rows).get(alert.subject)
        if doorway is not None:
            passages = self._passages(conn, community, [doorway], since=recorded, now=now)
            found = self._episodes(doorway, passages, after=recorded, now=now)
            last = max([recorded, *(e.last_at for e in found)])
        if now - last < self.limits.quiet:
            return None
        note = t.text("tailgating.resolved", community.locale, quiet=self._quiet_min(),
                      time=t.local_time(last, community.tz, community.locale))
        return Resolution(note=note, data={"last_episode_at": iso(last),
                                           "quiet_min": self.limits.quiet.total_seconds() / 60})

    def _quiet_min(self) -> str:
        return f"{self.limits.quiet.total_seconds() / 60:g}"

    def title(self, firing: Firing, locale: str) -> str:
        """``疑似尾随进入：3栋1单元门禁``."""
        return t.alert_title(t.text("tailgating.title", locale), firing.details, locale)

    def message(self, alert: ActiveAlert, community: Community, locale: str) -> PushText:
        """The latest episode (where, when, counted vs granted), how often, what to do."""
        d = alert.details
        tally = EpisodeTally.from_details(d)
        tz = community.tz
        latest = tally.episodes[-1] if tally.episodes else {}
        lines = [t.text("tailgating.what", locale, where=t.where(d, locale),
                        time=t.local_time(latest.get("first_at") or tally.last_event_at,
                                          tz, locale),
                        counted=latest.get("counted", "?"), granted=latest.get("granted", "?"),
                        excess=latest.get("excess", "?"))]
        if tally.episode_count > 1:
            lines.append(t.text("tailgating.repeat", locale, count=tally.episode_count,
                                first=t.local_time(tally.first_event_at, tz, locale)))
        cameras = [c.get("device_name") or c.get("device") for c in d.get("cameras") or []]
        if cameras:
            lines.append(t.text("tailgating.cameras", locale,
                                cameras=t.join_names([str(c) for c in cameras], locale)))
        lines.append(t.text("tailgating.action", locale, quiet=self._quiet_min()))
        title = t.alert_title(t.text("tailgating.title", locale), d, locale)
        return PushText(title=t.push_title(title, SEVERITY, alert.tier, locale),
                        body=t.push_body(lines, alert_id=alert.id, tier=alert.tier,
                                         auto_resolves=True, locale=locale))
