"""The safety rules' push texts: what, where, when and what to do, in Chinese and English."""

from __future__ import annotations

import string
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from linli.settings import SafetySettings
from rules.framework import ActiveAlert, Community, Firing
from rules.safety import (
    DoorForcedRule,
    DoorHeldOpenRule,
    DuressRule,
    RepeatedDeniedAccessRule,
    TailgatingRule,
    TamperRule,
)
from rules.safety.texts import MESSAGES, TEXTS, credentials

SHANGHAI = ZoneInfo("Asia/Shanghai")
COMMUNITY = Community(id="juxin", name="聚鑫家园", tz=SHANGHAI, locale="zh-CN")
SETTINGS = SafetySettings()
PLACE = {"building": "b03", "building_name": "3栋", "device": "b03-u1-door",
         "device_name": "3栋1单元门禁"}
EVENTS = {"event_count": 1, "first_event_at": "2026-11-22T06:05:00+00:00",  # 14:05 Shanghai
          "last_event_at": "2026-11-22T06:05:00+00:00", "events": [], "credentials": {},
          "person_ids": []}


def alert(rule: str, tier: int = 1, **details: Any) -> ActiveAlert:
    return ActiveAlert(id=42, rule=rule, subject="b03/b03-u1-door", status="open", tier=tier,
                       details=PLACE | EVENTS | details)


def test_duress_push_in_chinese() -> None:
    push = DuressRule(SETTINGS).message(alert("duress", person_ids=["r-0007"]), COMMUNITY,
                                        "zh-CN")
    assert push.title == "【邻里·紧急】门禁胁迫报警：3栋1单元门禁"
    lines = push.body.splitlines()
    assert lines[0] == "3栋1单元门禁于11月22日 14:05触发胁迫报警：有人可能正被胁迫开门。"
    assert lines[1] == "相关人员编号：r-0007"
    assert "立即联系社区民警并前往现场" in lines[2]
    assert lines[-1] == "告警编号：#42。处置完毕后请通过下方链接反馈。"


def test_duress_push_in_english_escalated_with_a_count() -> None:
    repeated = alert("duress", tier=2, event_count=3,
                     last_event_at="2026-11-22T06:09:00+00:00")
    push = DuressRule(SETTINGS).message(repeated, COMMUNITY, "en")
    assert push.title == "[Linli · URGENT · tier 2] Duress alarm at a door: 3栋1单元门禁"
    assert "escalated to tier 2" in push.body
    assert "Duress alarm at 3栋1单元门禁, 22 Nov 14:05" in push.body
    assert "3 times: first 22 Nov 14:05, latest 22 Nov 14:09." in push.body
    assert "community police officer" in push.body and "Alert #42" in push.body


@pytest.mark.parametrize(("rule", "title_zh", "body_zh", "title_en"), [
    (TamperRule(SETTINGS), "【邻里】设备防拆报警：3栋1单元门禁", "外壳被打开",
     "[Linli] Device tamper alarm: 3栋1单元门禁"),
    (DoorForcedRule(SETTINGS), "【邻里】门被强行打开：3栋1单元门禁", "于11月22日 14:05被强行打开",
     "[Linli] Door forced open: 3栋1单元门禁"),
    (DoorHeldOpenRule(SETTINGS), "【邻里】门长时间未关：3栋1单元门禁", "自11月22日 14:05起长时间未关闭",
     "[Linli] Door held open: 3栋1单元门禁"),
])
def test_other_alarm_pushes(rule: Any, title_zh: str, body_zh: str, title_en: str) -> None:
    zh = rule.message(alert(rule.name), COMMUNITY, "zh-CN")
    assert zh.title == title_zh and body_zh in zh.body and "#42" in zh.body
    en = rule.message(alert(rule.name), COMMUNITY, "en")
    assert en.title == title_en and "22 Nov 14:05" in en.body


def test_denied_access_push_names_counts_window_and_credentials_not_people() -> None:
    details = {"event_count": 7, "most_in_window": 5, "window_min": 10.0, "quiet_min": 30.0,
               "last_event_at": "2026-11-22T06:12:00+00:00",
               "credentials": {"card": 5, "face": 2}, "person_ids": ["r-0003"]}
    zh = RepeatedDeniedAccessRule(SETTINGS).message(alert("access_denied", **details),
                                                   COMMUNITY, "zh-CN")
    assert zh.title == "【邻里】多次验证失败：3栋1单元门禁"
    for expected in ("3栋1单元门禁在10分钟内验证失败5次（11月22日 14:05至11月22日 14:12共7次）",
                     "凭证：卡×5、人脸×2", "相关人员编号：r-0003", "30分钟无验证失败后告警自动解除",
                     "告警编号：#42。请通过下方链接反馈处置情况。"):
        assert expected in zh.body, expected
    en = RepeatedDeniedAccessRule(SETTINGS).message(alert("access_denied", **details),
                                                   COMMUNITY, "en")
    assert "5 denied attempts within 10 minutes (7 from 22 Nov 14:05 to 22 Nov 14:12)" in en.body
    assert "Credentials: card×5, face×2" in en.body


def test_tailgating_push_says_counted_granted_and_camera() -> None:
    details = {"episode_count": 2, "people_over": 3,
               "episodes": [{"first_at": "2026-11-22T06:20:00+00:00", "counted": 3,
                             "granted": 1, "excess": 2}],
               "cameras": [{"device": "b03-u1-cam", "device_name": None}]}
    zh = TailgatingRule(SETTINGS).message(alert("tailgating", **details), COMMUNITY, "zh-CN")
    assert zh.title == "【邻里】疑似尾随进入：3栋1单元门禁"
    for expected in ("3栋1单元门禁于11月22日 14:20摄像头计数进入3人，门禁放行1人，多出2人。",
                     "该门口共发生2次，首次11月22日 14:05。", "摄像头：b03-u1-cam", "监控录像"):
        assert expected in zh.body, expected
    en = TailgatingRule(SETTINGS).message(alert("tailgating", **details), COMMUNITY, "en")
    assert "the camera counted 3 going in, the door granted 1: 2 more than allowed" in en.body


def test_titles_fall_back_to_ids_when_the_directory_has_no_names() -> None:
    firing = Firing(subject="b09/b09-door", details={"building": "b09", "device": "b09-door"})
    assert DuressRule(SETTINGS).title(firing, "zh-CN") == "门禁胁迫报警：b09-door"
    named = Firing(subject="b09/b09-door",
                   details={"building": "b09", "building_name": "9栋", "device": "b09-door"})
    assert DuressRule(SETTINGS).title(named, "en") == "Duress alarm at a door: 9栋 b09-door"


def test_credentials_are_named_in_the_language_with_unknown_ones_kept() -> None:
    assert credentials({"pin": 1, "card": 3, "vein": 1}, "zh-CN") == "卡×3、密码、vein"
    assert credentials({"qr": 2}, "en") == "QR code×2"


def test_every_message_exists_in_both_languages_and_fills() -> None:
    for key, languages in MESSAGES.items():
        assert set(languages) == {"zh-CN", "en"}, key
        for locale, template in languages.items():
            fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert TEXTS(key, locale, **dict.fromkeys(fields, "x"))
