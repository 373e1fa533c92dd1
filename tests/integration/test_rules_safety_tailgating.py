"""Tailgating on a real PostgreSQL: a camera counting the doorway of 1栋1单元门禁."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from linli.contract import Event
from linli.settings import Settings
from rules.engine import evaluate_community
from rules.framework import Rule
from rules.safety import TailgatingRule
from tests.integration.safety_seed import (
    NOW,
    SUBJECT,
    Db,
    alerts,
    camera_in,
    close_by_person,
    event,
    ids,
    notifications,
    resolution,
    seed,
    store,
)

SEC = dt.timedelta(seconds=1)
MIN = dt.timedelta(minutes=1)


def rules(settings: Settings) -> list[Rule]:
    return [TailgatingRule(settings.rules.safety)]


def granted(at: dt.datetime, **fields: object) -> Event:
    values = {"direction": "in", "person_id": "r-0001", "credential": "face"} | fields
    return event("passage", at, **values)


def test_two_counted_in_for_one_granted_raises_a_warning_about_the_door(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    grant, counted = granted(NOW + SEC), camera_in(NOW + 2 * SEC, count=2)
    store(db_url, grant, counted)
    # Not judged before the door's records of that moment have had time to arrive.
    assert evaluate_community(db, "juxin", settings, NOW + 20 * SEC,
                              rules=rules(settings)).raised == []
    result = evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings))
    [alert] = alerts(db)
    assert result.raised == [alert["id"]]
    assert (alert["rule"], alert["subject"], alert["severity"]) == (
        "tailgating", SUBJECT, "warning")
    assert alert["title"] == "疑似尾随进入：1栋1单元门禁"
    d = alert["details"]
    assert d["episode_count"] == 1 and d["people_over"] == 1
    [episode] = d["episodes"]
    assert (episode["counted"], episode["granted"], episode["excess"]) == (2, 1, 1)
    assert episode["camera_event_ids"] == ids([counted])
    assert episode["door_event_ids"] == ids([grant])
    assert d["cameras"] == [{"device": "b01-u1-cam", "device_name": "1栋1单元门口摄像头"}]
    assert (d["window_s"], d["min_confidence"], d["min_excess"]) == (5.0, 0.8, 1)
    [push] = notifications(db, alert["id"])
    for expected in ("1栋1单元门禁于11月22日 14:00摄像头计数进入2人，门禁放行1人，多出1人",
                     "1栋1单元门口摄像头", "监控录像"):
        assert expected in push["body"], expected


def test_covered_or_unsure_counts_raise_nothing(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url,
          # one in, one granted 4 s earlier (direction unknown still counts as granted)
          granted(NOW, direction=None), camera_in(NOW + 4 * SEC),
          # two in, but the camera is unsure of it
          granted(NOW + 60 * SEC), camera_in(NOW + 61 * SEC, count=2, confidence=0.5),
          # people going out are not the camera's business here
          camera_in(NOW + 120 * SEC, direction="out"))
    assert evaluate_community(db, "juxin", settings, NOW + 5 * MIN,
                              rules=rules(settings)).raised == []
    assert alerts(db) == []


def test_a_grant_counts_once_even_when_two_counts_are_near_it(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, camera_in(NOW), granted(NOW + 2 * SEC), camera_in(NOW + 4 * SEC))
    result = evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings))
    assert len(result.raised) == 1
    [episode] = alerts(db)[0]["details"]["episodes"]
    assert episode["excess"] == 1


def test_episodes_refresh_then_quiet_resolves_and_nothing_comes_back(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, granted(NOW), camera_in(NOW, count=2))
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings))
    store(db_url, camera_in(NOW + 10 * MIN))
    refreshed = evaluate_community(db, "juxin", settings, NOW + 11 * MIN, rules=rules(settings))
    [alert] = alerts(db)
    assert refreshed.refreshed == [alert["id"]]
    assert alert["details"]["episode_count"] == 2 and alert["details"]["people_over"] == 2
    assert evaluate_community(db, "juxin", settings, NOW + 12 * MIN,
                              rules=rules(settings)).refreshed == []
    assert evaluate_community(db, "juxin", settings, NOW + 39 * MIN,
                              rules=rules(settings)).resolved == []
    done = evaluate_community(db, "juxin", settings, NOW + 40 * MIN, rules=rules(settings))
    assert done.resolved == [alert["id"]]
    last = resolution(db, alert["id"])
    assert "30分钟内未再发现尾随" in last["note"] and "14:10" in last["note"]
    assert evaluate_community(db, "juxin", settings, NOW + 45 * MIN,
                              rules=rules(settings)).raised == []
    assert len(alerts(db)) == 1


def test_a_person_closing_it_is_final_for_the_episodes_it_saw(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, camera_in(NOW))
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings))
    [alert] = alerts(db)
    close_by_person(db, alert["id"])
    assert evaluate_community(db, "juxin", settings, NOW + 2 * MIN,
                              rules=rules(settings)).raised == []
    store(db_url, camera_in(NOW + 5 * MIN))
    result = evaluate_community(db, "juxin", settings, NOW + 6 * MIN, rules=rules(settings))
    assert len(result.raised) == 1
    assert alerts(db)[-1]["details"]["episode_count"] == 1


def test_history_and_other_communities_raise_nothing(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    seed(db, "heping", "和平里")
    settings = make_settings()
    # Yesterday's tailgating, replayed today; and one 40 minutes ago, quiet since.
    store(db_url, camera_in(NOW - 24 * 60 * MIN, count=3), camera_in(NOW - 40 * MIN))
    # Heping's camera saw it happen just now.
    store(db_url, camera_in(NOW, community="heping"))
    assert evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings)).raised == []
    assert len(evaluate_community(db, "heping", settings, NOW + MIN,
                                  rules=rules(settings)).raised) == 1
    assert alerts(db, "juxin") == [] and len(alerts(db, "heping")) == 1


def test_a_door_without_a_camera_is_not_judged(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, event("passage", NOW, building="b02", device="b02-u1-door",
                        source="camera", direction="in", count=3, confidence=0.99))
    assert evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings)).raised == []


def test_each_watched_door_is_judged_on_its_own(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    db.execute("INSERT INTO devices (community, building, id, kind, name, registered, door)"
               " VALUES ('juxin', 'b02', 'b02-u1-cam', 'camera', NULL, true, 'b02-u1-door')")
    # The same moment at both doors: 2栋's door let one in, 1栋's let nobody in.
    store(db_url, camera_in(NOW), camera_in(NOW, building="b02", device="b02-u1-cam"),
          granted(NOW, building="b02", device="b02-u1-door"))
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings))
    assert [a["subject"] for a in alerts(db)] == [SUBJECT]


def test_an_episode_not_yet_recorded_keeps_the_alert_open(
    db: Db, db_url: str, make_settings: Callable[..., Settings]
) -> None:
    seed(db)
    settings = make_settings()
    store(db_url, camera_in(NOW))
    evaluate_community(db, "juxin", settings, NOW + MIN, rules=rules(settings))
    # Thirty minutes after the recorded episode, but another happened meanwhile.
    store(db_url, camera_in(NOW + 20 * MIN))
    result = evaluate_community(db, "juxin", settings, NOW + 30 * MIN, rules=rules(settings))
    assert result.resolved == [] and len(result.refreshed) == 1
    assert alerts(db)[0]["details"]["episode_count"] == 2
