"""A simulated community mixing vendors (as ``linli demo`` runs it): doors on simulated
Hikvision, Dahua and ZKTeco terminals and doors writing logs, read by the buildings' agents over each
protocol, arrive in the database whole — history once, live records as they happen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from edge.config import load_agent_config
from hardware.simulator import CommunitySpec, Simulation
from hardware.simulator.routines import DoorRecord
from linli.contract import utc_now
from tests.pipeline import Pipeline


def test_a_community_mixing_vendors_arrives_whole(pipeline: Pipeline, tmp_path: Path) -> None:
    spec = CommunitySpec(buildings=2, units=3, households_per_unit=3, elderly_alone=2, stay_in=1)
    sim = Simulation.create(spec, tmp_path / "sim")
    first = sim.community.directory.buildings[0].id
    hikvision, dahua, zkteco = [device for building, device in sim.community.doors
                                if building != first]
    sim.use_terminals({hikvision: "hikvision", dahua: "dahua", zkteco: "zkteco"},
                      backfill_hours=30)
    try:
        written = sim.write_history(hours=24)
        assert sim.terminals[hikvision].sim.records  # type: ignore[attr-defined]
        assert sim.terminals[dahua].sim.records  # type: ignore[attr-defined]
        assert sim.terminals[zkteco].sim.log  # type: ignore[attr-defined]
        configs = [load_agent_config(path) for path in sim.files.agents.values()]
        types = sorted(source.type for config in configs for source in config.sources)
        assert types == ["dahua", "hikvision-isapi", "log", "log", "log", "zkteco-tcp"]
        for config in configs:
            pipeline.start_agent(config)
        # Dahua and ZKTeco send a held-open door only as it happens: their history has none;
        # a ZKTeco terminal logs no refused attempt
        expected = written - sum(
            1 for record in _history(sim)
            if (record.device in (dahua, zkteco) and record.event == "door_held_open")
            or (record.device == zkteco and record.event == "access_denied"))
        rows = pipeline.wait_rows(expected)

        person = sim.community.directory.residents[0].id
        now = utc_now()
        with sim.logs() as logs:
            for device in (hikvision, dahua, zkteco):
                logs.write(DoorRecord(now, device, "passage", person, "in", "face", 1))
                logs.write(DoorRecord(now + dt.timedelta(seconds=1), device, "passage", person,
                                      "out", "card", 2))
        rows = pipeline.wait_rows(expected + 6)
    finally:
        sim.stop_terminals()

    assert len({row["event_id"] for row in rows}) == len(rows) == expected + 6
    for device, vendor in ((hikvision, "hikvision"), (dahua, "dahua"), (zkteco, "zkteco")):
        live = [row for row in rows if row["device"] == device and row["person_id"] == person
                and row["occurred_at"] >= now.replace(microsecond=0)]
        assert [(row["kind"], row["direction"], row["credential"]) for row in live] == [
            ("passage", "in", "face"), ("passage", "out", "card")], vendor
        stored = [row for row in rows if row["device"] == device]
        assert {row["kind"] for row in stored} >= {"passage"}
        assert all(row["direction"] in ("in", "out") for row in stored
                   if row["kind"] == "passage"), vendor


def _history(sim: Simulation) -> list[DoorRecord]:
    from hardware.simulator.routines import records_between

    return list(records_between(sim.community, sim.now - dt.timedelta(hours=24), sim.now,
                                sim.stay_until))
