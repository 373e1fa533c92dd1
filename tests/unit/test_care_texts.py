"""The care alerts' explanation: the same facts in Chinese and English, from the details."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rules.care.texts import describe_signal, explanation, hours

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 6, 15, 30, tzinfo=TZ)
DETAILS = {
    "reason": "silent_at_home", "silent_h": 6.2, "usual_longest_h": 3.1, "usual_source": "own",
    "devices": {"reporting": True},
    "last": {"kind": "door_in", "direction": "in", "at": "2026-12-06T09:12:00+08:00",
             "building": "b02", "building_name": "2栋", "device": "b02-u2-door",
             "device_name": "2栋2单元门禁"},
}


def test_the_explanation_says_usual_now_last_sign_and_devices() -> None:
    zh = explanation(DETAILS, NOW, TZ, "zh-CN")
    assert zh == ("平时这个时段最长约3小时没有动静，现在已6小时；最后一次：今天09:12 "
                  "2栋2单元门禁（进）；门禁与网关均在线")
    en = explanation(DETAILS, NOW, TZ, "en")
    assert "about 3 h" in en and "now 6 h" in en and "today 09:12" in en


def test_still_learning_not_back_and_the_backstop_say_so() -> None:
    learning = explanation(DETAILS | {"usual_source": "default"}, NOW, TZ, "zh-CN")
    assert learning.startswith("该居民的规律尚在学习中")
    away = explanation(DETAILS | {"reason": "not_back"}, NOW, TZ, "zh-CN")
    assert away.startswith("平时外出这个时段最长约3小时便回家")
    never = explanation({"reason": "backstop", "silent_h": 47.5, "devices": {}}, NOW, TZ, "en")
    assert never.startswith("No passage or activity on record") and "no device status" in never


def test_signs_and_durations_read_naturally() -> None:
    assert describe_signal({"kind": "activity", "device_name": "101水表"}, "zh-CN") == \
        "101水表有活动"
    assert describe_signal({"kind": "visit"}, "zh-CN") == "工作人员上门确认"
    assert hours(0.4, "zh-CN") == "24分钟" and hours(2.26, "zh-CN") == "2.5小时"
    assert hours(38.5, "en") == "38.5 h"
