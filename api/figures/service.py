"""Data access of the figures domain: one statement per grouping, shares computed from its
counts (definitions in ``api.figures.models``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.deps import Conn
from api.figures import queries
from api.figures.models import (
    Figures,
    FiguresQuery,
    FiguresReport,
    GroupBy,
    GroupFigures,
    RuleFigures,
)
from api.security import Principal

STATEMENTS: dict[GroupBy, str] = {
    "community": queries.FIGURES_BY_COMMUNITY,
    "grid": queries.FIGURES_BY_GRID,
    "worker": queries.FIGURES_BY_WORKER,
    "rule": queries.FIGURES_BY_RULE,
}

SHARES = {
    "ack_on_time_share": ("ack_on_time", "ack_due"),
    "feedback_on_time_share": ("feedback_on_time", "feedback_due"),
    "resolution_rate": ("settled", "raised"),
    "completion_rate": ("archived", "raised"),
    "false_alarm_share": ("false_alarms", "with_outcome"),
}
"""Each share: (numerator, denominator) of the counts the statement returns."""

DURATIONS = ("ack_median_s", "ack_p90_s", "close_median_s", "close_p90_s")


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its shares, and durations rounded to a tenth of a second."""
    values = dict(row)
    for share, (part, whole) in SHARES.items():
        values[share] = round(row[part] / row[whole], 4) if row[whole] else None
    for name in DURATIONS:
        if values[name] is not None:
            values[name] = round(float(values[name]), 1)
    return values


async def figures(*, conn: Conn, query: FiguresQuery, principal: Principal,
                  escalate_after: dt.timedelta) -> FiguresReport:
    """The month's figures of every group the principal may see, grouped ``query.by``."""
    params: dict[str, Any] = {
        **principal.scope,
        "community": principal.community_filter(query.community),
        "month": query.first_day,
        "escalate_after": escalate_after,
    }
    rows = await (await conn.execute(STATEMENTS[query.by], params)).fetchall()
    groups: list[GroupFigures] = []
    for row in rows:
        values = _figures(row)
        if query.by != "rule" and row["rule"] is not None:
            # Rows come ordered: a group's own row first, then its rules.
            groups[-1].rules.append(RuleFigures.model_validate(values))
        else:
            groups.append(GroupFigures.model_validate(values))
    return FiguresReport(by=query.by, month=query.month,
                         escalate_after_min=escalate_after.total_seconds() / 60,
                         groups=groups)


def totals_and_rules(group: GroupFigures) -> list[tuple[str | None, Figures]]:
    """A group's own figures (rule None) followed by each of its rules'."""
    return [(None, group), *((r.rule, r) for r in group.rules)]
