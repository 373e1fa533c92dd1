"""``linli hardware test --wait-db`` on a simulated building: the door's events are shown,
and their arrival in the database (agent → broker → ingest) is confirmed."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import psycopg

from edge.config import load_agent_config
from hardware.provision.devicetest import DeviceTestOptions, run_device_test
from hardware.simulator import CommunitySpec, Simulation
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
