"""Scoring replay output: false alerts, detection delay, figures and the table."""

from __future__ import annotations

import datetime as dt
import json
import math

from bench.homes.model import Home, Stay
from bench.silence.metrics import (
    AlertLine,
    Window,
    nearest_rank,
    parse_alert_lines,
    score_window,
    summarize,
)
from bench.silence.report import Row, render_markdown, render_text

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
HOME = Home("r-1", "h-1", "b01", (Stay(T0, T0 + 100 * H, "home"),
                                  Stay(T0 + 100 * H, T0 + 150 * H, "away"),
                                  Stay(T0 + 150 * H, T0 + 500 * H, "home")))


def line(hours: float, change: str = "raised", alert: str = "1", subject: str = "r-1",
         rule: str = "silent_resident") -> AlertLine:
    return AlertLine(T0 + hours * H, alert, rule, subject, change, None)


def test_parse_alert_lines_keeps_alerts_and_returns_the_rest() -> None:
    text = "\n".join([
        json.dumps({"at": "2026-03-02T20:00:00+08:00", "alert": 7, "rule": "silent_resident",
                    "subject": "r-1", "change": "raised", "reason": "not_seen_today"}),
        json.dumps({"at": "2026-03-03T01:00:00Z", "alert": "7", "rule": "silent_resident",
                    "subject": "r-1", "change": "resolved", "reason": None}),
        "", "not json", json.dumps({"at": "2026-03-03T01:00:00", "alert": 1, "rule": "x",
                                    "subject": "r", "change": "raised"})])
    lines, rejected = parse_alert_lines(text)
    assert [(x.alert, x.change, x.reason) for x in lines] == [
        ("7", "raised", "not_seen_today"), ("7", "resolved", None)]
    assert lines[0].at == dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    assert len(rejected) == 2  # not JSON; a time without offset


def test_false_alerts_without_incident_count_wherever_the_resident_was() -> None:
    lines = [line(20), line(21, "escalated"), line(30, "resolved"),
             line(110, alert="2"),  # during the trip: false all the same
             line(120, alert="3", subject="r-2"),  # someone else
             line(600, alert="4")]  # after the window
    score = score_window(lines, Window(HOME, T0, T0 + 500 * H))
    assert score.false_alerts == {"home": 1, "out": 0, "away": 1}
    assert not score.incident and score.delay is None
    assert math.isclose(score.exposure_days, 500 / 24)


def test_detection_is_the_first_alert_raised_at_or_after_t() -> None:
    window = Window(HOME, T0, T0 + 500 * H, incident_at=T0 + 200 * H)
    lines = [line(20), line(25, "resolved"), line(201, "resolved", alert="9"),
             line(214, alert="2"), line(215, alert="3")]
    score = score_window(lines, window)
    assert score.false_alerts["home"] == 1
    assert score.delay == 14 * H and not score.open_at_incident
    assert math.isclose(score.exposure_days, 200 / 24)


def test_alerts_after_48_hours_do_not_count_and_open_alerts_are_noted() -> None:
    window = Window(HOME, T0, T0 + 500 * H, incident_at=T0 + 200 * H)
    late = score_window([line(249, alert="2")], window)
    assert late.delay is None and late.incident
    still_open = score_window([line(190), line(210, "escalated")], window)
    assert still_open.open_at_incident and still_open.delay is None


def test_nearest_rank() -> None:
    assert nearest_rank([3.0, 1.0, 2.0, 4.0], 0.5) == 2.0
    assert nearest_rank([1.0, 2.0, math.inf], 0.9) == math.inf
    assert math.isnan(nearest_rank([], 0.5))


def test_summary_and_table() -> None:
    incident = Window(HOME, T0, T0 + 500 * H, incident_at=T0 + 200 * H)
    scores = [score_window([line(110)], Window(HOME, T0, T0 + 480 * H)),
              score_window([line(210)], incident),
              score_window([line(215)], incident),
              score_window([], incident),
              score_window([line(199)], incident)]
    figures = summarize(scores, homes=1, resident_days=20)
    assert figures.incidents == 4 and figures.open_at_incident == 1
    assert figures.false_alerts == {"home": 1, "out": 0, "away": 1}
    assert math.isclose(figures.false_per_day, 2 / (20 + 4 * 200 / 24))
    assert (figures.delay_p50_h, figures.delay_p90_h) == (15.0, math.inf)
    assert math.isclose(figures.undetected, 1 / 3)
    rows = [Row("synthetic", "door", "24h", figures)]
    text = render_text(rows)
    assert "> 48 h" in text and "15.0 h" in text and "33 %" in text and "2 (1/0/1)" in text
    assert render_markdown(rows).splitlines()[2].startswith("| synthetic | door | 24h | 1 |")
