"""ZKTeco terminals on TCP 4370, simulated over real sockets, through the real agent,
broker, ingest and database: live events, outages and catch-up, hostile packets."""

from __future__ import annotations

import datetime as dt
import json
import struct
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from edge.agent import rejects_path
from edge.config import AgentConfig
from edge.zkteco.protocol import MAGIC, Command, EventFlag, encode
from edge.zkteco.tcp import ZktecoTcpEdgeSource
from hardware.simulators.zkteco import TcpTerminal
from hardware.simulators.zkteco_tcp import C3Panel
from tests.pipeline import Pipeline, RunningAgent, wait_for

COMM_KEY = 20261122


@pytest.fixture
def device() -> Iterator[TcpTerminal]:
    terminal = TcpTerminal(comm_key=COMM_KEY)
    yield terminal
    terminal.close()


def agent_config(device: TcpTerminal, **changes: Any) -> AgentConfig:
    return AgentConfig.model_validate({"community": "juxin", "building": "b01", "sources": [{
        "type": "zkteco-tcp", "device": "b01-u1-door", "host": "127.0.0.1",
        "port": device.address[1], "comm_key": COMM_KEY, "direction": "in",
        "reconnect_min_s": 0.05, "reconnect_max_s": 0.2, "keepalive_s": 0.5,
        "timeout_s": 2, "chunk_bytes": 1024, **changes}]})


def source_of(running: RunningAgent) -> ZktecoTcpEdgeSource:
    (source,) = running.agent.sources
    assert isinstance(source, ZktecoTcpEdgeSource)
    return source


def connected(device: TcpTerminal, reads: int = 1) -> None:
    """Wait until the agent registered for events and read the log ``reads`` times."""
    wait_for(lambda: device.registered() and device.counts["log_reads"] >= reads, 10,
             "the agent connected and caught up")


def settled_rows(pipeline: Pipeline, count: int) -> list[dict[str, Any]]:
    """Exactly ``count`` rows, and still that many a moment later (no late doubles)."""
    pipeline.wait_rows(count)
    time.sleep(0.5)
    rows = pipeline.rows()
    assert len(rows) == count and len({r["event_id"] for r in rows}) == count
    return rows


def test_live_events_become_rows_with_kinds_and_drift(pipeline: Pipeline) -> None:
    device = TcpTerminal(comm_key=COMM_KEY, clock_offset_s=-600, numeric_ids=True)
    try:
        running = pipeline.start_agent(agent_config(device, drift_threshold_s=120))
        connected(device)
        verifies = [1, 3, 4, 15]
        for i in range(20):
            device.punch(str(1000 + i), verify=verifies[i % 4],
                         time=device.now() - dt.timedelta(seconds=30 - i))
        for code in (0x35, 0x36, 0x22, 99, 0x37):
            device.alarm(code, user_sn=4)
        wait_for(lambda: device.counts["event_acks"] >= 25, 10, "every event acknowledged")
        rows = settled_rows(pipeline, 24)
        passages = [r for r in rows if r["kind"] == "passage"]
        assert {(r["direction"], r["attrs"]["origin"]) for r in passages} == {("in", "live")}
        assert Counter(r["credential"] for r in passages) == {"fingerprint": 5, "pin": 5,
                                                              "card": 5, "face": 5}
        assert all(-640 < r["attrs"]["drift_s"] < -560 for r in passages)
        assert Counter((r["kind"], r["attrs"].get("reason")) for r in rows
                       if r["kind"] != "passage") == {("exit_button", None): 1,
                                                      ("door_forced", None): 1,
                                                      ("access_denied", "passback"): 1,
                                                      ("tamper", None): 1}
        status = source_of(running).device_status()
        assert (status["state"], status["serial"], status["alarms"]) == ("online",
                                                                        device.serial, 5)
        assert -640 < status["drift_s"] < -560 and status["last_alarm"]["name"] == "tamper"
        (unknown,) = [json.loads(line) for line in rejects_path(
            agent_config(device), pipeline.settings).read_text().splitlines()]
        assert "unknown alarm code 99" in unknown["reason"]
    finally:
        device.close()


def test_an_outage_mid_stream_is_caught_up_from_the_log(pipeline: Pipeline,
                                                         device: TcpTerminal) -> None:
    pipeline.start_agent(agent_config(device))
    connected(device)
    for i in range(30):
        device.punch(f"p{i % 9}", time=device.now() - dt.timedelta(seconds=300 - i))
    wait_for(lambda: device.counts["event_acks"] >= 30, 10, "30 live events acknowledged")
    device.refusing = True  # the network fails: connections cut, new ones refused
    device.drop()
    for i in range(30, 50):  # these reach the terminal's log only
        device.punch(f"p{i % 9}", time=device.now() - dt.timedelta(seconds=300 - i))
    device.refusing = False
    connected(device, reads=2)
    rows = settled_rows(pipeline, 50)
    origins = Counter(r["attrs"]["origin"] for r in rows)
    assert origins["live"] == 30 and origins["log"] == 20


def test_after_an_agent_restart_it_catches_up_without_doubles(pipeline: Pipeline,
                                                              device: TcpTerminal) -> None:
    for i in range(10):  # history from before the agent's first start
        device.punch(f"h{i}", time=device.now() - dt.timedelta(hours=2, seconds=i))
    config = agent_config(device, catchup_first_hours=1)
    first = pipeline.start_agent(config)
    connected(device)
    for i in range(25):
        device.punch(f"a{i}", time=device.now() - dt.timedelta(seconds=100 - i))
    pipeline.wait_rows(25)
    first.stop()
    for i in range(15):
        device.punch(f"b{i}", time=device.now() - dt.timedelta(seconds=50 - i))
    second = pipeline.start_agent(config)
    connected(device, reads=2)
    rows = settled_rows(pipeline, 40)
    assert not any(r["person_id"].startswith("h") for r in rows)  # older than first start
    source = source_of(second)
    assert source.counts["caught_up"] + source.counts["repeats"] >= 15


