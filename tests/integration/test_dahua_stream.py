"""The Dahua source against the simulated terminal over real sockets: eventManager events
through the real broker and ingest into the database; a cut connection and an outage
caught up through recordFinder; hostile parts rejected with reasons."""

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
from edge.dahua.source import DahuaTerminal
from edge.vendors.records import record_key
from hardware.simulators.dahua import DahuaSimulator
from linli.contract import derived_event_id
from tests.pipeline import Pipeline, RunningAgent, wait_for

COMMUNITY, BUILDING, DEVICE = "juxin", "b03", "b03-u2-door"


@pytest.fixture
def sim() -> Iterator[DahuaSimulator]:
    device = DahuaSimulator().start()
    yield device
    device.stop()


def agent_config(sim: DahuaSimulator, **source: Any) -> AgentConfig:
    values = {"type": "dahua", "device": DEVICE, "host": "127.0.0.1", "port": sim.port,
              "username": sim.username, "password": sim.password, "heartbeat_s": 1,
              "readers": {"1": "in", "2": "out"}, "reconnect_max_s": 0.5, **source}
    return AgentConfig.model_validate({"community": COMMUNITY, "building": BUILDING,
                                       "sources": [values]})


def event_id(record: dict[str, Any]) -> uuid.UUID:
    at = dt.datetime.fromtimestamp(record["CreateTime"], dt.UTC)
    return derived_event_id(COMMUNITY, BUILDING, DEVICE, record_key(record["RecNo"], at))


def source_of(agent: RunningAgent) -> DahuaTerminal:
    source = agent.agent.sources[0]
    assert isinstance(source, DahuaTerminal)
    return source


def rows_until(pipeline: Pipeline, sentinel: dict[str, Any]) -> list[dict[str, Any]]:
    """All rows once the last record sent has arrived (the count is final then)."""
    wait_for(lambda: any(r["event_id"] == event_id(sentinel) for r in pipeline.rows()), 30,
             "the sentinel record")
    return pipeline.rows()


def test_stream_events_become_rows_with_kinds_and_directions(
        pipeline: Pipeline, sim: DahuaSimulator) -> None:
    events = ["AccessControl", "DoorStatus", "BreakIn", "DoorNotClosed", "AlarmLocal"]
    agent = pipeline.start_agent(agent_config(sim, events=events))
    wait_for(lambda: sim.stream_count == 1, 10, "the event stream")
    entry = sim.access(user="r-0001", method=15, entry=True)
    leave = sim.access(user="r-0002", method=1, entry=False, card="88001234")
    by_reader = sim.access(user="r-0003", method=6, entry=None, reader="2")
    denied = sim.access(user="r-0004", granted=False, method=15)
    button = sim.access(user="", method=5, entry=None)
    remote = sim.access(user="r-0005", method=4, entry=None)
    sim.door_status(True)
    sim.alarm("BreakIn")
    sim.alarm("BreakIn", action="Stop")
    sim.alarm("DoorNotClosed")
    sim.alarm("AlarmLocal")
    sentinel = sim.access(user="r-0006", method=1)
    rows = rows_until(pipeline, sentinel)

    by_id = {r["event_id"]: (r["kind"], r["direction"], r["person_id"], r["credential"])
             for r in rows}
    assert {key: by_id.pop(key) for key in [event_id(r) for r in (
        entry, leave, by_reader, denied, button, remote, sentinel)]} == {
        event_id(entry): ("passage", "in", "r-0001", "face"),
        event_id(leave): ("passage", "out", "r-0002", "card"),
        event_id(by_reader): ("passage", "out", "r-0003", "fingerprint"),
        event_id(denied): ("access_denied", "in", "r-0004", "face"),
        event_id(button): ("exit_button", "out", None, "exit_button"),
        event_id(remote): ("door_opened", None, "r-0005", "remote"),
        event_id(sentinel): ("passage", "in", "r-0006", "card"),
    }
    # the door events carry no record number: one row each, the alarm's end none
    assert sorted(by_id.values()) == [("door_forced", None, None, None),
                                      ("door_held_open", None, None, None),
                                      ("door_opened", None, None, None)]
    card_row = next(r for r in rows if r["event_id"] == event_id(leave))
    assert card_row["attrs"]["card_tail"] == "1234" and "88001234" not in json.dumps(
        card_row["attrs"])
    assert source_of(agent).stats.ignored == 2  # BreakIn Stop, AlarmLocal


