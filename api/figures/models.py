"""Pydantic models of the figures domain, and what every figure means.

The figures of a group (a community, a grid, a worker or a rule) count the alerts
**raised** in one calendar month of the community's time zone, whatever happened to them
later; they change while those alerts are still being handled.

- ``raised``: alerts raised in the month.
- ``acknowledged``, ``ack_median_s``, ``ack_p90_s``: alerts acknowledged, and the median
  and 90th percentile (``percentile_cont``, interpolated) of ``acknowledged_at -
  raised_at`` in seconds over them.
- ``closed``, ``close_median_s``, ``close_p90_s``: alerts resolved (status resolved or
  archived: on-site feedback filed, or the system saw the cause go away), and the same of
  ``resolved_at - raised_at``.
- ``ack_on_time_share`` = ``ack_on_time / ack_due``: acknowledged before the first
  escalation would fire (``raised_at + rules.escalate_after_min``), over the alerts that
  had to be acknowledged in time: those acknowledged, and those still unacknowledged
  when that moment passed (closed after it, or still open). An alert the system closed
  before its deadline, unacknowledged, needed nobody and is not counted.
- ``feedback_on_time_share`` = ``feedback_on_time / feedback_due``: on-site feedback
  (an ``outcome``) filed before ``feedback_due_at``, over the alerts with a feedback
  deadline that got feedback or are still waiting past the deadline.
- ``resolution_rate`` (化解率) = ``settled / raised``: alerts now resolved or archived,
  either with a verified on-site outcome (any of the six, 误报 included: the risk is
  known to be nil) or by the system because the cause went away (the resident was seen
  again), over the alerts raised. An alert closed by a person without an outcome (before
  outcomes existed) is not settled; one returned by the review is open again.
- ``completion_rate`` (办结率) = ``archived / raised``: alerts archived (归档: feedback
  accepted by the control room, or resolved by the system, then filed) over alerts raised.
- ``false_alarm_share`` = ``false_alarms / with_outcome``: outcome ``false_alarm`` (误报)
  over the resolved alerts with an outcome; per rule in ``rules``.

A share is null when its denominator is zero.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

GroupBy = Literal["community", "grid", "worker", "rule"]
Language = Literal["zh-CN", "en"]
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class FiguresQuery(BaseModel):
    """Parameters of ``GET /api/v1/figures``."""

    model_config = ConfigDict(extra="forbid")

    community: str | None = Field(None, max_length=64,
                                  description="one community (default: every one you see)")
    month: str | None = Field(None, description="YYYY-MM in the community's time zone "
                                                "(default: the current month)")
    by: GroupBy = Field("community", description="one row per community, grid, worker "
                                                 "(the assignee) or rule")

    @field_validator("month")
    @classmethod
    def _valid_month(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _MONTH.match(value)
        if not match or not 2000 <= int(match[1]) <= 2999 or not 1 <= int(match[2]) <= 12:
            raise ValueError("a month is YYYY-MM, e.g. 2026-05")
        return value

    @property
    def first_day(self) -> dt.date | None:
        """The month's first day, or None for the current month."""
        if self.month is None:
            return None
        year, month = self.month.split("-")
        return dt.date(int(year), int(month), 1)


class FiguresCsvQuery(FiguresQuery):
    """Parameters of ``GET /api/v1/figures.csv``: those of the JSON, and the header's
    language."""

    lang: Language = Field("zh-CN", description="language of the header row")


class Figures(BaseModel):
    """The figures of one group, or of one rule within it (definitions: module docstring)."""

    raised: int
    acknowledged: int
    ack_median_s: float | None = None
    ack_p90_s: float | None = None
    closed: int
    close_median_s: float | None = None
    close_p90_s: float | None = None
    ack_due: int
    ack_on_time: int
    ack_on_time_share: float | None = None
    feedback_due: int
    feedback_on_time: int
    feedback_on_time_share: float | None = None
    settled: int
    resolution_rate: float | None = Field(None, description="化解率: settled / raised")
    archived: int
    completion_rate: float | None = Field(None, description="办结率: archived / raised")
    with_outcome: int
    false_alarms: int
    false_alarm_share: float | None = Field(None, description="false_alarms / with_outcome")


class RuleFigures(Figures):
    """The figures of one rule's alerts within a group."""

    rule: str


class GroupFigures(Figures):
    """One community, grid, worker or rule in one month, with its rules' figures."""

    community: str
    month: str = Field(description="YYYY-MM in the community's time zone")
    key: str | None = Field(description="the community, grid, worker or rule id; null: "
                                        "alerts without a grid, or not dispatched to anyone")
    name: str | None = None
    rules: list[RuleFigures] = Field(default_factory=list,
                                     description="the same per rule (empty when by=rule)")


class FiguresReport(BaseModel):
    """``GET /api/v1/figures``."""

    by: GroupBy
    month: str | None = Field(description="as asked; null: each community's current month")
    escalate_after_min: float = Field(description="the first escalation's delay, which "
                                                  "acknowledging on time beats")
    groups: list[GroupFigures]
