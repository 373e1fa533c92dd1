"""``linli hardware test --wait-db`` on a simulated building: the door's events are shown,
and their arrival in the database (agent → broker → ingest) is confirmed."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from pathlib import Path

import psycopg

from edge.config import AgentConfig, load_agent_config
from hardware.provision.devicetest import DeviceTestOptions, run_device_test
from hardware.simulator import CommunitySpec, Simulation
from hardware.simulators.hikvision import HikvisionSimulator
from linli.directory import import_directory
from tests.pipeline import Pipeline, wait_for


def test_a_door_is_shown_and_its_events_confirmed_in_the_database(pipeline: Pipeline,
                                                                  tmp_path: Path) -> None:
    sim = Simulation.create(CommunitySpec(buildings=1, units=1, households_per_unit=4,
                                          elderly_alone=1, stay_in=0), tmp_path / "sim")
    with psycopg.connect(pipeline.settings.require_database_url(), autocommit=True) as conn:
        import_directory(conn, sim.community.directory)
    config = load_agent_config(sim.files.agents["b01"])
    device = config.sources[0].device
    pipeline.start_agent(config)  # the building's agent, running on its own

    out = io.StringIO()
    stop = threading.Event()
    codes: list[int] = []
    test = threading.Thread(target=lambda: codes.append(run_device_test(
        config, device, pipeline.settings, DeviceTestOptions(seconds=30, wait_db=True),
        out, stop)))
    test.start()
    try:
        wait_for(lambda: "database: waiting" in out.getvalue(), 10, "the test to start")
        written = sim.write_history(hours=48)  # the controller writes its log now
        assert written > 0
        test.join(40)
    finally:
        stop.set()
        test.join(10)
    shown = out.getvalue()
    assert codes == [0], shown
    events = [line for line in shown.splitlines() if line.startswith("  event ")]
    assert 0 < len(events) <= DeviceTestOptions().show
    assert all(f"device={device}" in line for line in events)
    confirmed = next(line for line in shown.splitlines() if line.startswith("database: event "))
    event_id = confirmed.split()[2]
    stored = pipeline.rows("SELECT device FROM events WHERE event_id = %s", event_id)
    assert stored == [{"device": device}]
    assert "arrival confirmed in the database" in shown


def test_the_result_says_the_counts_of_the_source_health(pipeline: Pipeline) -> None:
    """A terminal whose log holds 30 passages and 28 routine records: the result says 30
    events and 58 records caught up, the very figures of the source's health."""
    sim = HikvisionSimulator(heartbeat_s=0.3).start()
    try:
        start = sim.device_now() - dt.timedelta(hours=2)
        for i in range(58):
            at = start + dt.timedelta(seconds=10 * i)
            if i % 2 == 0 or i >= 56:
                sim.add_event(5, 75, employee=f"r-{i:04d}", reader=1, at=at, live=False)
            else:
                sim.add_event(3, 0x405, at=at, live=False)  # NTP time sync: routine
        config = AgentConfig.model_validate({"community": "juxin", "building": "b01",
                                             "sources": [{
            "type": "hikvision-isapi", "device": "b01-u1-door", "host": "127.0.0.1",
            "port": sim.port, "username": sim.username, "password": sim.password,
            "heartbeat_s": 0.3, "page_size": 30, "reconnect_max_s": 0.5}]})
        out = io.StringIO()
        code = run_device_test(config, "b01-u1-door", pipeline.settings,
                               DeviceTestOptions(seconds=10), out, threading.Event())
    finally:
        sim.stop()
    shown = out.getvalue()
    assert code == 0, shown
    health = json.loads(next(line for line in shown.splitlines()
                             if line.startswith("source health: ")).split(": ", 1)[1])
    result = next(line for line in shown.splitlines() if line.startswith("result: "))
    assert f"({health['events']} events from the device;" in result, (result, health)
    assert f"{health['caught_up']} records read from its log catching up" in result
    assert f"{health['ignored']} ignored" in result
    assert health["events"] + health["ignored"] <= health["caught_up"] <= 58
