"""ZKTeco PUSH (ADMS) terminals, simulated over real HTTP, through the real agent, broker,
ingest and database: right kinds and directions, nothing lost, nothing doubled."""

from __future__ import annotations

import datetime as dt
import json
import socket
import stat
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from edge.agent import rejects_path
from edge.config import AgentConfig
from edge.zkteco.push import ZktecoPushEdgeSource
from hardware.simulators.zkteco import PushTerminal, UploadRefused
from tests.pipeline import Pipeline, RunningAgent, wait_for

ENTRANCE = {"type": "zkteco-push", "device": "b01-u1-door", "serial": "CKJ001",
            "direction": "in", "max_body_bytes": 8192}
EXIT = {"type": "zkteco-push", "device": "b01-u1-exit", "serial": "CKJ002",
        "direction": "out"}


@pytest.fixture
def port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def agent_config(port: int, *sources: dict[str, Any]) -> AgentConfig:
    return AgentConfig.model_validate({
        "community": "juxin", "building": "b01",
        "sources": [{**source, "listen": f"127.0.0.1:{port}"} for source in sources]})


def terminal(port: int, serial: str) -> PushTerminal:
    """A terminal pointed at the agent, once the agent listens."""
    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0
    wait_for(listening, 10, f"the iclock listener on port {port}")
    return PushTerminal(f"http://127.0.0.1:{port}", serial)


def settled_rows(pipeline: Pipeline, count: int) -> list[dict[str, Any]]:
    """Exactly ``count`` rows, and still that many a moment later."""
    rows = pipeline.wait_rows(count)
    time.sleep(0.5)
    rows = pipeline.rows()
    assert len(rows) == count, f"{len(rows)} rows, expected exactly {count}"
    assert len({row["event_id"] for row in rows}) == count
    return rows


def rejects(pipeline: Pipeline, config: AgentConfig) -> list[dict[str, Any]]:
    path = rejects_path(config, pipeline.settings)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def push_source(running: RunningAgent, device: str) -> ZktecoPushEdgeSource:
    (source,) = [s for s in running.agent.sources if s.device == device]
    assert isinstance(source, ZktecoPushEdgeSource)
    return source


def test_two_terminals_on_one_listener_become_rows(pipeline: Pipeline, port: int) -> None:
    config = agent_config(port, ENTRANCE, EXIT)
    running = pipeline.start_agent(config)
    entrance, exit_ = terminal(port, "CKJ001"), terminal(port, "CKJ002")
    base = entrance.now() - dt.timedelta(minutes=30)
    verifies = [1, 3, 4, 15]
    for i in range(20):
        entrance.punch(str(i + 1), base + dt.timedelta(seconds=i), verify=verifies[i % 4],
                       state=i % 2)
    for i in range(10):
        exit_.punch(str(i + 1), base + dt.timedelta(minutes=5, seconds=i))
    for code in (53, 54, 34, 99, 55):  # exit button, door forced, passback, unknown, tamper
        exit_.alarm(code, base + dt.timedelta(minutes=6, seconds=code))
    entrance.sync()
    exit_.sync()
    assert exit_.poll(info="Ver 6.60 Apr 2024,120,80,4000,10.0.0.12") == "OK"
    assert exit_.request("GET", "cdata", {})[1] == "OK"  # a heartbeat without options
    assert exit_.request("POST", "devicecmd", {}, b"ID=1&Return=0&CMD=INFO") == (200, "OK")

    rows = settled_rows(pipeline, 34)
    by_device = {device: [r for r in rows if r["device"] == device]
                 for device in ("b01-u1-door", "b01-u1-exit")}
    assert {(r["kind"], r["direction"]) for r in by_device["b01-u1-door"]} == {("passage", "in")}
    assert Counter(r["credential"] for r in by_device["b01-u1-door"]) == {
        "fingerprint": 5, "pin": 5, "card": 5, "face": 5}
    assert {r["attrs"]["state"] for r in by_device["b01-u1-door"]} == {0, 1}  # kept, not used
    assert sorted(r["person_id"] for r in by_device["b01-u1-door"]) == sorted(
        str(i) for i in range(1, 21))
    exits = Counter((r["kind"], r["direction"], r["attrs"].get("reason"))
                    for r in by_device["b01-u1-exit"])
    assert exits == {("passage", "out", None): 10, ("exit_button", "out", None): 1,
                     ("door_forced", None, None): 1, ("access_denied", None, "passback"): 1,
                     ("tamper", None, None): 1}
    (unknown,) = rejects(pipeline, config)
    assert (unknown["file"], unknown["line"]) == ("zkteco-push:CKJ002:OPERLOG", 4)
    assert "unknown alarm code 99" in unknown["reason"] and "\t99\t" in unknown["raw"]
    status = push_source(running, "b01-u1-exit").device_status()
    assert (status["state"], status["attlog_stamp"], status["operlog_stamp"]) == (
        "online", "10", "5")
    assert status["last_alarm"]["name"] == "tamper"
    assert (status["firmware"], status["stored_records"]) == ("Ver 6.60 Apr 2024", "4000")


