"""Tailgating decisions as pure functions: matching counts to grants, episodes, noise."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from rules.safety.events import History
from rules.safety.tailgating import (
    Crossing,
    Episode,
    EpisodeTally,
    Limits,
    camera_counts,
    door_grants,
    doorways,
    episodes,
    merge_cameras,
    tailgating_tally,
    uncovered,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 22, 14, 0, tzinfo=SHANGHAI)
SEC = dt.timedelta(seconds=1)
MIN = dt.timedelta(minutes=1)
LIMITS = Limits(window=5 * SEC, min_confidence=0.8, min_excess=1, settle=30 * SEC,
                quiet=30 * MIN, lookback=dt.timedelta(hours=1))


def c(seconds: float, count: int = 1) -> Crossing:
    return Crossing(f"c{seconds:g}", NOW + dt.timedelta(seconds=seconds), count)


def g(seconds: float) -> Crossing:
    return Crossing(f"g{seconds:g}", NOW + dt.timedelta(seconds=seconds))


def found(counts: list[Crossing], grants: list[Crossing], **limits: Any) -> list[Episode]:
    chosen = replace(LIMITS, **limits)
    return episodes(counts, grants, camera="cam", limits=chosen, after=NOW - MIN,
                    until=NOW + MIN)


def test_each_person_needs_a_grant_within_the_window_either_side() -> None:
    assert [m for _, m in uncovered([c(0)], [g(-5)], LIMITS.window)] == [0]
    assert [m for _, m in uncovered([c(0)], [g(5)], LIMITS.window)] == [0]
    assert [m for _, m in uncovered([c(0)], [g(-5.5)], LIMITS.window)] == [1]
    assert [m for _, m in uncovered([c(0, count=3)], [g(1), g(2)], LIMITS.window)] == [1]


def test_a_grant_is_used_once_and_the_matching_covers_as_many_as_possible() -> None:
    # Earliest free grant first: c(0) takes g(-4), so c(6) can still take g(2).
    judged = uncovered([c(0), c(6)], [g(-4), g(2)], LIMITS.window)
    assert [m for _, m in judged] == [0, 0]
    judged = uncovered([c(0), c(4)], [g(2)], LIMITS.window)
    assert [m for _, m in judged] == [0, 1]


def test_uncovered_people_close_together_are_one_episode() -> None:
    [episode] = found([c(0, count=2), c(3)], [g(1)])
    assert (episode.counted, episode.granted, episode.excess) == (3, 1, 2)
    assert episode.camera_event_ids == ("c0", "c3") and episode.door_event_ids == ("g1",)
    apart = found([c(0), c(30)], [])
    assert [e.excess for e in apart] == [1, 1]


def test_the_minimum_excess_filters_small_episodes() -> None:
    assert found([c(0, count=2)], [g(1)], min_excess=2) == []
    assert len(found([c(0, count=3)], [g(1)], min_excess=2)) == 1


def test_only_counts_after_the_watermark_and_before_the_horizon_make_episodes() -> None:
    counts = [c(-70), c(0), c(70)]
    result = episodes(counts, [], camera="cam", limits=LIMITS, after=NOW - MIN,
                      until=NOW + MIN)
    assert [e.camera_event_ids for e in result] == [("c0",)]


def test_earlier_counts_still_use_up_grants() -> None:
    # c(-62) is before the watermark, but it took the grant that c(-58) would otherwise use.
    result = episodes([c(-62), c(-58)], [g(-60)], camera="cam", limits=LIMITS,
                      after=NOW - MIN, until=NOW)
    assert [e.excess for e in result] == [1]


def test_rows_are_split_into_confident_inward_counts_and_grants() -> None:
    def row(device: str, source: str, direction: str | None, confidence: float = 1.0,
            count: int = 1) -> dict[str, Any]:
        return {"event_id": f"{device}-{direction}-{confidence}", "occurred_at": NOW,
                "device": device, "source": source, "direction": direction,
                "confidence": confidence, "count": count}

    rows = [row("cam", "camera", "in", 0.9, 2), row("cam", "camera", "in", 0.5),
            row("cam", "camera", "out", 0.95), row("door", "door", "in"),
            row("door", "door", None), row("door", "door", "out"), row("other", "camera", "in")]
    assert [(x.event_id, x.count) for x in camera_counts(rows, "cam", 0.8)] == [
        ("cam-in-0.9", 2)]
    assert [x.event_id for x in door_grants(rows, "door")] == ["door-None-1.0", "door-in-1.0"]


def test_two_cameras_seeing_the_same_episode_count_it_once() -> None:
    one = found([c(0, count=2)], [g(1)])
    other = [Episode(**{**_fields(one[0]), "cameras": ("cam2",)})]
    [merged] = merge_cameras([*one, *other], LIMITS.window)
    assert merged.cameras == ("cam", "cam2") and merged.excess == 1


def _fields(episode: Episode) -> dict[str, Any]:
    return {name: getattr(episode, name) for name in Episode.__slots__}


def test_the_alert_fires_only_for_recent_episodes_unless_it_is_open() -> None:
    recent = found([c(0)], [])
    assert tailgating_tally([], History(), now=NOW, quiet=LIMITS.quiet) is None
    first = tailgating_tally(recent, History(), now=NOW + MIN, quiet=LIMITS.quiet)
    assert first is not None and first.episode_count == 1 and first.people_over == 1
    assert tailgating_tally(recent, History(), now=NOW + 31 * MIN, quiet=LIMITS.quiet) is None
    opened = History(open=first.as_details())
    more = tailgating_tally(found([c(30, count=2)], []), opened, now=NOW + MIN,
                            quiet=LIMITS.quiet)
    assert more is not None and more.episode_count == 2 and more.people_over == 3
    assert EpisodeTally.from_details(more.as_details()) == more


def test_doorways_group_cameras_by_the_door_they_watch() -> None:
    rows = [{"building": "b01", "building_name": "1栋", "grid": "g1", "camera": cam,
             "camera_name": name, "door": "b01-u1-door", "door_name": "1栋1单元门禁"}
            for cam, name in (("cam-a", "外"), ("cam-b", None))]
    [(subject, doorway)] = doorways(rows).items()
    assert subject == "b01/b01-u1-door" and doorway.cameras == {"cam-a": "外", "cam-b": None}
