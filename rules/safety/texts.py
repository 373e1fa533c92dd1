"""User-facing text of the safety rules: alert titles, push texts, resolution notes.

Simplified Chinese by default, English available. Every push says what happened, where
(the building's and the device's display names, else their ids), when (in the
community's local time) and what to do. Shared phrasing (local times, places, the
escalation line) comes from ``rules.texts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from linli.i18n import Catalog
from rules import texts as base

MESSAGES: dict[str, dict[str, str]] = {
    "alert_title": {"zh-CN": "{title}：{where}", "en": "{title}: {where}"},
    "push.title.critical": {"zh-CN": "【邻里·紧急】{title}", "en": "[Linli · URGENT] {title}"},
    "push.title.critical.escalated": {
        "zh-CN": "【邻里·紧急·第{tier}级】{title}",
        "en": "[Linli · URGENT · tier {tier}] {title}",
    },
    "repeat": {
        "zh-CN": "共{count}次，首次{first}，最近一次{last}。",
        "en": "{count} times: first {first}, latest {last}.",
    },
    "people": {"zh-CN": "相关人员编号：{people}", "en": "Person ids: {people}"},
    "credentials": {"zh-CN": "凭证：{credentials}", "en": "Credentials: {credentials}"},
    "closing.person": {
        "zh-CN": "告警编号：#{alert_id}。处置完毕后请通过下方链接反馈。",
        "en": "Alert #{alert_id}. Once handled, report back through the link below.",
    },
    "closing.auto": {
        "zh-CN": "告警编号：#{alert_id}。请通过下方链接反馈处置情况。",
        "en": "Alert #{alert_id}. Please report what was done through the link below.",
    },
    # duress
    "duress.title": {"zh-CN": "门禁胁迫报警", "en": "Duress alarm at a door"},
    "duress.what": {
        "zh-CN": "{where}于{time}触发胁迫报警：有人可能正被胁迫开门。",
        "en": "Duress alarm at {where}, {time}: someone may be being forced to open the door.",
    },
    "duress.action": {
        "zh-CN": "请立即联系社区民警并前往现场；注意自身安全，切勿单独与可疑人员接触。",
        "en": "Call the community police officer now and go to the door; stay safe and do "
              "not confront anyone alone.",
    },
    # tamper
    "tamper.title": {"zh-CN": "设备防拆报警", "en": "Device tamper alarm"},
    "tamper.what": {
        "zh-CN": "{where}于{time}触发防拆报警：设备外壳被打开或设备被拆下。",
        "en": "Tamper alarm at {where}, {time}: the device's case was opened or it was torn "
              "off the wall.",
    },
    "tamper.action": {
        "zh-CN": "请尽快到现场检查设备是否被破坏，并通知物业或安装人员修复。",
        "en": "Go and check whether the device was damaged, and call the property office or "
              "the installer to repair it.",
    },
    # door forced
    "door_forced.title": {"zh-CN": "门被强行打开", "en": "Door forced open"},
    "door_forced.what": {
        "zh-CN": "{where}于{time}被强行打开（未经授权开门）。",
        "en": "{where} was forced open at {time} (opened without a granted access).",
    },
    "door_forced.action": {
        "zh-CN": "请尽快前往现场查看门锁和周边情况，必要时联系社区民警。",
        "en": "Go and check the door and its surroundings; call the community police officer "
              "if needed.",
    },
    # door held open
    "door_held_open.title": {"zh-CN": "门长时间未关", "en": "Door held open"},
    "door_held_open.what": {
        "zh-CN": "{where}自{time}起长时间未关闭。",
        "en": "{where} has been held open since {time}.",
    },
    "door_held_open.action": {
        "zh-CN": "请到现场关门，并检查门锁和闭门器是否损坏；门关上后告警自动解除。",
        "en": "Please close the door and check its lock and closer; the alert resolves "
              "itself once the door shuts.",
    },
    "door_held_open.resolved": {
        "zh-CN": "门已于{time}关闭（{how}），系统自动解除。",
        "en": "The door shut again at {time} ({how}); resolved automatically.",
    },
    "door_held_open.how.door_closed": {"zh-CN": "门磁关门记录", "en": "closed"},
    "door_held_open.how.passage": {"zh-CN": "有人正常通行", "en": "a granted passage"},
    # repeated denied access
    "access_denied.title": {"zh-CN": "多次验证失败", "en": "Repeated denied access"},
    "access_denied.what": {
        "zh-CN": "{where}在{window}分钟内验证失败{most}次（{first}至{last}共{count}次）。",
        "en": "{where}: {most} denied attempts within {window} minutes ({count} from {first} "
              "to {last}).",
    },
    "access_denied.action": {
        "zh-CN": "请到现场查看是否有人试图强行进入或冒用他人凭证；"
                 "连续{quiet}分钟无验证失败后告警自动解除。",
        "en": "Check on site whether someone is trying to get in or using another person's "
              "credential; the alert resolves itself after {quiet} minutes without a denial.",
    },
    "access_denied.resolved": {
        "zh-CN": "{quiet}分钟内无新的验证失败（最后一次：{time}），系统自动解除。",
        "en": "No denied access for {quiet} minutes (last at {time}); resolved automatically.",
    },
    # tailgating
    "tailgating.title": {"zh-CN": "疑似尾随进入", "en": "Suspected tailgating"},
    "tailgating.what": {
        "zh-CN": "{where}于{time}摄像头计数进入{counted}人，门禁放行{granted}人，多出{excess}人。",
        "en": "{where}, {time}: the camera counted {counted} going in, the door granted "
              "{granted}: {excess} more than allowed.",
    },
    "tailgating.repeat": {
        "zh-CN": "该门口共发生{count}次，首次{first}。",
        "en": "{count} episodes at this door, the first at {first}.",
    },
    "tailgating.cameras": {"zh-CN": "摄像头：{cameras}", "en": "Camera: {cameras}"},
    "tailgating.action": {
        "zh-CN": "请查看该门口的监控录像，必要时到现场核实；{quiet}分钟内无新情况后告警自动解除。",
        "en": "Review this doorway's video and check on site if needed; the alert resolves "
              "itself after {quiet} minutes without another episode.",
    },
    "tailgating.resolved": {
        "zh-CN": "{quiet}分钟内未再发现尾随（最后一次：{time}），系统自动解除。",
        "en": "No tailgating for {quiet} minutes (last at {time}); resolved automatically.",
    },
    # credentials
    "credential.face": {"zh-CN": "人脸", "en": "face"},
    "credential.card": {"zh-CN": "卡", "en": "card"},
    "credential.fingerprint": {"zh-CN": "指纹", "en": "fingerprint"},
    "credential.pin": {"zh-CN": "密码", "en": "PIN"},
    "credential.qr": {"zh-CN": "二维码", "en": "QR code"},
    "credential.remote": {"zh-CN": "远程开门", "en": "remote"},
    "credential.exit_button": {"zh-CN": "出门按钮", "en": "exit button"},
    "credential.unknown": {"zh-CN": "未知", "en": "unknown"},
}
"""Every message by key and language (``str.format`` templates)."""

TEXTS = Catalog(MESSAGES)

local_time = base.local_time
join_names = base.join_names


def text(key: str, locale: str | None, **values: Any) -> str:
    """One message from the catalog."""
    return TEXTS(key, locale, **values)


def where(details: Mapping[str, Any], locale: str | None) -> str:
    """``3栋1单元门禁`` / ``3栋 b03-u1-door``: the device by its names, else its ids."""
    return base.describe_where(
        {key: details.get(key) for key in ("building", "building_name", "device", "device_name")},
        locale)


def alert_title(headline: str, details: Mapping[str, Any], locale: str | None) -> str:
    """``门禁胁迫报警：3栋1单元门禁``."""
    return text("alert_title", locale, title=headline, where=where(details, locale))


def push_title(title: str, severity: str, tier: int, locale: str | None) -> str:
    """The brand prefix; critical alerts say they are urgent, escalated ones their tier."""
    if severity != "critical":
        return base.push_title(title, tier, locale)
    if tier > 1:
        return text("push.title.critical.escalated", locale, tier=tier, title=title)
    return text("push.title.critical", locale, title=title)


def credentials(counts: Mapping[str, int], locale: str | None) -> str:
    """``指纹×2、卡×1`` / ``fingerprint×2, card×1``, the most used first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    names = [_credential(name, locale) + (f"×{n}" if n > 1 else "") for name, n in ordered]
    return join_names(names, locale)


def _credential(name: str, locale: str | None) -> str:
    key = f"credential.{name}"
    return text(key, locale) if key in MESSAGES else name


def people(ids: Sequence[str], locale: str | None) -> str:
    """Resident ids as a list (never names: the worker looks them up in the app)."""
    return text("people", locale, people=base.join_names(list(ids), locale))


def push_body(lines: Sequence[str], *, alert_id: int, tier: int, auto_resolves: bool,
              locale: str | None) -> str:
    """The body: the escalation note when escalated, the lines, and the alert number."""
    head = [base.text("push.escalated", locale, tier=tier)] if tier > 1 else []
    closing = text("closing.auto" if auto_resolves else "closing.person", locale,
                   alert_id=alert_id)
    return "\n".join([*head, *lines, closing])
