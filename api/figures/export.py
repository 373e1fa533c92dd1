"""The figures as CSV for spreadsheets: a UTF-8 byte-order mark (so that Excel reads the
Chinese header as UTF-8), a header row in the asked language, then per group one row of
its totals (rule 全部 / all) followed by one row per rule. Shares are percentages with one
decimal, durations whole seconds; an empty cell means no value (nothing to divide by).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from api.figures.models import Figures, FiguresReport, GroupBy, Language
from api.figures.service import totals_and_rules

BOM = "\ufeff"

Column = tuple[str, str, str]
"""(field of ``Figures``, zh-CN header, en header)."""

COUNT_COLUMNS: tuple[Column, ...] = (
    ("raised", "告警数", "alerts raised"),
    ("acknowledged", "已确认", "acknowledged"),
    ("ack_median_s", "确认用时中位数(秒)", "time to acknowledge, median (s)"),
    ("ack_p90_s", "确认用时P90(秒)", "time to acknowledge, p90 (s)"),
    ("closed", "已处置", "closed"),
    ("close_median_s", "处置用时中位数(秒)", "time to close, median (s)"),
    ("close_p90_s", "处置用时P90(秒)", "time to close, p90 (s)"),
    ("ack_due", "应按时确认", "acknowledgements due"),
    ("ack_on_time", "按时确认", "acknowledged on time"),
    ("ack_on_time_share", "按时确认率(%)", "acknowledged on time (%)"),
    ("feedback_due", "应按时反馈", "feedback due"),
    ("feedback_on_time", "按时反馈", "feedback on time"),
    ("feedback_on_time_share", "按时反馈率(%)", "feedback on time (%)"),
    ("settled", "已化解", "settled"),
    ("resolution_rate", "化解率(%)", "resolution rate (%)"),
    ("archived", "已办结", "archived"),
    ("completion_rate", "办结率(%)", "completion rate (%)"),
    ("with_outcome", "有核查结果", "with an outcome"),
    ("false_alarms", "误报", "false alarms"),
    ("false_alarm_share", "误报率(%)", "false alarm share (%)"),
)

KEY_HEADERS: dict[GroupBy, tuple[str, str]] = {
    "community": ("社区", "community"),
    "grid": ("网格", "grid"),
    "worker": ("网格员", "worker"),
    "rule": ("规则", "rule"),
}
NO_KEY: dict[GroupBy, tuple[str, str]] = {
    "community": ("", ""),
    "grid": ("（无网格）", "(no grid)"),
    "worker": ("（未派单）", "(not dispatched)"),
    "rule": ("", ""),
}
ALL_RULES = ("全部", "all")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _pick(pair: tuple[str, str], lang: Language) -> str:
    return pair[0] if lang == "zh-CN" else pair[1]


def _text(value: str | None) -> str:
    """A text cell that a spreadsheet will not run as a formula (names come from users)."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _number(field: str) -> Callable[[Figures], str]:
    def cell(figures: Figures) -> str:
        value = getattr(figures, field)
        if value is None:
            return ""
        if field.endswith(("_share", "_rate")):
            return f"{value * 100:.1f}"
        if field.endswith("_s"):
            return str(round(value))
        return str(value)

    return cell


def figures_csv(report: FiguresReport, lang: Language) -> str:
    """The report as CSV text, the byte-order mark first."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([
        _pick(("社区", "community"), lang), _pick(("月份", "month"), lang),
        _pick(KEY_HEADERS[report.by], lang), _pick(("名称", "name"), lang),
        _pick(("规则", "rule"), lang), *(_pick((zh, en), lang) for _, zh, en in COUNT_COLUMNS),
    ])
    cells = [_number(field) for field, _, _ in COUNT_COLUMNS]
    for group in report.groups:
        key = group.key if group.key is not None else _pick(NO_KEY[report.by], lang)
        for rule, figures in totals_and_rules(group):
            if report.by == "rule":
                rule = group.key
            writer.writerow([
                _text(group.community), group.month, _text(key), _text(group.name),
                _text(rule if rule is not None else _pick(ALL_RULES, lang)),
                *(cell(figures) for cell in cells),
            ])
    return out.getvalue()
