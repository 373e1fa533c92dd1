"""Cameras that count for themselves, through the real broker and ingest into the database:
simulated Hikvision and Dahua counting cameras over real sockets (digest auth, multipart
streams), their running totals become camera passage rows with the right counts and
directions; a reset, a re-sent report, an outage and an agent restart neither lose nor
double anyone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from edge.camcount.dahua import DahuaCounting
from edge.camcount.hikvision import HikvisionCounting
from edge.config import AgentConfig
from hardware.simulators.counting import DahuaCountingCamera, HikvisionCountingCamera
from tests.pipeline import Pipeline, RunningAgent, wait_for

COMMUNITY, BUILDING, DEVICE = "juxin", "b04", "b04-gate-cam"


@pytest.fixture
def hik() -> Iterator[HikvisionCountingCamera]:
    device = HikvisionCountingCamera(heartbeat_s=1).start()
    yield device
    device.stop()


@pytest.fixture
def dahua() -> Iterator[DahuaCountingCamera]:
    device = DahuaCountingCamera(heartbeat_s=1).start()
    yield device
    device.stop()


def agent_config(kind: str, sim: HikvisionCountingCamera | DahuaCountingCamera,
                 **source: Any) -> AgentConfig:
    values = {"type": kind, "device": DEVICE, "host": "127.0.0.1", "port": sim.port,
              "username": sim.username, "password": sim.password, "heartbeat_s": 1,
              "reconnect_max_s": 0.5, **source}
    return AgentConfig.model_validate({"community": COMMUNITY, "building": BUILDING,
                                       "sources": [values]})


def totals(pipeline: Pipeline) -> dict[str, int]:
    rows = pipeline.rows("SELECT direction, sum(count)::int AS people, count(*)::int AS n "
                         "FROM events WHERE device = %s AND source = 'camera' "
                         "AND kind = 'passage' GROUP BY direction", DEVICE)
    return {r["direction"]: r["people"] for r in rows}


def settle(pipeline: Pipeline, expected: dict[str, int]) -> dict[str, int]:
    """Wait until the rows add up to ``expected``; return the totals (for the assertion)."""
    seen: dict[str, int] = {}

    def reached() -> bool:
        seen.clear()
        seen.update(totals(pipeline))
        return seen == expected

    wait_for(reached, 30, f"totals {expected}")
    return seen


def test_hikvision_counts_become_rows_through_resets_resends_and_restarts(
        pipeline: Pipeline, hik: HikvisionCountingCamera) -> None:
    config = agent_config("hikvision-counting", hik)
    agent = pipeline.start_agent(config)
    source = agent.agent.sources[0]
    assert isinstance(source, HikvisionCounting)
    wait_for(lambda: source.is_online() and hik.stream_count == 1, 10, "the alert stream")
    # at fixed device times of past days, so that the hours the catch-up reads are closed
    day = hik.device_now().date() - dt.timedelta(days=2)

    def local(days: int, hour: int, minute: int) -> dt.datetime:
        return dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour, minute),
                                   tzinfo=hik.zone)

    hik.walk(entered=1, at=local(0, 20, 0))  # the first report ever seen is the base
    wait_for(lambda: source.counts.baselines == 1, 10, "the base report")
    hik.walk(entered=2, at=local(0, 20, 10))
    hik.walk(exited=1, at=local(0, 20, 20))
    hik.resend()
    hik.walk(entered=1, exited=1, at=local(0, 20, 30))
    assert settle(pipeline, {"in": 3, "out": 2}) == {"in": 3, "out": 2}
    hik.walk(entered=1, at=local(1, 8, 0))  # after midnight: the camera started from zero
    assert settle(pipeline, {"in": 4, "out": 2}) == {"in": 4, "out": 2}
    assert source.counts.resets == 1

    agent.stop()
    hik.walk(entered=2, at=local(1, 8, 30))  # nobody listens: the camera's totals still move
    again = pipeline.start_agent(config)
    restarted = again.agent.sources[0]
    assert isinstance(restarted, HikvisionCounting)
    # the catch-up runs once the stream is open (and the camera sends on it)
    wait_for(lambda: restarted.stats.catch_ups == 1, 10, "the alert stream again")
    hik.resend()  # yesterday's last report, re-sent: counted already (caught up)
    hik.walk(exited=1)
    assert settle(pipeline, {"in": 6, "out": 3}) == {"in": 6, "out": 3}
    rows = pipeline.rows("SELECT * FROM events WHERE device = %s ORDER BY occurred_at",
                         DEVICE)
    assert all(r["person_id"] is None and r["confidence"] == 1.0 for r in rows)
    assert {r["attrs"]["counter"] for r in rows} == {"device"}
    assert restarted.counts.baselines == 0  # the stored state carried over the restart
    health = restarted.health()
    assert health["counted_in"] == 2 and health["counted_out"] == 1


def test_hikvision_windows_count_once_each(pipeline: Pipeline,
                                           hik: HikvisionCountingCamera) -> None:
    pipeline.start_agent(agent_config("hikvision-counting", hik, reports="time_range"))
    wait_for(lambda: hik.stream_count == 1, 10, "the alert stream")
    start = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)
    hik.walk(entered=5)  # real-time totals are ignored in this mode
    hik.send_window(start, start + dt.timedelta(minutes=15), 4, 2)
    hik.send_window(start, start + dt.timedelta(minutes=15), 4, 2)  # re-sent
    hik.send_window(start + dt.timedelta(minutes=15), start + dt.timedelta(minutes=30), 1, 0)
    assert settle(pipeline, {"in": 5, "out": 2}) == {"in": 5, "out": 2}
    assert len(pipeline.rows("SELECT * FROM events WHERE device = %s", DEVICE)) == 3


def test_dahua_counts_become_rows_and_an_outage_is_caught_up_once(
        pipeline: Pipeline, dahua: DahuaCountingCamera) -> None:
    dahua.walk(entered=40, exited=38)  # the day so far: the base, not a burst now
    config = agent_config("dahua-counting", dahua)
    agent: RunningAgent = pipeline.start_agent(config)
    source = agent.agent.sources[0]
    assert isinstance(source, DahuaCounting)
    wait_for(lambda: dahua.stream_count == 1 and source.counts.baselines == 1, 10,
             "the stream and its base")
    dahua.walk(entered=2)
    dahua.walk(exited=1)
    assert settle(pipeline, {"in": 2, "out": 1}) == {"in": 2, "out": 1}

    agent.stop()
    dahua.walk(entered=3, exited=2)
    again = pipeline.start_agent(config)
    wait_for(lambda: dahua.summaries >= 2, 10, "the catch-up summary")
    assert settle(pipeline, {"in": 5, "out": 3}) == {"in": 5, "out": 3}
    dahua.reset(report=True)  # cleared by hand: a new epoch, nobody counted for it
    dahua.walk(entered=1)
    assert settle(pipeline, {"in": 6, "out": 3}) == {"in": 6, "out": 3}
    restarted = again.agent.sources[0]
    assert isinstance(restarted, DahuaCounting)
    assert restarted.counts.resets == 1 and restarted.counts.baselines == 0
    status = restarted.device_status()
    assert status is not None and status["kind"] == "camera"
    assert status["counters"]["ch1/NumberStat"]["in"] == 1


def test_hikvision_outage_is_caught_up_from_the_statistics_once_at_its_hours(
        pipeline: Pipeline, hik: HikvisionCountingCamera) -> None:
    day = hik.device_now().date() - dt.timedelta(days=1)

    def local(hour: int, minute: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=hik.zone)

    config = agent_config("hikvision-counting", hik)
    agent = pipeline.start_agent(config)
    source = agent.agent.sources[0]
    assert isinstance(source, HikvisionCounting)
    wait_for(lambda: source.is_online() and hik.stream_count == 1, 10, "the alert stream")
    hik.walk(entered=3, exited=1, at=local(9, 10))  # the base
    wait_for(lambda: source.counts.baselines == 1, 10, "the base report")
    hik.walk(entered=1, at=local(9, 40))
    assert settle(pipeline, {"in": 1}) == {"in": 1}

    agent.stop()  # the camera keeps counting, and keeps its hourly statistics
    hik.walk(entered=2, at=local(9, 50))  # in the hour of the last report seen
    hik.walk(exited=2, at=local(11, 5))
    hik.walk(entered=4, exited=1, at=local(13, 30))
    again = pipeline.start_agent(config)
    assert settle(pipeline, {"in": 7, "out": 3}) == {"in": 7, "out": 3}
    assert "<reportType>daily</reportType>" in hik.searches[0]
    caught = pipeline.rows("SELECT occurred_at, direction, count FROM events WHERE device = %s "
                           "AND attrs ? 'caught_up' ORDER BY occurred_at, direction", DEVICE)
    assert [(r["occurred_at"].astimezone(hik.zone).strftime("%H:%M:%S"), r["direction"],
             r["count"]) for r in caught] == [
        ("09:59:59", "in", 2), ("11:59:59", "out", 2), ("13:59:59", "in", 4),
        ("13:59:59", "out", 1)]
    hik.walk(entered=1)  # today, live: the counter restarted at midnight
    assert settle(pipeline, {"in": 8, "out": 3}) == {"in": 8, "out": 3}

    again.stop()  # a second reconnect reads the same statistics again: nothing twice
    searched = len(hik.searches)
    third = pipeline.start_agent(config)
    wait_for(lambda: len(hik.searches) > searched, 10, "the second catch-up")
    hik.resend()
    hik.walk(exited=1)
    assert settle(pipeline, {"in": 8, "out": 4}) == {"in": 8, "out": 4}
    restarted = third.agent.sources[0]
    assert isinstance(restarted, HikvisionCounting) and restarted.problems() == []


def test_dahua_number_stat_events_on_the_event_manager_count_once_through_an_outage(
        pipeline: Pipeline, dahua: DahuaCountingCamera) -> None:
    dahua.walk(entered=40, exited=38)  # the day so far
    config = agent_config("dahua-counting", dahua, interface="event_manager")
    agent = pipeline.start_agent(config)
    source = agent.agent.sources[0]
    assert isinstance(source, DahuaCounting)
    wait_for(lambda: dahua.event_attaches == 1, 10, "the eventManager stream")
    assert ("GET", "/cgi-bin/eventManager.cgi?action=attach&codes=[NumberStat]&heartbeat=1"
            ) in dahua.requests
    dahua.walk(entered=1)  # the first NumberStat ever seen: the base
    wait_for(lambda: source.counts.baselines == 1, 10, "the base event")
    dahua.walk(entered=2)
    dahua.emit("NumberStat", {"Name": "NumberStat", "EnteredNumber": 99})  # broken: no exits
    dahua.walk(exited=1)
    assert settle(pipeline, {"in": 2, "out": 1}) == {"in": 2, "out": 1}
    assert source.stats.rejected == 1

    agent.stop()
    dahua.walk(entered=3, exited=2)  # nobody attached: the event is lost, the totals are not
    again = pipeline.start_agent(config)
    wait_for(lambda: dahua.event_attaches == 2, 10, "the eventManager stream again")
    dahua.walk(entered=1)
    assert settle(pipeline, {"in": 6, "out": 3}) == {"in": 6, "out": 3}
    dahua.resend()  # the same totals again
    dahua.walk(exited=1)
    assert settle(pipeline, {"in": 6, "out": 4}) == {"in": 6, "out": 4}
    rows = pipeline.rows("SELECT attrs FROM events WHERE device = %s", DEVICE)
    assert {r["attrs"]["interface"] for r in rows} == {"event_manager"}
    assert {r["attrs"]["stream"] for r in rows} == {"ch1/NumberStat/area0/events"}
    assert dahua.summaries == 0  # videoStatServer's getSummary is another view: not mixed in
    restarted = again.agent.sources[0]
    assert isinstance(restarted, DahuaCounting) and restarted.counts.baselines == 0


def test_hikvision_windows_missed_in_an_outage_are_caught_up_from_the_statistics_once(
        pipeline: Pipeline, hik: HikvisionCountingCamera) -> None:
    day = hik.device_now().date() - dt.timedelta(days=1)

    def local(hour: int, minute: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=hik.zone)

    config = agent_config("hikvision-counting", hik, reports="time_range")
    agent = pipeline.start_agent(config)
    wait_for(lambda: agent.agent.sources[0].is_online() and hik.stream_count == 1, 10,
             "the alert stream")
    hik.walk(entered=2, exited=1, at=local(9, 5))  # real-time reports: ignored in this mode
    hik.walk(entered=1, at=local(9, 20))
    hik.send_window(local(9, 0), local(9, 15), 2, 1)
    hik.send_window(local(9, 15), local(9, 30), 1, 0)
    assert settle(pipeline, {"in": 3, "out": 1}) == {"in": 3, "out": 1}

    agent.stop()  # the windows of the outage never reach the agent
    hik.walk(entered=4, at=local(9, 40))
    hik.walk(exited=2, at=local(11, 10))
    again = pipeline.start_agent(config)
    assert settle(pipeline, {"in": 7, "out": 3}) == {"in": 7, "out": 3}
    caught = pipeline.rows("SELECT occurred_at, direction, count FROM events WHERE device = %s "
                           "AND attrs ? 'caught_up' ORDER BY occurred_at", DEVICE)
    assert [(r["occurred_at"].astimezone(hik.zone).strftime("%H:%M"), r["direction"], r["count"])
            for r in caught] == [("10:00", "in", 4), ("12:00", "out", 2)]
    hik.send_window(local(9, 30), local(9, 45), 4, 0)  # re-sent from the outage: caught up
    start = hik.device_now().replace(microsecond=0) - dt.timedelta(minutes=10)
    hik.walk(entered=1, at=start + dt.timedelta(minutes=1))
    hik.send_window(start, start + dt.timedelta(minutes=10), 1, 0)  # today, live
    assert settle(pipeline, {"in": 8, "out": 3}) == {"in": 8, "out": 3}
    source = again.agent.sources[0]
    assert isinstance(source, HikvisionCounting)
    assert source.counts.stale == 1 and source.problems() == []
