"""Evaluating the rules for one community, under that community's advisory lock.

``evaluate_community`` runs in one transaction that first takes
``pg_try_advisory_xact_lock(hashtext('linli:rules:' || community))``: when another rules
process (or thread) holds it, this one skips and says so, so two copies never act on a
community at once. Inside, for every rule: resolve the active alerts whose cause went away,
then raise or refresh an alert per firing. Each rule runs in a savepoint, so a failing
rule is logged and the others still run.

Pass an autocommit connection (``linli.db.connect(url, autocommit=True)``); inside a
caller's open transaction the lock and the changes last until the caller commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from linli.contract import utc_now
from linli.settings import Settings
from rules import alerts, queries
from rules.care.devices import DeviceOfflineRule
from rules.care.rules import AbsenceOverdueRule, NotBackRule, SilenceRule
from rules.care.watch import Watch
from rules.framework import ActiveAlert, Community, Conn, Rule
from rules.safety import safety_rules
from rules.silent import SilentResidentRule

log = logging.getLogger(__name__)


def default_rules(settings: Settings) -> list[Rule]:
    """The rules a ``linli rules`` process runs.

    ``rules.silence.detector`` chooses how silence is judged: ``adaptive`` (each resident's
    own baseline, with the not-back and absence rules), or one of the fixed rules it is
    compared with (``day``, ``24h``, ``48h``).
    """
    silence = settings.rules.silence
    care: list[Rule]
    if silence.detector == "adaptive":
        watch = Watch(silence)
        care = [SilenceRule(watch), NotBackRule(watch), AbsenceOverdueRule(silence)]
    else:
        care = [SilentResidentRule.fixed(settings.rules, silence.detector)]
    return [*care, DeviceOfflineRule(silence), *safety_rules(settings.rules.safety)]


@dataclass(frozen=True, slots=True)
class Change:
    """One alert that an evaluation raised or resolved (what a replay prints)."""

    alert: int
    rule: str
    subject: str
    change: str
    reason: str | None


@dataclass(slots=True)
class Evaluation:
    """What one evaluation of one community did."""

    community: str
    locked: bool
    """False: another evaluator held the community's lock, nothing was done."""
    raised: list[int] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    failed_rules: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def evaluate_community(conn: Conn, community: str, settings: Settings,
                       now: dt.datetime | None = None, *,
                       rules: Sequence[Rule] | None = None) -> Evaluation:
    """Evaluate every rule for ``community`` at ``now`` (default: the current time)."""
    now = now or utc_now()
    active_rules = list(rules) if rules is not None else default_rules(settings)
    result = Evaluation(community=community, locked=False)
    with conn.transaction():
        lock = conn.execute(queries.TRY_COMMUNITY_LOCK, {"community": community}).fetchone()
        if not lock or not lock["locked"]:
            log.debug("community %s is being evaluated elsewhere; skipped", community)
            return result
        result.locked = True
        row = conn.execute(queries.COMMUNITY, {"community": community}).fetchone()
        if row is None:
            log.warning("community %s does not exist; nothing to evaluate", community)
            return result
        place = Community.from_row(row, settings)
        for rule in active_rules:
            try:
                with conn.transaction():
                    _run_rule(conn, place, rule, settings, now, result)
            except Exception:
                log.exception("rule %s failed for community %s; going on", rule.name, community)
                result.failed_rules.append(rule.name)
    return result


def _run_rule(conn: Conn, community: Community, rule: Rule, settings: Settings,
              now: dt.datetime, result: Evaluation) -> None:
    # Resolve first: a resident seen again must not be counted as firing once more.
    params = {"community": community.id, "rule": rule.name}
    for row in conn.execute(queries.ACTIVE_ALERTS, params).fetchall():
        alert = ActiveAlert(id=row["id"], rule=row["rule"], subject=row["subject"],
                            status=row["status"], tier=row["tier"], details=row["details"] or {})
        resolution = rule.should_resolve(conn, community, alert, now)
        if resolution is not None and alerts.resolve(conn, alert_id=alert.id,
                                                     resolution=resolution, now=now,
                                                     locale=community.locale):
            result.resolved.append(alert.id)
            result.changes.append(Change(alert.id, rule.name, alert.subject, "resolved",
                                         resolution.note))
    for firing in rule.evaluate(conn, community, now):
        raised = alerts.raise_or_refresh(conn, community=community, rule=rule, firing=firing,
                                         settings=settings, now=now)
        (result.raised if raised.inserted else result.refreshed).append(raised.alert.id)
        if raised.inserted:
            reason = firing.details.get("reason")
            result.changes.append(Change(raised.alert.id, rule.name, firing.subject, "raised",
                                         str(reason) if reason is not None else None))


def community_ids(conn: Conn) -> list[str]:
    """Every community's id."""
    return [row["id"] for row in conn.execute(queries.COMMUNITIES).fetchall()]


def evaluate_all(conn: Conn, settings: Settings, now: dt.datetime | None = None, *,
                 rules: Sequence[Rule] | None = None) -> list[Evaluation]:
    """Evaluate every community; one failing community is logged and the rest still run."""
    active_rules = list(rules) if rules is not None else default_rules(settings)
    results = []
    for community in community_ids(conn):
        try:
            results.append(evaluate_community(conn, community, settings, now,
                                              rules=active_rules))
        except Exception:
            log.exception("evaluating community %s failed; going on", community)
    return results
