"""The Hikvision ISAPI source against the simulated terminal over real sockets: alertStream
events through the real broker and ingest into the database, with dropped connections,
replayed history, outages, restarts and hostile input — nothing lost, nothing doubled."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.agent import rejects_path
from edge.config import AgentConfig
from edge.hikvision.source import HikvisionTerminal
from edge.vendors.records import record_key
from hardware.simulators.hikvision import BOUNDARY, HikvisionSimulator
from linli.contract import derived_event_id
from tests.pipeline import Pipeline, RunningAgent, wait_for

COMMUNITY, BUILDING, DEVICE = "juxin", "b01", "b01-u1-door"


@pytest.fixture
def sim() -> Iterator[HikvisionSimulator]:
    device = HikvisionSimulator(heartbeat_s=0.3).start()
    yield device
    device.stop()


def agent_config(sim: HikvisionSimulator, **source: Any) -> AgentConfig:
    values = {"type": "hikvision-isapi", "device": DEVICE, "host": "127.0.0.1",
              "port": sim.port, "username": sim.username, "password": sim.password,
              "heartbeat_s": 0.3, "readers": {"1": "in", "2": "out"},
              "reconnect_max_s": 0.5, **source}
    return AgentConfig.model_validate({"community": COMMUNITY, "building": BUILDING,
                                       "sources": [values]})


def event_id(item: dict[str, Any]) -> uuid.UUID:
    """The id the agent must give a record of the simulator's log."""
    at = dt.datetime.fromisoformat(item["time"])
    return derived_event_id(COMMUNITY, BUILDING, DEVICE, record_key(item["serialNo"], at))


def source_of(agent: RunningAgent) -> HikvisionTerminal:
    source = agent.agent.sources[0]
    assert isinstance(source, HikvisionTerminal)
    return source


def streams_opened(sim: HikvisionSimulator) -> int:
    return sum(1 for method, path in sim.requests if path.endswith("alertStream"))


def rows_until(pipeline: Pipeline, sentinel: dict[str, Any]) -> list[dict[str, Any]]:
    """All rows once ``sentinel`` (the last event sent) has arrived: whatever came before
    it on the stream has been handled by then, so the count is final."""
    wait_for(lambda: any(r["event_id"] == event_id(sentinel) for r in pipeline.rows()), 30,
             "the sentinel event")
    return pipeline.rows()


