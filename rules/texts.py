"""User-facing text of the rules engine: alert titles, push texts, timeline notes.

Simplified Chinese by default, English available (``linli.i18n.Catalog``). The helpers
below turn the structured alert details into the short phrases the templates need, in
the community's local time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from linli.i18n import Catalog, normalise_locale
from linli.pushes import local_time as local_time  # shared with the API's pushes

TEXTS = Catalog({
    "push.title": {"zh-CN": "【邻里】{title}", "en": "[Linli] {title}"},
    "push.title.escalated": {
        "zh-CN": "【邻里·第{tier}级】{title}",
        "en": "[Linli · tier {tier}] {title}",
    },
    "push.escalated": {
        "zh-CN": "网格员未及时确认，已升级至第{tier}级（指挥中心）。",
        "en": "Not acknowledged in time: escalated to tier {tier} (control room).",
    },
    "push.action": {
        "zh-CN": "告警编号：#{alert_id}。请尽快上门查看，并通过下方链接确认和反馈。",
        "en": "Alert #{alert_id}. Please visit the resident, then acknowledge and report "
              "back through the link below.",
    },
    "silent.title.not_seen_today": {
        "zh-CN": "独居老人今日未出现",
        "en": "Elderly resident living alone not seen today",
    },
    "silent.title.not_seen_hours": {
        "zh-CN": "独居老人超过{hours}小时未出现",
        "en": "Elderly resident living alone not seen for over {hours} hours",
    },
    "silent.alert_title": {"zh-CN": "{title}：{name}", "en": "{title}: {name}"},
    "silent.who": {"zh-CN": "居民：{name}（{home}）", "en": "Resident: {name} ({home})"},
    "silent.last_seen": {
        "zh-CN": "最后出现：{time}，{where}",
        "en": "Last seen: {time}, {where}",
    },
    "silent.never_seen": {
        "zh-CN": "最后出现：无通行记录（登记于{time}）",
        "en": "Last seen: no passage on record (registered {time})",
    },
    "silent.visited": {
        "zh-CN": "上次上门确认：{time}",
        "en": "Last visit confirmed: {time}",
    },
    "silent.care_level": {"zh-CN": "照护等级：{level}级", "en": "Care level: {level}"},
    "contacts_link": {
        "zh-CN": "本人及紧急联系人电话请点击下方链接查看。",
        "en": "The resident's and emergency contacts' phones are behind the link below.",
    },
    "silent.resolved": {
        "zh-CN": "居民于{time}在{where}再次出现，系统自动解除。",
        "en": "The resident was seen again at {time}, {where}; resolved automatically.",
    },
    "timeline.dispatched": {
        "zh-CN": "已转派第{tier}级：{workers}",
        "en": "Dispatched to tier {tier}: {workers}",
    },
    "timeline.no_recipients": {
        "zh-CN": "第{tier}级无可通知人员",
        "en": "Nobody to notify at tier {tier}",
    },
    "timeline.escalated": {
        "zh-CN": "超时未确认，升级至第{tier}级",
        "en": "Not acknowledged in time; escalated to tier {tier}",
    },
    "timeline.feedback_overdue": {
        "zh-CN": "核查反馈超时未提交，已提醒：{workers}",
        "en": "On-site feedback overdue; reminded: {workers}",
    },
    "timeline.notified": {
        "zh-CN": "已推送给{worker}（{channel}）",
        "en": "Pushed to {worker} ({channel})",
    },
    "timeline.notify_unknown": {
        "zh-CN": "推送给{worker}（{channel}）的第{attempt}次尝试结果未知（发送中断），将以同一编号{ref}重发",
        "en": "Attempt {attempt} to push to {worker} ({channel}) ended with no result (sending "
              "was interrupted); it is sent again with the same reference {ref}",
    },
    "timeline.notify_failed": {
        "zh-CN": "推送给{worker}（{channel}）失败{attempts}次，已停止重试：{error}",
        "en": "Push to {worker} ({channel}) failed {attempts} times; gave up: {error}",
    },
    "push.resolved_title": {"zh-CN": "【邻里·已解除】{title}", "en": "[Linli · resolved] {title}"},
    "push.resolved_body": {
        "zh-CN": "{note}\n告警编号：#{alert_id}，无需再上门。",
        "en": "{note}\nAlert #{alert_id}: no visit needed any more.",
    },
    "timeline.resolved_notice": {
        "zh-CN": "已通知{sent}人告警解除；撤回未发送推送{withdrawn}条",
        "en": "Resolution notice to {sent}; {withdrawn} unsent pushes withdrawn",
    },
    "home.unknown": {"zh-CN": "住址未登记", "en": "address unknown"},
    "home.room": {"zh-CN": "{room}室", "en": "room {room}"},
    "where.unknown": {"zh-CN": "地点不明", "en": "place unknown"},
    "direction.in": {"zh-CN": "进", "en": "in"},
    "direction.out": {"zh-CN": "出", "en": "out"},
})


def text(key: str, locale: str | None, **values: Any) -> str:
    """One message from the catalog."""
    return TEXTS(key, locale, **values)


def describe_home(home: Mapping[str, Any] | None, locale: str | None) -> str:
    """``1栋1单元101室`` / ``1栋 1单元 room 101``: building, unit and room as known."""
    if not home:
        return text("home.unknown", locale)
    parts = [home.get("building_name") or home.get("building"),
             home.get("unit_name") or home.get("unit")]
    if home.get("room"):
        parts.append(text("home.room", locale, room=home["room"]))
    joiner = "" if normalise_locale(locale) == "zh-CN" else " "
    return joiner.join(str(p) for p in parts if p) or text("home.unknown", locale)


def describe_where(where: Mapping[str, Any] | None, locale: str | None) -> str:
    """``1栋1单元门禁（进）`` / ``b01-u1-door (in)``: the device and direction of a passage."""
    if not where:
        return text("where.unknown", locale)
    place = where.get("device_name") or where.get("device") or text("where.unknown", locale)
    building = where.get("building_name") or where.get("building")
    if building and not str(place).startswith(str(building)):
        place = f"{building} {place}"
    direction = where.get("direction")
    if direction in ("in", "out"):
        arrow = text(f"direction.{direction}", locale)
        return f"{place}（{arrow}）" if normalise_locale(locale) == "zh-CN" else f"{place} ({arrow})"
    return str(place)


def join_names(names: Sequence[str], locale: str | None) -> str:
    """``王芳、李强`` / ``Wang Fang, Li Qiang``."""
    return ("、" if normalise_locale(locale) == "zh-CN" else ", ").join(names)


def push_title(title: str, tier: int, locale: str | None) -> str:
    """The push title: the brand prefix, and the tier once the alert has escalated."""
    if tier > 1:
        return text("push.title.escalated", locale, tier=tier, title=title)
    return text("push.title", locale, title=title)
