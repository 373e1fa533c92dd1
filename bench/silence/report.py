"""The results table, as plain text or markdown, one row per data set × variant × detector."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.silence.metrics import HORIZON, Figures

__all__ = ["Row", "render_markdown", "render_text"]

COLUMNS = ("data", "signals", "detector", "homes", "res-days", "incidents", "open at T",
           "false/res-day", "false (home/out/away)", "delay p50", "delay p90", "undetected")


@dataclass(frozen=True, slots=True)
class Row:
    dataset: str
    variant: str
    detector: str
    figures: Figures


def hours(value: float) -> str:
    """A delay in hours; infinite (undetected) or past the horizon reads ``> 48 h``."""
    if math.isnan(value):
        return "–"
    if math.isinf(value) or value > HORIZON.total_seconds() / 3600:
        return f"> {HORIZON.total_seconds() / 3600:.0f} h"
    return f"{value:.1f} h"


def cells(row: Row) -> list[str]:
    f = row.figures
    false = f.false_alerts
    return [row.dataset, row.variant, row.detector, str(f.homes), f"{f.resident_days:.0f}",
            str(f.incidents), str(f.open_at_incident),
            "–" if math.isnan(f.false_per_day) else f"{f.false_per_day:.3f}",
            f"{f.false_total} ({false['home']}/{false['out']}/{false['away']})",
            hours(f.delay_p50_h), hours(f.delay_p90_h),
            "–" if math.isnan(f.undetected) else f"{100 * f.undetected:.0f} %"]


def render_text(rows: Sequence[Row]) -> str:
    """An aligned plain-text table; a blank line between data sets."""
    table = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    out = []
    previous = None
    for i, line in enumerate(table):
        key = None if i == 0 else rows[i - 1].dataset
        if i > 1 and key != previous:
            out.append("")
        previous = key
        out.append("  ".join(c.ljust(w) if j < 3 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(line, widths, strict=True))))
    return "\n".join(line.rstrip() for line in out)


def render_markdown(rows: Sequence[Row]) -> str:
    """The same table in markdown."""
    head = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" if i < 3 else "---:" for i in range(len(COLUMNS))) + "|"
    body = ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return "\n".join([head, rule, *body])
