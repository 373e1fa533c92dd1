"""Push texts, URL redaction, backoff and debouncing: the rules stage's pure helpers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from linli.channels import redact_channel, scrub, secret_fragments
from linli.settings import RulesSettings
from rules.framework import ActiveAlert, Community, Firing
from rules.notifier import backoff_delay
from rules.service import Debouncer
from rules.silent import SilentResidentRule
from rules.texts import TEXTS, describe_home, local_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
COMMUNITY = Community(id="juxin", name="聚鑫家园", tz=SHANGHAI, locale="zh-CN")
DETAILS = {
    "resident": "r-0001", "name": "张桂英",
    "reason": "not_seen_today",
    "last_seen_at": "2026-11-21T10:02:00+00:00",  # 18:02 in Shanghai
    "where": {"building": "b01", "building_name": "1栋", "device": "b01-u1-door",
              "device_name": "1栋1单元门禁", "direction": "in"},
    "visited_at": None, "registered_at": "2026-01-01T00:00:00+00:00",
    "home": {"household": "h-b01-101", "building": "b01", "building_name": "1栋",
             "unit": "u1", "unit_name": "1单元", "room": "101"},
    "care_level": 2,
    "max_hours": 24.0,
}


def rule() -> SilentResidentRule:
    return SilentResidentRule(RulesSettings())


def test_chinese_push_names_who_where_when_and_what_to_do() -> None:
    alert = ActiveAlert(id=42, rule="silent_resident", subject="r-0001", status="open", tier=1,
                        details=DETAILS)
    push = rule().message(alert, COMMUNITY, "zh-CN")
    assert push.title == "【邻里】独居老人今日未出现"
    for expected in ("张桂英", "1栋1单元101室", "11月21日 18:02", "1栋1单元门禁（进）",
                     "照护等级：2级", "紧急联系人电话请点击下方链接查看", "#42",
                     "通过下方链接确认和反馈"):
        assert expected in push.body, expected


def test_english_push_and_escalated_title() -> None:
    alert = ActiveAlert(id=7, rule="silent_resident", subject="r-0001", status="open", tier=2,
                        details=DETAILS | {"reason": "not_seen_hours", "max_hours": 24.0})
    push = rule().message(alert, COMMUNITY, "en")
    assert push.title == "[Linli · tier 2] Elderly resident living alone not seen for over 24 hours"
    assert "21 Nov 18:02" in push.body
    assert "escalated to tier 2" in push.body
    assert "Alert #7" in push.body


def test_never_seen_resident_says_so() -> None:
    alert = ActiveAlert(id=1, rule="silent_resident", subject="r-0001", status="open", tier=1,
                        details=DETAILS | {"last_seen_at": None, "where": None})
    body = rule().message(alert, COMMUNITY, "zh-CN").body
    assert "无通行记录" in body


def test_older_details_with_phones_never_reach_the_push() -> None:
    older = DETAILS | {"phone": "13800000001",
                       "emergency_contacts": [{"name": "李明", "phone": "13900000002"}]}
    alert = ActiveAlert(id=3, rule="silent_resident", subject="r-0001", status="open", tier=1,
                        details=older)
    for locale in ("zh-CN", "en"):
        body = rule().message(alert, COMMUNITY, locale).body
        assert "13800000001" not in body and "13900000002" not in body


def test_alert_title_includes_the_name() -> None:
    firing = Firing(subject="r-0001", details=DETAILS)
    assert rule().title(firing, "zh-CN") == "独居老人今日未出现：张桂英"


def test_every_message_exists_in_both_languages() -> None:
    keys = TEXTS.keys()
    assert len(keys) > 20
    for key in keys:
        assert TEXTS(key, "zh-CN", **_blank()) and TEXTS(key, "en", **_blank())


def _blank() -> dict[str, object]:
    names = ("title", "tier", "alert_id", "hours", "name", "home", "phone", "time", "where",
             "level", "contacts", "workers", "worker", "channel", "attempts", "error", "room",
             "month", "day", "mon", "hm", "note", "sent", "withdrawn", "attempt", "ref")
    return {n: "x" for n in names}


def test_local_time_and_home() -> None:
    moment = dt.datetime(2026, 11, 21, 16, 30, tzinfo=dt.UTC)  # 00:30 next day in Shanghai
    assert local_time(moment, SHANGHAI, "zh-CN") == "11月22日 00:30"
    assert describe_home(None, "zh-CN") == "住址未登记"
    assert describe_home({"building_name": "3栋", "room": "502"}, "en") == "3栋 room 502"


def test_redacted_channels_keep_no_secret() -> None:
    assert redact_channel("json://u:pw@127.0.0.1:9999/hook/TOKEN?x=1") == "json://127.0.0.1:9999"
    assert redact_channel("mailto://user:pw@example.com") == "mailto://example.com"
    assert redact_channel("wecombot://ABCDEFGHIJKLMNOP") == "wecombot://***"
    assert redact_channel("dingtalk://SECRETTOKEN/") == "dingtalk://***"
    assert redact_channel("not a url") == "unknown://"


def test_scrub_removes_every_secret_piece() -> None:
    url = "json://admin:S3cretPw@hooks.example.com/api/T0KEN-abc?token=QWERTY"
    error = ("Failed to POST http://admin:S3cretPw@hooks.example.com/api/T0KEN-abc?token=QWERTY "
             "(T0KEN-abc) QWERTY")
    cleaned = scrub(error, url)
    for secret in ("S3cretPw", "T0KEN-abc", "QWERTY"):
        assert secret not in cleaned
    assert "hooks.example.com" in cleaned
    assert "S3cretPw" in secret_fragments(url)


def test_backoff_doubles_with_jitter_and_caps() -> None:
    low = [backoff_delay(n, initial_s=5, max_s=600, rand=0.0) for n in range(1, 10)]
    high = [backoff_delay(n, initial_s=5, max_s=600, rand=1.0) for n in range(1, 10)]
    assert high[:4] == [5, 10, 20, 40]
    assert low[:4] == [2.5, 5, 10, 20]
    assert max(high) == 600 and high[-1] == 600
    assert backoff_delay(1000, initial_s=5, max_s=600, rand=0.5) == 450


def test_debouncer_waits_for_quiet_but_not_forever() -> None:
    debouncer = Debouncer(delay_s=0.3, max_delay_s=2.0)
    debouncer.touch("juxin", 0.0)
    debouncer.touch("other", 0.0)
    assert debouncer.due(0.1) == []
    debouncer.touch("juxin", 0.2)
    assert debouncer.due(0.35) == ["other"]
    for step in range(1, 20):  # steady traffic every 0.1 s
        debouncer.touch("juxin", 0.2 + step * 0.1)
        if debouncer.due(0.2 + step * 0.1):
            break
    assert step * 0.1 + 0.2 >= 2.0 - 1e-9
    assert len(debouncer) == 0