def test_hostile_packets_are_kept_aside_and_the_stream_goes_on(pipeline: Pipeline,
                                                               device: TcpTerminal) -> None:
    config = agent_config(device)
    running = pipeline.start_agent(config)
    connected(device)
    device.punch("good1")
    bad_checksum = bytearray(encode(Command.REG_EVENT, EventFlag.ATTLOG, 0,
                                    b"x9".ljust(24, b"\0") + bytes((15, 0, 26, 11, 22, 8, 0, 1))))
    bad_checksum[10] ^= 0xFF
    device.send_raw(bytes(bad_checksum))
    device.send_raw(encode(Command.REG_EVENT, 0x4000, 0, b"\0" * 4))  # unknown event code
    device.send_raw(encode(Command.REG_EVENT, EventFlag.ALARM, 0, b"\x35\0\0\0\0"))
    device.send_raw(encode(Command.REG_EVENT, EventFlag.ATTLOG, 0,
                           "张三".encode("gbk").ljust(24, b"\0") + bytes(8)))
    device.punch("good2")
    wait_for(lambda: device.counts["event_acks"] >= 6, 10, "all six acknowledged")
    source = source_of(running)
    # a stream that cannot be trusted any more: the agent drops it and comes back
    for garbage in (b"GET / HTTP/1.1\r\n\r\n", MAGIC + struct.pack("<I", 1 << 30),
                    MAGIC + struct.pack("<I", 200) + b"\0" * 50):
        wait_for(lambda: source.connection == "connected" and not source.catchup_due, 10,
                 "a settled connection")
        connects = device.counts["connects"]
        device.send_raw(garbage)
        if garbage.startswith(MAGIC + struct.pack("<I", 200)):
            device.drop()  # a truncated packet, then the connection ends
        device.punch(f"after-{len(garbage)}", live=False)
        wait_for(lambda c=connects: device.counts["connects"] > c, 10, "a new connection")
    device.punch("good3")
    rows = settled_rows(pipeline, 6)
    assert sorted(r["person_id"] for r in rows) == sorted(
        ["good1", "good2", "good3", "after-18", "after-8", "after-58"])
    reasons = [json.loads(line)["reason"] for line in
               rejects_path(config, pipeline.settings).read_text().splitlines()]
    assert [sum(text in reason for reason in reasons) for text in (
        "bad checksum", "unknown real-time event code 16384", "alarm event of 5 bytes",
        "bad user id")] == [1, 1, 1, 1]
    assert source_of(running).counts["reconnects"] >= 3


def test_a_wrong_comm_key_is_refused_and_retried(pipeline: Pipeline,
                                                 device: TcpTerminal) -> None:
    running = pipeline.start_agent(agent_config(device, comm_key=COMM_KEY + 1))
    wait_for(lambda: device.counts["refused_auth"] >= 2, 10, "two refused attempts")
    status = source_of(running).device_status()
    assert status["state"] == "offline" and "refused the comm key" in status["last_error"]
    assert not device.registered()


def test_an_access_panel_on_the_tcp_source_is_named_not_looped_on(
        pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    """A ZKAccess C3/InBIO panel answers in its own framing (AA 01 … 55): the agent says
    once, in plain words, what the device is and which path is supported, and asks again
    only every ``reconnect_max_s``."""
    panel = C3Panel()
    try:
        config = AgentConfig.model_validate({"community": "juxin", "building": "b01",
                                             "sources": [{
            "type": "zkteco-tcp", "device": "b01-gate", "host": "127.0.0.1",
            "port": panel.address[1], "reconnect_min_s": 0.05, "reconnect_max_s": 0.3,
            "timeout_s": 2}]})
        running = pipeline.start_agent(config)
        source = source_of(running)
        wait_for(lambda: panel.requests >= 3, 10, "three connection attempts")
        health = source.health()
        (problem,) = health["problems"]
        assert problem["code"] == "access_panel"
        assert "access-control panel" in problem["message"]
        assert "`log` source" in problem["message"]
        assert health["connection"] == "wrong device type: ZKAccess access panel"
        warnings = [r.getMessage() for r in caplog.records
                    if r.levelname == "WARNING" and "zkteco" in r.name]
        assert len(warnings) == 1 and "C3-100" in warnings[0]
        assert "no packet start" not in caplog.text
    finally:
        panel.close()


def test_a_terminal_set_to_another_time_zone_is_flagged(
        pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    """A terminal on Bangkok time read as Shanghai time: its clock is an hour behind to the
    minute, which is a zone, not a drift."""
    device = TcpTerminal(comm_key=COMM_KEY, timezone="Asia/Bangkok")
    try:
        running = pipeline.start_agent(agent_config(device, timezone="Asia/Shanghai"))
        connected(device)
        source = source_of(running)
        wait_for(lambda: source.health()["problems"] != [], 10, "the zone check")
        (problem,) = source.health()["problems"]
        assert problem["code"] == "zone_mismatch" and "-1 h" in problem["message"]
        assert "Asia/Shanghai" in problem["message"]
        assert any(r.levelname == "WARNING" and "time zone" in r.getMessage()
                   for r in caplog.records)
        running.stop()
    finally:
        device.close()
    right = TcpTerminal(comm_key=COMM_KEY)
    try:
        running = pipeline.start_agent(agent_config(right))
        connected(right)
        assert source_of(running).health()["problems"] == []
    finally:
        right.close()
