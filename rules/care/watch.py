"""Loading the watched residents' present and their baselines, and judging each one.

``Watch.residents(conn, community, now)`` is one query over the watched residents (their
latest signs of life, baseline, last confirmed visit, registered absence and device
trust), refreshing the baselines that are due first; each resident is then judged by
``rules.care.model.assess``. The result is kept for the same (community, now), so the two
rules reading it (silence at home, not back) share one load per evaluation.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from linli.settings import SilenceSettings
from rules.care import model
from rules.care import queries as q
from rules.care.model import Assessment, Baseline, Params, Signal, SignalKind
from rules.framework import Community, Conn, earliest

log = logging.getLogger(__name__)

CARE_RULES = ("silent_resident", "out_not_back", "absence_overdue")
"""Rules whose closing by a person counts as a visit (a sign of life)."""


def params_of(settings: SilenceSettings) -> Params:
    """The model's parameters from the settings section."""
    return Params(window_days=settings.window_days, full_days=settings.full_days,
                  min_days=settings.min_days, shift_h=settings.shift_h,
                  factor=settings.factor, margin_h=settings.margin_h,
                  door_factor=settings.door_factor, door_margin_h=settings.door_margin_h,
                  door_floor_h=settings.door_floor_h,
                  night_floor_h=settings.night_floor_h,
                  floor_h=settings.floor_h, out_floor_h=settings.out_floor_h,
                  inferred_out_floor_h=settings.inferred_out_floor_h,
                  backstop_h=settings.backstop_h)


def signal_kind(kind: str, direction: str | None) -> SignalKind:
    """An event's kind and direction as a signal."""
    if kind == "activity":
        return SignalKind.ACTIVITY
    if kind == "exit_button" or direction == "out":
        return SignalKind.DOOR_OUT
    return SignalKind.DOOR_IN if direction == "in" else SignalKind.DOOR


@dataclass(frozen=True, slots=True)
class Resident:
    """One watched resident: their row, and how they are judged now."""

    row: dict[str, Any]
    assessment: Assessment
    last: dict[str, Any] | None
    """The last sign of life with where it came from (for the explanation)."""

    @property
    def id(self) -> str:
        return str(self.row["id"])

    @property
    def absent(self) -> bool:
        """A registered absence covers now."""
        return self.row["absence_id"] is not None

    @property
    def untrusted(self) -> list[str]:
        """Devices that cannot vouch for this resident's silence now."""
        return list(self.row["untrusted"] or [])

    def home(self) -> dict[str, Any]:
        row = self.row
        return {"household": row["household"], "building": row["home_building"],
                "building_name": row["home_building_name"], "unit": row["unit"],
                "unit_name": row["unit_name"], "room": row["room"]}


