"""Ordóñez A conversion on small hand-made files shaped like the real ones (no data files)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench.homes.model import door_only, write_dataset
from bench.homes.ordonez import ADLS_FILE, SENSORS_FILE, load_ordonez_a
from linli.contract import EventKind, Source
from linli.directory import load_directory

# Same layout as the published files: a header, tabs (doubled in the ADLs file), CRLF.
SENSORS = "\r\n".join([
    "Start time\tEnd time\tLocation\tType\tPlace",
    "2011-11-28 02:27:59\t2011-11-28 10:18:11\tBed\tPressure\tBedroom",
    "2011-11-28 10:23:02\t2011-11-28 10:23:36\tToilet\tFlush\tBathroom",
    "2011-11-28 13:09:31\t2011-11-28 13:09:35\tMaindoor\tMagnetic\tEntrance",
    "2011-11-28 13:28:59\t2011-11-28 13:29:09\tMaindoor\tMagnetic\tEntrance",
    "2011-11-28 13:35:00\t2011-11-28 15:10:00\tSeat\tPressure\tLiving",
]) + "\r\n"
ADLS = "\r\n".join([
    "Start time\t\tEnd time\t\tActivity\t",
    "2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tSleeping\t\t",
    "2011-11-28 13:09:31\t\t2011-11-28 13:29:09\t\tLeaving\t",
    "2011-11-28 13:35:00\t\t2011-11-28 15:10:00\t\tSpare_Time/TV\t",
]) + "\r\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / SENSORS_FILE).write_text(SENSORS, encoding="utf-8", newline="")
    (tmp_path / ADLS_FILE).write_text(ADLS, encoding="utf-8", newline="")
    return tmp_path


def test_door_contact_becomes_passages_without_direction(folder: Path) -> None:
    data = load_ordonez_a(folder)
    passages = [e for e in data.events if e.kind is EventKind.PASSAGE]
    assert [e.occurred_at.strftime("%H:%M:%S") for e in passages] == ["13:09:31", "13:28:59"]
    for e in passages:
        assert (e.source, e.device, e.direction, e.person_id) == (
            Source.DOOR, "maindoor", None, "r-ordonez-a")
        assert e.occurred_at.utcoffset() == dt.timedelta(hours=1)  # Madrid in winter


def test_sensors_become_activity_with_an_end_event_for_long_intervals(folder: Path) -> None:
    data = load_ordonez_a(folder)
    activity = [(e.device, e.occurred_at.strftime("%H:%M:%S")) for e in data.events
                if e.kind is EventKind.ACTIVITY]
    # bed and seat last hours: start and end; the flush lasts 34 s: start only
    assert activity == [("bed", "02:27:59"), ("bed", "10:18:11"), ("toilet", "10:23:02"),
                        ("seat", "13:35:00"), ("seat", "15:10:00")]
    for e in data.events:
        if e.kind is EventKind.ACTIVITY:
            assert e.source is Source.SENSOR
            assert e.person_id == "r-ordonez-a"
            assert e.attrs == {"household": "h-ordonez-a"}


def test_ids_are_deterministic_and_unique(folder: Path) -> None:
    first, second = load_ordonez_a(folder), load_ordonez_a(folder)
    assert [e.to_json() for e in first.events] == [e.to_json() for e in second.events]
    assert len({e.event_id for e in first.events}) == len(first.events)


def test_truth_is_out_while_leaving_and_home_otherwise(folder: Path) -> None:
    (home,) = load_ordonez_a(folder).homes
    assert [(s.state, s.start.strftime("%H:%M:%S"), s.end.strftime("%H:%M:%S"))
            for s in home.stays] == [("home", "02:27:59", "13:09:31"),
                                     ("out", "13:09:31", "13:29:09"),
                                     ("home", "13:29:09", "15:10:00")]
    assert home.state_at(home.start + dt.timedelta(hours=11)) == "out"


def test_directory_imports_and_registers_every_device_to_the_home(
        folder: Path, tmp_path: Path) -> None:
    data = load_ordonez_a(folder)
    paths = write_dataset(data, tmp_path / "out")
    directory = load_directory(paths["community"])
    assert directory.community.timezone == "Europe/Madrid"
    (resident,) = directory.residents
    assert resident.elderly and resident.lives_alone and resident.household == "h-ordonez-a"
    kinds = {d.id: (d.kind, d.household) for d in directory.devices}
    assert kinds == {"maindoor": ("door", "h-ordonez-a"), "bed": ("sensor", "h-ordonez-a"),
                     "seat": ("sensor", "h-ordonez-a"), "toilet": ("sensor", "h-ordonez-a")}
    assert len(paths["events"].read_text().splitlines()) == len(data.events)


def test_door_only_variant_drops_sensors_and_their_events(folder: Path) -> None:
    data = door_only(load_ordonez_a(folder))
    assert {e.kind for e in data.events} == {EventKind.PASSAGE}
    assert [d["id"] for d in data.directory["devices"]] == ["maindoor"]


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=SENSORS_FILE):
        load_ordonez_a(tmp_path)