def rejects(pipeline: Pipeline, config: AgentConfig) -> list[dict[str, Any]]:
    path = rejects_path(config, pipeline.settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_stream_events_become_rows_with_kinds_and_directions(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    before = sim.add_event(5, 75, employee="r-0001", reader=1)  # history on first connect
    agent = pipeline.start_agent(agent_config(sim))
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    live = [sim.add_event(5, 75, employee="r-0002", reader=2),
            sim.add_event(5, 1, employee="r-0003", reader=1),
            sim.add_event(5, 76, employee="r-0004", reader=1),
            sim.add_event(5, 80, reader=1),
            sim.add_event(5, 27),
            sim.add_event(5, 28),
            sim.add_event(5, 23),
            sim.add_event(3, 1024)]
    sentinel = sim.add_event(5, 22)
    rows = rows_until(pipeline, sentinel)

    got = {r["event_id"]: (r["kind"], r["direction"], r["person_id"], r["credential"])
           for r in rows}
    assert got == {
        event_id(before): ("passage", "in", "r-0001", "face"),
        event_id(live[0]): ("passage", "out", "r-0002", "face"),
        event_id(live[1]): ("passage", "in", "r-0003", "card"),
        event_id(live[2]): ("access_denied", "in", "r-0004", "face"),
        event_id(live[3]): ("access_denied", "in", None, "face"),
        event_id(live[4]): ("door_forced", None, None, None),
        event_id(live[5]): ("door_held_open", None, None, None),
        event_id(live[6]): ("exit_button", "out", None, "exit_button"),
        event_id(live[7]): ("door_opened", None, None, "remote"),
        event_id(sentinel): ("door_closed", None, None, None),
    }
    denied = next(r for r in rows if r["event_id"] == event_id(live[3]))
    assert denied["attrs"]["reason"] == "face_not_recognised"
    assert denied["attrs"]["major"] == 5 and denied["attrs"]["minor"] == 80
    assert all(r["source"] == "door" and r["device"] == DEVICE for r in rows)
    status = source_of(agent).device_status()
    assert status is not None and status["state"] == "online" and status["events"] == len(rows)


def test_a_connection_cut_mid_part_and_the_replayed_history_lose_and_double_nothing(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    config = agent_config(sim)
    agent = pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    first = [sim.add_event(5, 75, employee=f"r-{i:04d}", reader=1) for i in range(3)]
    pipeline.wait_rows(3)
    sim.cut_next_part()
    cut = sim.add_event(5, 75, employee="r-0100", reader=2)
    # the terminal replays all four records (currentEvent false) on the next connection
    wait_for(lambda: streams_opened(sim) >= 4 and sim.stream_count == 1, 10, "a reconnection")
    after = sim.add_event(5, 1, employee="r-0101", reader=1)
    sentinel = sim.add_event(5, 21)
    rows = rows_until(pipeline, sentinel)

    ids = [r["event_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == {event_id(item) for item in [*first, cut, after, sentinel]}
    assert any("ended inside a part" in r["reason"] for r in rejects(pipeline, config))
    stats = source_of(agent).stats
    assert stats.reconnects >= 1 and stats.history_skipped + stats.duplicates >= 3


def test_catch_up_after_an_outage_fetches_the_missed_records_page_by_page(
        pipeline: Pipeline) -> None:
    sim = HikvisionSimulator(heartbeat_s=0.3, replay_history=False, max_results=2).start()
    try:
        agent = pipeline.start_agent(agent_config(sim, page_size=30))
        wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
        before = sim.add_event(5, 75, employee="r-0001", reader=1)
        pipeline.wait_rows(1)
        sim.set_online(False)
        missed = [sim.add_event(5, 75, employee=f"r-{i:04d}", reader=2) for i in range(2, 7)]
        searches = len(sim.searches)
        sim.set_online(True)
        wait_for(lambda: sim.stream_count == 1 and len(sim.searches) > searches + 2, 15,
                 "the reconnection and its catch-up")
        sentinel = sim.add_event(5, 26)
        rows = rows_until(pipeline, sentinel)

        assert sorted(r["event_id"] for r in rows) == sorted(
            event_id(item) for item in [before, *missed, sentinel])
        # the device answers 2 records a page: the catch-up paged through all of them
        positions = [s["searchResultPosition"] for s in sim.searches[searches:]]
        assert positions[:3] == [0, 2, 4]
        assert source_of(agent).stats.caught_up >= len(missed)
    finally:
        sim.stop()


def test_a_restarted_agent_catches_up_from_its_checkpoint_without_doubles(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    config = agent_config(sim)
    first_agent = pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    early = [sim.add_event(5, 75, employee=f"r-{i:04d}", reader=1) for i in range(3)]
    pipeline.wait_rows(3)
    first_agent.stop()
    while_down = [sim.add_event(5, 1, employee=f"r-{i:04d}", reader=2) for i in range(3, 6)]

    second_agent = pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream again")
    sentinel = sim.add_event(5, 22)
    rows = rows_until(pipeline, sentinel)

    assert sorted(r["event_id"] for r in rows) == sorted(
        event_id(item) for item in [*early, *while_down, sentinel])
    # the history replayed on connect older than the checkpoint was skipped unsent
    assert source_of(second_agent).stats.history_skipped >= 2


def test_hostile_stream_input_is_rejected_with_reasons_and_the_stream_goes_on(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    config = agent_config(sim, max_part_bytes=4096)
    pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    head = f"--{BOUNDARY}\r\n".encode()
    sim.broadcast(head + b"Content-Type: application/json\r\nthis is no header\r\n\r\n{}\r\n")
    sim.broadcast(head + b"Content-Type: application/json\r\nContent-Length: 9\r\n\r\n"
                  + b'{"a": "' + b"x" * 10_000 + b'"}\r\n')
    sim.broadcast(head + b"Content-Type: application/json\r\nContent-Length: 20\r\n\r\n"
                  + b'{"eventType": "\xff\xfe"}\r\n')
    sim.broadcast(head + b"Content-Type: application/xml\r\n\r\n"
                  + b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>\r\n')
    sim.broadcast(head + b"Content-Type: application/json\r\nContent-Length: 5\r\n\r\n"
                  + b'{"eventType": "AccessControllerEvent", "AccessControllerEvent": []}\r\n')
    unknown = sim.add_event(5, 999, employee="r-0009")
    sentinel = sim.add_event(5, 75, employee="r-0010", reader=1)
    rows = rows_until(pipeline, sentinel)

    assert [r["event_id"] for r in rows] == [event_id(sentinel)]
    reasons = [r["reason"] for r in wait_for(lambda: rejects(pipeline, config), 10,
                                             "the rejects file")]
    for expected in ("malformed part header line", "part larger than 4096 bytes",
                     "not UTF-8", "document type declaration",
                     "AccessControllerEvent notification without its object",
                     "unknown Hikvision event code 5.999"):
        assert any(expected in reason for reason in reasons), (expected, reasons)
    assert not any(r["event_id"] == event_id(unknown) for r in rows)


def test_a_silent_stream_is_dropped_and_opened_again(pipeline: Pipeline) -> None:
    sim = HikvisionSimulator(heartbeat_s=60).start()  # never a heartbeat within the test
    try:
        agent = pipeline.start_agent(agent_config(sim, heartbeat_s=0.2, silent_heartbeats=2))
        wait_for(lambda: source_of(agent).stats.reconnects >= 1, 10, "a reconnection")
        wait_for(lambda: sim.stream_count == 1, 10, "the stream again")
        sentinel = sim.add_event(5, 75, employee="r-0001", reader=1)
        assert [r["event_id"] for r in rows_until(pipeline, sentinel)] == [event_id(sentinel)]
        assert "no data for" in (source_of(agent).device_status() or {})["last_error"]
    finally:
        sim.stop()


def test_a_drifting_device_clock_is_noted_and_its_times_kept(pipeline: Pipeline) -> None:
    sim = HikvisionSimulator(heartbeat_s=0.3, clock_offset_s=-7200).start()
    try:
        agent = pipeline.start_agent(agent_config(sim))
        wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
        sentinel = sim.add_event(5, 75, employee="r-0001", reader=1)
        (row,) = rows_until(pipeline, sentinel)
        assert row["occurred_at"] == dt.datetime.fromisoformat(sentinel["time"])
        assert row["attrs"]["drift_s"] == pytest.approx(-7200, abs=5)
        status = source_of(agent).device_status() or {}
        assert status["clock_drift_s"] == pytest.approx(-7200, abs=5)
        assert source_of(agent).health()["drift_s"] == pytest.approx(-7200, abs=5)
    finally:
        sim.stop()


def test_numbers_restarted_by_a_factory_reset_are_new_events(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    pipeline.start_agent(agent_config(sim))
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    now = sim.device_now()
    old = [sim.add_event(5, 75, employee="r-0001", reader=1, at=now - dt.timedelta(minutes=9)),
           sim.add_event(5, 75, employee="r-0002", reader=1, at=now - dt.timedelta(minutes=8))]
    sim.factory_reset()
    new = [sim.add_event(5, 75, employee="r-0003", reader=2, at=now - dt.timedelta(minutes=2)),
           sim.add_event(5, 75, employee="r-0004", reader=2, at=now - dt.timedelta(minutes=1))]
    assert [item["serialNo"] for item in new] == [item["serialNo"] for item in old]
    rows = rows_until(pipeline, new[-1])
    assert sorted(r["person_id"] for r in rows) == ["r-0001", "r-0002", "r-0003", "r-0004"]


def test_routine_codes_are_counted_as_ignored_not_rejected(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    config = agent_config(sim)
    agent = pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    for minor in (0x405, 0x404, 121, 122, 112, 113):  # NTP/remote time sync, arming, login
        sim.add_event(3, minor)
    sentinel = sim.add_event(5, 75, employee="r-0001", reader=1)
    rows = rows_until(pipeline, sentinel)

    assert [r["event_id"] for r in rows] == [event_id(sentinel)]
    assert rejects(pipeline, config) == []
    health = source_of(agent).health()
    assert health["ignored"] == 6 and health["rejected"] == 0 and health["problems"] == []


def test_a_contact_wired_door_read_as_exit_button_is_flagged(
        pipeline: Pipeline, sim: HikvisionSimulator, caplog: pytest.LogCaptureFixture) -> None:
    """The door contact under 5.23 read with the SDK table: every lock opening (5.21) is
    followed a second later by an "exit"; after ``wiring_check`` of them the agent warns."""
    agent = pipeline.start_agent(agent_config(sim, wiring_check=3))
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    start = sim.device_now().replace(microsecond=0) - dt.timedelta(minutes=5)
    sim.add_event(5, 23, at=start - dt.timedelta(seconds=30))  # a real press: button first
    sim.add_event(5, 21, at=start - dt.timedelta(seconds=29))
    for i in range(3):
        opened = start + dt.timedelta(seconds=20 * i)
        sim.add_event(5, 75, employee=f"r-000{i}", reader=1, at=opened)
        sim.add_event(5, 21, at=opened)
        last = sim.add_event(5, 23, at=opened + dt.timedelta(seconds=1))
    rows_until(pipeline, last)

    problems = source_of(agent).health()["problems"]
    assert [p["code"] for p in problems] == ["exit_after_every_lock_open"]
    assert "door-contact" in problems[0]["message"]
    assert source_of(agent).device_status()["problems"] == problems  # type: ignore[index]
    assert any(r.levelname == "WARNING" and "exit_button" not in r.getMessage()
               and "5.23" in r.getMessage() for r in caplog.records)


def test_the_door_contact_table_reads_5_23_as_the_contact(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    agent = pipeline.start_agent(agent_config(sim, code_table="door-contact", wiring_check=1,
                                              codes={"5.24": "door_held_open"}))
    wait_for(lambda: sim.stream_count == 1, 10, "the alertStream")
    opened = sim.add_event(5, 21)
    contact = sim.add_event(5, 23)
    held = sim.add_event(5, 24)
    rows = rows_until(pipeline, held)

    by_id = {r["event_id"]: (r["kind"], r["attrs"].get("signal")) for r in rows}
    assert by_id == {event_id(opened): ("door_opened", "lock"),
                     event_id(contact): ("door_opened", "contact"),
                     event_id(held): ("door_held_open", "contact")}  # override keeps signal
    assert source_of(agent).health()["problems"] == []