class Watch:
    """The present of one community's watched residents, judged at one moment."""

    def __init__(self, settings: SilenceSettings) -> None:
        self.settings = settings
        self.params = params_of(settings)
        self._cache: tuple[tuple[str, dt.datetime], list[Resident]] | None = None

    def residents(self, conn: Conn, community: Community, now: dt.datetime) -> list[Resident]:
        """Every watched resident of ``community``, judged at ``now``."""
        key = (community.id, now)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        rows = conn.execute(q.WATCHED, self._params(community, now)).fetchall()
        due = [r["id"] for r in rows if self._baseline_due(r, now)]
        if due:
            # Learn everyone half-way due in the same pass: one read of the community's
            # history serves them all, and the residents' refreshes fall into step.
            soon = now - dt.timedelta(hours=self.settings.refresh_h / 2)
            due += [r["id"] for r in rows if r["id"] not in due
                    and r["baseline_at"] is not None and r["baseline_at"] <= soon]
        if due:
            learned = self.learn(conn, community, now, due)
            for row in rows:
                if row["id"] in learned:
                    row["baseline"] = learned[row["id"]].to_json()
                    row["baseline_at"] = now
        baselines = {r["id"]: Baseline.from_json(r["baseline"]) if r["baseline"]
                     else model.EMPTY for r in rows}
        prior = model.community_prior(list(baselines.values()), self.params)
        judged = [self._judge(row, baselines[row["id"]], prior, community, now)
                  for row in rows]
        self._cache = (key, judged)
        return judged

    def quiet_until(self, community: str, now: dt.datetime) -> dt.datetime | None:
        """When the next judgement could change without new events: a silence crossing its
        threshold or the backstop, a baseline falling due (None: not judged at ``now``)."""
        if self._cache is None or self._cache[0][0] != community or self._cache[0][1] != now:
            return None
        moments: list[dt.datetime | None] = []
        refresh = dt.timedelta(hours=self.settings.refresh_h)
        backstop = dt.timedelta(hours=self.params.backstop_h)
        for resident in self._cache[1]:
            judged, row = resident.assessment, resident.row
            start = judged.last.at if judged.last is not None else row["created_at"]
            moments.append(start + backstop)
            if judged.last is not None:
                # a silence is unusual once strictly past its threshold
                moments.append(start + dt.timedelta(hours=judged.usual.hours, microseconds=1))
            if row["baseline_at"] is not None:
                moments.append(row["baseline_at"] + refresh)
        return earliest(now, *moments)

    def _params(self, community: Community, now: dt.datetime) -> dict[str, Any]:
        return {"community": community.id, "now": now, "rules": list(CARE_RULES),
                "stale_before": now - dt.timedelta(seconds=self.settings.device_stale_s),
                "backlog": self.settings.device_backlog}

    def _baseline_due(self, row: dict[str, Any], now: dt.datetime) -> bool:
        """Learn again every ``refresh_h``, and at once when older history has arrived
        since (a terminal's catch-up after an outage or an installation)."""
        if row["first_signal_at"] is None:
            return False
        computed = row["baseline_at"]
        if computed is None or computed > now:
            return True
        history = float(row["history_days"])
        # Older signs than the baseline saw matter only while it did not span the window.
        short = history < self.params.window_days - 1
        learned_from = computed - dt.timedelta(days=history)
        older = short and row["first_signal_at"] < learned_from - dt.timedelta(hours=1)
        return bool(older or now - computed >= dt.timedelta(hours=self.settings.refresh_h))

    def learn(self, conn: Conn, community: Community, now: dt.datetime,
              residents: list[str]) -> dict[str, Baseline]:
        """Learn and store the baselines of ``residents`` from their last weeks."""
        since = now - dt.timedelta(days=self.params.window_days)
        params = {"community": community.id, "residents": residents, "since": since,
                  "now": now, "rules": list(CARE_RULES)}
        signals: dict[str, list[Signal]] = defaultdict(list)
        for row in conn.execute(q.SIGNALS, params).fetchall():
            signals[row["resident"]].append(
                Signal(row["occurred_at"], signal_kind(row["kind"], row["direction"])))
        for row in conn.execute(q.VISITS, params).fetchall():
            signals[row["resident"]].append(Signal(row["visited_at"], SignalKind.VISIT))
        excluded: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for row in conn.execute(q.ABSENCES, params).fetchall():
            excluded[row["resident"]].append((row["starts_at"], row["ends_at"]))
        learned = {}
        for resident in residents:
            baseline = model.learn(signals[resident], now=now, tz=community.tz,
                                   params=self.params, excluded=excluded[resident])
            conn.execute(q.UPSERT_BASELINE, {
                "community": community.id, "resident": resident, "now": now,
                "history_days": baseline.history_days, "model": Jsonb(baseline.to_json())})
            learned[resident] = baseline
        log.debug("community %s: learned %d baselines", community.id, len(learned))
        return learned

    def _judge(self, row: dict[str, Any], baseline: Baseline, prior: Baseline | None,
               community: Community, now: dt.datetime) -> Resident:
        last, where = _last_signal(row)
        assessment = model.assess(last, now=now, tz=community.tz, baseline=baseline,
                                  params=self.params, prior=prior, since=row["created_at"],
                                  has_activity=baseline.has_activity
                                  or row["last_activity_at"] is not None)
        return Resident(row=row, assessment=assessment, last=where)


def _last_signal(row: dict[str, Any]) -> tuple[Signal | None, dict[str, Any] | None]:
    """The latest of the last door use, the last in-home activity and the last visit."""
    candidates: list[tuple[dt.datetime, Signal, dict[str, Any]]] = []
    if row["last_door_at"] is not None:
        kind = signal_kind("passage", row["last_door_direction"])
        candidates.append((row["last_door_at"], Signal(row["last_door_at"], kind), {
            "kind": kind.value, "direction": row["last_door_direction"],
            "building": row["last_door_building"], "building_name": row["door_building_name"],
            "device": row["last_door_device"], "device_name": row["door_device_name"]}))
    if row["last_activity_at"] is not None:
        at = row["last_activity_at"]
        candidates.append((at, Signal(at, SignalKind.ACTIVITY), {
            "kind": "activity", "building": row["last_activity_building"],
            "device": row["last_activity_device"],
            "device_name": row["activity_device_name"]}))
    if row["visited_at"] is not None:
        at = row["visited_at"]
        candidates.append((at, Signal(at, SignalKind.VISIT), {"kind": "visit"}))
    if not candidates:
        return None, None
    at, signal, where = max(candidates, key=lambda c: c[0])
    return signal, where | {"at": at.isoformat()}