def test_dropped_and_unanswered_uploads_lose_nothing_and_double_nothing(
        pipeline: Pipeline, port: int) -> None:
    pipeline.start_agent(agent_config(port, ENTRANCE))
    device = terminal(port, "CKJ001")
    base = device.now() - dt.timedelta(hours=1)
    for i in range(40):
        device.punch(str(i % 7 + 1), base + dt.timedelta(seconds=i))
    body = b"\n".join(device.tables["ATTLOG"].lines) + b"\n"
    # the connection drops half-way through the body: nothing may be stored or answered
    device.post_raw({"table": "ATTLOG", "Stamp": "40"}, body, send_bytes=len(body) // 2)
    # a whole batch arrives but the terminal hangs up before the answer: stored, unanswered
    device.batch = 15
    with pytest.raises(UploadRefused):
        device.upload(hang_up_before_answer=True)
    pipeline.wait_rows(15)
    # the terminal sends from its stamp again: the 15 a second time, then the rest
    device.sync()
    rows = settled_rows(pipeline, 40)
    assert device.posted_lines == 15 + 40
    assert Counter(r["person_id"] for r in rows) == Counter(str(i % 7 + 1) for i in range(40))


def test_after_an_agent_restart_the_terminal_sends_only_what_we_lack(
        pipeline: Pipeline, port: int) -> None:
    config = agent_config(port, ENTRANCE)
    first = pipeline.start_agent(config)
    device = terminal(port, "CKJ001")
    base = device.now() - dt.timedelta(hours=2)
    for i in range(30):
        device.punch(str(i), base + dt.timedelta(seconds=i))
    device.sync()
    pipeline.wait_rows(30)
    first.stop()
    for i in range(30, 40):
        device.punch(str(i), base + dt.timedelta(seconds=i))
    with pytest.raises(UploadRefused):
        device.sync(timeout_s=0.3)  # nobody listens
    pipeline.start_agent(config)
    # a terminal that rebooted (it asks for our stamp) and the one that kept waiting
    rebooted = terminal(port, "CKJ001")
    assert rebooted.handshake()["ATTLOGStamp"] == "30"
    device.sync()
    settled_rows(pipeline, 40)
    assert device.posted_lines == 40  # nothing was sent twice


def test_hostile_requests_are_refused_kept_aside_and_the_rest_arrive(
        pipeline: Pipeline, port: int) -> None:
    config = agent_config(port, ENTRANCE)
    pipeline.start_agent(config)
    device = terminal(port, "CKJ001")
    url = f"http://127.0.0.1:{port}"
    assert PushTerminal(url, "INTRUDER").request("GET", "cdata", {"options": "all"})[0] == 403
    assert device.request("POST", "cdata", {"table": "ATTLOG"}, b"1\t" * 5000)[0] == 413
    assert device.request("GET", "cdata", {"SN": ""})[0] == 400
    assert device.request("GET", "../../etc/passwd", {})[0] == 404
    assert device.request("POST", "cdata", {"table": "ATTPHOTO"}, bytes(range(256)))[0] == 200
    now = device.now()
    device.punch("1", now)
    device.add_line("ATTLOG", b"\xff\xfe\x00\x81garbage\t2026")
    device.add_line("ATTLOG", "9" * 3000 + "\t2026-11-22 08:00:00\t0\t1")
    device.add_line("ATTLOG", "2\tyesterday\t0\t1")
    device.punch("3", now)
    device.add_line("OPERLOG", "USER PIN=1\tName=张桂英\tPri=0".encode("gbk"))
    device.add_line("OPERLOG", "TELEPORT 1")
    device.alarm(53, now)
    device.alarm(153, now)
    device.sync()

    rows = settled_rows(pipeline, 3)
    assert sorted((r["kind"], r["person_id"]) for r in rows) == [
        ("exit_button", None), ("passage", "1"), ("passage", "3")]
    reasons = [entry["reason"] for entry in rejects(pipeline, config)]
    for expected in ("unknown terminal serial 'INTRUDER'", "neither UTF-8 nor GBK", "bad PIN",
                     "bad time 'yesterday'", "unknown OPERLOG line type", "unknown alarm code 153"):
        assert sum(expected in reason for reason in reasons) == 1, (expected, reasons)
    assert len(reasons) == 6


JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 4 + b"\xff\xd9"


def test_an_x903_with_a_server_path_is_served_and_refusals_are_named(
        pipeline: Pipeline, port: int, caplog: pytest.LogCaptureFixture) -> None:
    """Real X903s set to ``/adms/`` ask ``/adms//iclock/…``; a request that is still refused
    is a WARNING naming the terminal's serial and the path."""
    config = agent_config(port, {**ENTRANCE, "timezone": "Asia/Shanghai"})
    running = pipeline.start_agent(config)
    device = terminal(port, "CKJ001")
    device.server_path = "/adms/"
    device.handshake()
    assert device.poll() == "OK"
    device.punch("1", verify=16)   # face and fingerprint
    device.punch("2", verify=99)   # a verify type nobody documented
    device.sync()
    rows = settled_rows(pipeline, 2)

    by_person = {r["person_id"]: r for r in rows}
    assert by_person["1"]["credential"] == "face"
    assert by_person["1"]["attrs"]["verify_mode"] == "face_and_fingerprint"
    assert by_person["2"]["credential"] is None
    assert (by_person["2"]["attrs"]["verify_mode"], by_person["2"]["attrs"]["verify"]) == (
        "unknown", 99)
    assert device.request("GET", "fdata", {})[0] == 404
    device.server_path = "/adms/$bad"
    assert device.request("GET", "getrequest", {})[0] == 404
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("CKJ001" in w and "/iclock/fdata" in w for w in warnings), warnings
    assert any("CKJ001" in w and "/adms/$bad/iclock/getrequest" in w for w in warnings), warnings
    assert push_source(running, "b01-u1-door").health()["refused"] >= 1


def test_photos_are_kept_privately_only_when_snapshots_are_enabled(
        pipeline: Pipeline, port: int, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "snapshots"
    kept = {**ENTRANCE, "snapshots": {"enabled": True, "dir": str(folder)}}
    config = agent_config(port, kept, EXIT)
    running = pipeline.start_agent(config)
    entrance, exit_ = terminal(port, "CKJ001"), terminal(port, "CKJ002")
    at = dt.datetime(2026, 11, 22, 8, 0, 0)
    assert entrance.upload_photo("1", JPEG, at) == 200
    assert entrance.upload_photo("2", b"not a jpeg", at) == 200
    assert exit_.upload_photo("3", JPEG, at) == 200  # snapshots off: acknowledged, not kept

    photo = folder / "b01-u1-door" / "20261122080000-1.jpg"
    assert photo.read_bytes() == JPEG
    assert stat.S_IMODE(photo.stat().st_mode) == 0o600
    assert stat.S_IMODE(photo.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [photo.name]
    assert push_source(running, "b01-u1-door").health()["photos_kept"] == 1
    assert push_source(running, "b01-u1-exit").health()["photos_dropped"] == 1
    assert JPEG[:32].hex() not in caplog.text and "JFIF" not in caplog.text


def test_a_terminal_in_another_time_zone_is_flagged(
        pipeline: Pipeline, port: int, caplog: pytest.LogCaptureFixture) -> None:
    running = pipeline.start_agent(agent_config(port, ENTRANCE))
    device = terminal(port, "CKJ001")
    device.handshake()
    assert device.upload_options(time_zone=8) == 200
    source = push_source(running, "b01-u1-door")
    assert source.health()["problems"] == []
    assert device.upload_options(time_zone=7) == 200
    (problem,) = source.health()["problems"]
    assert problem["code"] == "zone_mismatch" and "UTC+7" in problem["message"]
    assert source.device_status()["time_zone"] == "7"
    assert any(r.levelname == "WARNING" and "CKJ001" in r.getMessage()
               and "Asia/Shanghai" in r.getMessage() for r in caplog.records)
    assert device.upload_options(time_zone=8) == 200
    assert source.health()["problems"] == []
