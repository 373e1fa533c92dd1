"""Ordóñez home A: a real home of one person living alone, as Linli events.

Data: "Activities of Daily Living (ADLs) Recognition Using Binary Sensors" (F. J. Ordóñez,
P. de Toledo, A. Sanchis; UCI Machine Learning Repository, dataset 271), licensed CC BY 4.0
by the UCI repository. Home A: 14 days (28 Nov – 12 Dec 2011) in Spain, 12 binary sensors,
activities labelled by hand. The two files, ``OrdonezA_Sensors.txt`` and
``OrdonezA_ADLs.txt``, are read from a folder given on the command line (for instance the
``Dataset/`` folder of the public RiccardoBonesi/SmartHouse repository); they are never
copied into this repository. Home B is held out by the reviewers: this module reads A only.

Conversion (one community ``ordonez``, building ``casa-a``, household ``h-ordonez-a``, one
elderly resident living alone ``r-ordonez-a``; times are local Spanish time, so the
community's time zone is ``Europe/Madrid``):

* ``Maindoor`` (a magnetic contact on the entrance door) → one ``passage`` event when the
  door opens (the interval's start): ``source: door``, device ``maindoor`` (a door of the
  household), ``person_id`` set, **no direction** — a contact cannot tell in from out — and
  no credential. Openings by visitors look the same, as they would on a real contact.
* every other sensor (bed, seat, toilet, basin, shower, fridge, cabinet, cupboard, cooktop,
  microwave, toaster) → ``activity`` events from device ``<sensor>`` (kind sensor, the
  household's), ``source: sensor``, ``person_id`` set and ``attrs.household``: one event at
  the interval's start, and one more at its end when the interval lasts at least
  ``LONG_INTERVAL`` (5 min) — getting out of bed or up from the seat is a sign of life as
  much as lying down was; short intervals (a flush, a cupboard) would only double up.
* truth: the ``Leaving`` intervals of the ADL file are ``out``; the rest of the span (first
  to last sensor record) is ``home``.
* event ids: ``linli.contract.derived_event_id`` (uuid5) of the record's device, start time
  and edge, so a rerun writes identical files.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from bench.homes.model import Dataset, Home, Stay, check_stays, close_stays
from linli.contract import Event, EventKind, Source, derived_event_id

__all__ = ["ADLS_FILE", "LONG_INTERVAL", "SENSORS_FILE", "load_ordonez_a"]

SENSORS_FILE = "OrdonezA_Sensors.txt"
ADLS_FILE = "OrdonezA_ADLs.txt"
TIMEZONE = "Europe/Madrid"
LONG_INTERVAL = dt.timedelta(minutes=5)
COMMUNITY, BUILDING, HOUSEHOLD, RESIDENT = "ordonez", "casa-a", "h-ordonez-a", "r-ordonez-a"
DOOR_SENSOR = "Maindoor"


@dataclass(frozen=True, slots=True)
class Record:
    """One line of either file: an interval and its label (sensor location or activity)."""

    start: dt.datetime
    end: dt.datetime
    label: str
    place: str = ""


def parse_records(text: str, tz: dt.tzinfo, *, sensors: bool) -> list[Record]:
    """Lines of a sensors or ADLs file (tab-separated, any number of tabs, CRLF or LF).

    Sensors: ``start end location type place``; ADLs: ``start end activity``. The header
    line and blank lines are skipped.
    """
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = [f.strip() for f in line.split("\t") if f.strip()]
        if not fields or fields[0].lower().startswith("start"):
            continue
        if len(fields) < 3:
            raise ValueError(f"line {number}: expected start, end and a label: {line!r}")
        try:
            start, end = (dt.datetime.fromisoformat(f).replace(tzinfo=tz) for f in fields[:2])
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from exc
        place = fields[4] if sensors and len(fields) > 4 else ""
        records.append(Record(start, end, fields[2], place))
    return records


def device_id(location: str) -> str:
    """The Linli device id of an Ordóñez sensor location (``Maindoor`` → ``maindoor``)."""
    return "-".join("".join(c if c.isalnum() else " " for c in location.lower()).split())


def sensor_events(records: list[Record]) -> list[Event]:
    """Contract events for the sensor records, as the module docstring describes."""
    events = []
    for r in records:
        device = device_id(r.label)
        if r.label == DOOR_SENSOR:
            events.append(_event(device, r.start, "open", EventKind.PASSAGE))
            continue
        events.append(_event(device, r.start, "start", EventKind.ACTIVITY))
        if r.end - r.start >= LONG_INTERVAL:
            events.append(_event(device, r.end, "end", EventKind.ACTIVITY))
    return events


def _event(device: str, at: dt.datetime, edge: str, kind: EventKind) -> Event:
    record = f"{at.isoformat()}/{edge}"
    common = {"event_id": derived_event_id(COMMUNITY, BUILDING, device, record),
              "occurred_at": at, "community": COMMUNITY, "building": BUILDING,
              "device": device, "kind": kind, "person_id": RESIDENT}
    if kind is EventKind.PASSAGE:
        return Event(**common, direction=None, source=Source.DOOR)
    return Event(**common, source=Source.SENSOR, attrs={"household": HOUSEHOLD})


def truth(adls: list[Record], start: dt.datetime, end: dt.datetime) -> tuple[Stay, ...]:
    """``out`` during each ``Leaving`` interval, ``home`` for the rest of [start, end)."""
    stays: list[Stay] = []
    cursor = start
    for r in sorted((a for a in adls if a.label == "Leaving"), key=lambda a: a.start):
        leave, back = max(r.start, cursor), min(r.end, end)
        if back <= leave:
            continue
        stays += [Stay(cursor, leave, "home"), Stay(leave, back, "out")]
        cursor = back
    stays.append(Stay(cursor, end, "home"))
    merged = tuple(close_stays(stays))
    check_stays(merged)
    return merged


def directory(sensors: list[str]) -> dict[str, object]:
    """The community's directory: one building, one home, its door and its sensors."""
    devices: list[dict[str, object]] = [
        {"building": BUILDING, "id": device_id(DOOR_SENSOR), "kind": "door",
         "name": "Main door contact", "household": HOUSEHOLD}]
    devices += [{"building": BUILDING, "id": device_id(s), "kind": "sensor",
                 "name": f"{s} sensor", "household": HOUSEHOLD}
                for s in sorted(set(sensors) - {DOOR_SENSOR})]
    return {
        "community": {"id": COMMUNITY, "name": "Ordóñez A", "timezone": TIMEZONE,
                      "locale": "en"},
        "grids": [{"id": "g1", "name": "Grid 1"}],
        "buildings": [{"id": BUILDING, "name": "House A", "grid": "g1"}],
        "households": [{"id": HOUSEHOLD, "building": BUILDING}],
        "residents": [{"id": RESIDENT, "name": "Resident A", "household": HOUSEHOLD,
                       "elderly": True, "lives_alone": True}],
        "grid_workers": [{"id": "w-1", "name": "Grid worker", "grids": ["g1"]}],
        "devices": devices,
    }


def load_ordonez_a(folder: Path) -> Dataset:
    """Read home A from ``folder`` and convert it (see the module docstring)."""
    tz = zoneinfo.ZoneInfo(TIMEZONE)
    paths = [folder / SENSORS_FILE, folder / ADLS_FILE]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Ordóñez A files not found: {', '.join(missing)}")
    sensors = parse_records(paths[0].read_text(encoding="utf-8"), tz, sensors=True)
    adls = parse_records(paths[1].read_text(encoding="utf-8"), tz, sensors=False)
    if not sensors:
        raise ValueError(f"{paths[0]}: no sensor records")
    start = min(r.start for r in sensors)
    end = max(r.end for r in sensors)
    home = Home(RESIDENT, HOUSEHOLD, BUILDING, truth(adls, start, end))
    events = sorted(sensor_events(sensors), key=lambda e: e.occurred_at)
    return Dataset("ordonez-a", True, directory([r.label for r in sensors]), events, [home],
                   notes=["Ordóñez A (UCI dataset 271, CC BY 4.0)"])