def test_a_cut_part_and_an_outage_are_caught_up_through_record_finder(
        pipeline: Pipeline, sim: DahuaSimulator) -> None:
    config = agent_config(sim, page_size=2)
    agent = pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the event stream")
    start = int(sim.device_now().timestamp()) - 600
    first = sim.access(user="r-0001", utc=start)
    pipeline.wait_rows(1)
    sim.cut_next_part()
    cut = sim.access(user="r-0002", utc=start + 1)
    wait_for(lambda: source_of(agent).stats.reconnects >= 1 and sim.stream_count == 1, 10,
             "the reconnection")
    sim.set_online(False)
    missed = [sim.access(user=f"r-{i:04d}", entry=i % 2 == 0, utc=start + 10 + i)
              for i in range(3, 8)]
    finds = len(sim.finds)
    sim.set_online(True)
    wait_for(lambda: sim.stream_count == 1 and len(sim.finds) > finds + 2, 15,
             "the reconnection and its catch-up")
    sentinel = sim.access(user="r-0009")
    rows = rows_until(pipeline, sentinel)

    ids = [r["event_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) == {event_id(r) for r in [first, cut, *missed, sentinel]}
    # two records a page, each next page starting at the last page's newest time
    pages = [int(q["StartTime"]) for q in sim.finds[finds:]]
    assert pages == sorted(pages) and len(pages) >= 3
    lines = [json.loads(line) for line in
             Path(rejects_path(config, pipeline.settings)).read_text().splitlines()]
    assert any("ended inside a part" in line["reason"] for line in lines)


def test_hostile_parts_are_rejected_with_reasons_and_the_stream_goes_on(
        pipeline: Pipeline, sim: DahuaSimulator) -> None:
    config = agent_config(sim, max_part_bytes=2048)
    pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the event stream")
    sim.send_body(b"Code=AccessControl;action=Pulse;index=0;data={\"RecNo\": ")
    sim.send_body(b"Code=AccessControl;action=Pulse;index=0;data=" + b"[" * 5000 + b"]" * 5000)
    sim.send_body(b"Code=AccessControl;action=Pulse;index=0;data={\"UserID\": \"\xff\xfe\"}")
    sim.send_body(b"no code here at all")
    sim.send_body(b'Code=AccessControl;action=Pulse;index=0;data={"Status": "maybe", '
                  b'"UTC": 1790000000}')
    sim.send_body(b'Code=Mystery;action=Pulse;index=0;data={"UTC": 1790000000}')
    sim.broadcast(b"--myboundary\r\nContent-Type text/plain\r\n\r\nCode=X\r\n\r\n")
    sentinel = sim.access(user="r-0001")
    rows = rows_until(pipeline, sentinel)

    assert [r["event_id"] for r in rows] == [event_id(sentinel)]
    reasons = [json.loads(line)["reason"] for line in
               Path(rejects_path(config, pipeline.settings)).read_text().splitlines()]
    for expected in ("part larger than 2048 bytes", "not UTF-8", "expected key=value",
                     "neither 1 nor 0", "unknown Dahua event Mystery",
                     "malformed part header line"):
        assert any(expected in reason for reason in reasons), (expected, reasons)


def test_face_and_card_reads_as_the_terminals_send_them(
        pipeline: Pipeline, sim: DahuaSimulator) -> None:
    """``_DoorFace_`` (no time of its own) and ``DoorCard`` (card in ``Number``): accepted
    by the configuration, ignored by default (the AccessControl event that follows is the
    passage), and when a device maps them, rows with credential, reader and card tail; the
    face takes its time from ``time_from``."""
    sim.clock_offset_s = 3600.0  # the device is an hour ahead: device_clock must follow it
    events = ["AccessControl", "DoorCard", "_DoorFace_"]
    config = agent_config(sim, events=events, time_from="device_clock",
                          codes={"_DoorFace_": "passage", "DoorCard": "passage"})
    agent = pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the event stream")
    assert "codes=[AccessControl,DoorCard,_DoorFace_]" in source_of(agent).attach_url
    sim.door_face("r-0007", reader=1)
    sim.door_card("7a087d0f")
    sim.access(user="r-0008", method=1, card="")
    rows = pipeline.wait_rows(3)

    face = next(r for r in rows if r["attrs"].get("code") == "_DoorFace_")
    card = next(r for r in rows if r["attrs"].get("code") == "DoorCard")
    assert (face["kind"], face["direction"], face["person_id"], face["credential"]) == (
        "passage", "in", "r-0007", "face")
    assert face["attrs"]["time_source"] == "device_clock"
    assert face["attrs"]["similarity"] == "98" and face["attrs"]["reader"] == "1"
    assert abs((face["occurred_at"] - dt.datetime.now(dt.UTC)).total_seconds() - 3600) < 60
    assert (card["kind"], card["credential"], card["attrs"]["card_tail"]) == (
        "passage", "card", "7d0f")
    assert "7a087d0f" not in json.dumps(card["attrs"]) and "time_source" not in card["attrs"]


def test_face_and_card_reads_are_ignored_not_rejected_by_default(
        pipeline: Pipeline, sim: DahuaSimulator) -> None:
    config = agent_config(sim, events=["AccessControl", "DoorCard", "_DoorFace_"])
    agent = pipeline.start_agent(config)
    wait_for(lambda: sim.stream_count == 1, 10, "the event stream")
    sim.door_face("r-0007")
    sim.door_card("7a087d0f")
    sentinel = sim.access(user="r-0007", method=15)
    rows = rows_until(pipeline, sentinel)

    assert [r["event_id"] for r in rows] == [event_id(sentinel)]
    wait_for(lambda: source_of(agent).stats.ignored == 2, 10, "both reads counted as ignored")
    assert source_of(agent).stats.rejected == 0
    assert not Path(rejects_path(config, pipeline.settings)).exists()
