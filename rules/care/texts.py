"""User-facing text of the care rules: titles, the explanation a grid worker reads, pushes.

The explanation is built from the alert's structured details only, so the alert shown in
the API and the push say the same facts, e.g.
``平时这个时段最长约3小时没有动静，现在已6小时；最后一次：今天09:12 2单元门禁（进）；门禁与网关均在线``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from linli.i18n import Catalog, normalise_locale
from rules import texts as t

TEXTS = Catalog({
    "care.title.silent_at_home": {"zh-CN": "独居老人在家异常安静", "en": "Unusual silence at home"},
    "care.title.backstop": {
        "zh-CN": "独居老人超过{hours}小时无任何动静",
        "en": "No sign of life for over {hours} hours",
    },
    "care.title.not_back": {"zh-CN": "独居老人外出未归", "en": "Went out and not back"},
    "care.title.absence_overdue": {
        "zh-CN": "报备外出已到期，尚未返回",
        "en": "Registered absence over, not back yet",
    },
    "care.alert_title": {"zh-CN": "{title}：{name}", "en": "{title}: {name}"},
    "care.usual.own": {
        "zh-CN": "平时这个时段最长约{usual}没有动静，现在已{now}",
        "en": "At this time of day the longest usual silence is about {usual}; it is now {now}",
    },
    "care.usual.prior": {
        "zh-CN": "该居民的规律尚在学习中（按一般规律，此时段约{usual}无动静属正常），现在已{now}",
        "en": "Still learning this resident's habits (by the general pattern about {usual} of "
              "silence is usual now); it is now {now}",
    },
    "care.usual.not_back": {
        "zh-CN": "平时外出这个时段最长约{usual}便回家，这次已外出{now}",
        "en": "Outings at this time of day usually end within about {usual}; this one has "
              "lasted {now}",
    },
    "care.usual.backstop": {
        "zh-CN": "已{now}没有任何动静（超过{hours}小时必报）",
        "en": "No sign of life for {now} (over {hours} hours always alerts)",
    },
    "care.usual.never": {
        "zh-CN": "登记{now}以来没有任何通行或室内活动记录",
        "en": "No passage or activity on record in the {now} since registration",
    },
    "care.last": {"zh-CN": "最后一次：{time} {what}", "en": "Last sign: {time}, {what}"},
    "care.last.activity": {"zh-CN": "{device}有活动", "en": "activity on {device}"},
    "care.last.visit": {"zh-CN": "工作人员上门确认", "en": "a confirmed visit"},
    "care.devices.ok": {"zh-CN": "门禁与网关均在线", "en": "door devices and gateway online"},
    "care.devices.unknown": {
        "zh-CN": "设备状态未上报",
        "en": "no device status reported",
    },
    "care.hours": {"zh-CN": "{h}小时", "en": "{h} h"},
    "care.minutes": {"zh-CN": "{m}分钟", "en": "{m} min"},
    "care.today": {"zh-CN": "今天{hm}", "en": "today {hm}"},
    "care.yesterday": {"zh-CN": "昨天{hm}", "en": "yesterday {hm}"},
    "care.absence.overdue": {
        "zh-CN": "报备外出（{reason}）已于{until}到期，之后没有任何动静",
        "en": "The registered absence ({reason}) ended {until}; no sign of life since",
    },
    "care.resolved.seen": {
        "zh-CN": "{time}有新的动静（{what}），系统自动解除。",
        "en": "New sign of life at {time} ({what}); resolved automatically.",
    },
    "care.resolved.absence": {
        "zh-CN": "已登记外出（{reason}，至{until}），系统自动解除。",
        "en": "An absence was registered ({reason}, until {until}); resolved automatically.",
    },
    "care.resolved.unwatched": {
        "zh-CN": "该居民已不在关注名单，系统自动解除。",
        "en": "The resident is no longer watched; resolved automatically.",
    },
    "device.title": {"zh-CN": "设备离线：{device}", "en": "Device offline: {device}"},
    "device.agent": {"zh-CN": "楼栋采集终端", "en": "building agent"},
    "device.body": {
        "zh-CN": "{device}自{since}起未上报状态。",
        "en": "{device} has not reported since {since}.",
    },
    "device.effect": {
        "zh-CN": "离线期间，该处居民的无动静判断暂停，恢复后自动补判。",
        "en": "While it is offline, silence checks for the residents behind it are paused; "
              "they resume when it is back.",
    },
    "device.action": {
        "zh-CN": "告警编号：#{alert_id}。请安装维护人员检查供电与网络。",
        "en": "Alert #{alert_id}. Please have an installer check its power and network.",
    },
    "device.resolved": {
        "zh-CN": "设备于{time}恢复上报，系统自动解除。",
        "en": "The device reported again at {time}; resolved automatically.",
    },
    "device.spool_full.title": {"zh-CN": "边缘网关缓存已满：{device}",
                                "en": "Edge gateway spool full: {device}"},
    "device.spool_full.body": {
        "zh-CN": "边缘网关缓存已满：暂停读取门禁记录，网络恢复或腾出空间后自动继续"
                 "（{device}，自{since}起）。",
        "en": "The edge gateway's spool is full: door records are not read for now; it goes "
              "on by itself once the network is back or space is freed ({device}, since "
              "{since}).",
    },
    "device.spool_full.effect": {
        "zh-CN": "期间门禁记录留在门禁设备中不会丢失，但该楼居民的无动静判断暂停，恢复后自动补判。",
        "en": "The door records stay on the door devices and are not lost, but silence checks "
              "for the residents of this building are paused; they resume when it goes on.",
    },
    "device.spool_full.action": {
        "zh-CN": "告警编号：#{alert_id}。请检查网关的网络连接与磁盘空间。",
        "en": "Alert #{alert_id}. Please check the gateway's network connection and disk space.",
    },
    "device.spool_full.resolved": {
        "zh-CN": "网关于{time}恢复正常读取，系统自动解除。",
        "en": "The gateway was reading again at {time}; resolved automatically.",
    },
    "care.who": {"zh-CN": "居民：{name}（{home}）", "en": "Resident: {name} ({home})"},
})

text = TEXTS
"""``text(key, locale, **values)``, as ``rules.texts.text`` reads its own catalog."""


def hours(value: float, locale: str | None) -> str:
    """``约3小时`` style durations: minutes under an hour, else hours to the half."""
    if value < 1:
        return TEXTS("care.minutes", locale, m=max(1, round(value * 60)))
    rounded = round(value * 2) / 2
    return TEXTS("care.hours", locale, h=f"{rounded:g}")


def when(value: str | dt.datetime | None, now: dt.datetime, tz: ZoneInfo,
         locale: str | None) -> str:
    """``今天09:12`` / ``昨天21:40`` / ``12月3日 08:00``."""
    if value is None:
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    hm = local.strftime("%H:%M")
    if local.date() == today:
        return TEXTS("care.today", locale, hm=hm)
    if local.date() == today - dt.timedelta(days=1):
        return TEXTS("care.yesterday", locale, hm=hm)
    return t.local_time(moment, tz, locale)


def describe_signal(last: Mapping[str, Any], locale: str | None) -> str:
    """``2单元门禁（进）`` for a door, ``卫生间水表有活动`` for in-home activity."""
    place = {"device": last.get("device"), "device_name": last.get("device_name"),
             "building": last.get("building"), "building_name": last.get("building_name")}
    if last.get("kind") == "activity":
        return TEXTS("care.last.activity", locale,
                     device=last.get("device_name") or last.get("device") or "?")
    if last.get("kind") == "visit":
        return TEXTS("care.last.visit", locale)
    return t.describe_where(place | {"direction": last.get("direction")}, locale)


def explanation(details: Mapping[str, Any], now: dt.datetime, tz: ZoneInfo,
                locale: str | None) -> str:
    """The one line that says why: usual vs now, the last sign, whether devices are fine."""
    zh = normalise_locale(locale) == "zh-CN"
    parts = [_usual(details, locale)]
    last = details.get("last")
    if last:
        parts.append(TEXTS("care.last", locale, time=when(last.get("at"), now, tz, locale),
                           what=describe_signal(last, locale)))
    devices = details.get("devices") or {}
    parts.append(TEXTS("care.devices.ok" if devices.get("reporting") else
                       "care.devices.unknown", locale))
    return ("；" if zh else "; ").join(parts)


def _usual(details: Mapping[str, Any], locale: str | None) -> str:
    finding = details.get("reason")
    silent = hours(float(details.get("silent_h", 0.0)), locale)
    usual = hours(float(details.get("usual_longest_h", 0.0)), locale)
    if finding == "backstop":
        if not details.get("last"):
            return TEXTS("care.usual.never", locale, now=silent)
        return TEXTS("care.usual.backstop", locale, now=silent,
                     hours=f"{float(details.get('backstop_h', 47)):g}")
    if finding == "not_back":
        return TEXTS("care.usual.not_back", locale, usual=usual, now=silent)
    key = "care.usual.own" if details.get("usual_source") in ("own", "blend") else \
        "care.usual.prior"
    return TEXTS(key, locale, usual=usual, now=silent)
