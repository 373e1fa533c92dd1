"""Every scored window as one JSON line, for looking into a figure of the table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.silence.metrics import Score

if TYPE_CHECKING:
    from bench.silence.plan import Job

__all__ = ["score_rows", "write_results"]


def score_rows(results: Mapping[tuple[str, str], list[tuple[Job, list[Score]]]]
               ) -> list[dict[str, Any]]:
    """One row per (replay, resident): where it came from and how it scored."""
    rows = []
    for (key, detector), runs in sorted(results.items()):
        for job, scores in runs:
            for window, score in zip(job.windows, scores, strict=True):
                rows.append({
                    "job": key, "detector": detector, "resident": score.resident,
                    "incident_at": window.incident_at.isoformat() if window.incident_at else None,
                    "delay_h": (None if score.delay is None
                                else round(score.delay.total_seconds() / 3600, 3)),
                    "false_alerts": score.false_alerts, "exposure_days": round(
                        score.exposure_days, 3), "open_at_incident": score.open_at_incident})
    return rows


def write_results(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
