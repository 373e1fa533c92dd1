"""When a resident's baseline is learned again (``Watch._baseline_due``), without a database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from linli.settings import SilenceSettings
from rules.care.watch import Watch

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def row(*, first: dt.datetime | None, computed: dt.datetime | None,
        history_days: float = 0.0) -> dict[str, Any]:
    return {"first_signal_at": first, "baseline_at": computed, "history_days": history_days}


def test_a_baseline_is_learned_when_missing_and_every_refresh_period() -> None:
    watch = Watch(SilenceSettings())
    assert not watch._baseline_due(row(first=None, computed=None), NOW)
    assert watch._baseline_due(row(first=NOW - dt.timedelta(days=2), computed=None), NOW)
    fresh = row(first=NOW - dt.timedelta(days=2), computed=NOW - dt.timedelta(hours=1),
                history_days=2 - 1 / 24)
    assert not watch._baseline_due(fresh, NOW)
    assert watch._baseline_due(fresh, NOW + dt.timedelta(hours=5, minutes=1))


def test_older_history_arriving_is_learned_at_once_until_the_window_is_full() -> None:
    watch = Watch(SilenceSettings())
    # Learned from one day; a terminal's catch-up has since brought two weeks more.
    caught_up = row(first=NOW - dt.timedelta(days=15), computed=NOW - dt.timedelta(minutes=5),
                    history_days=1.0)
    assert watch._baseline_due(caught_up, NOW)
    # A resident with months of history: the baseline spans the window (its first sign in
    # the window came some hours after the window's start); nothing older can matter.
    settled = row(first=NOW - dt.timedelta(days=90), computed=NOW - dt.timedelta(minutes=5),
                  history_days=27.6)
    assert not watch._baseline_due(settled, NOW)
