"""A small, exact home for the care tests: one resident's days as contract events.

The resident gets up at 07:00, goes out 09:00–11:00 through the building's face terminal
(direction given), and a water meter at home reports activity through the day; they go to
bed at 21:30. ``incident_at`` stops every sign of life from that moment on.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

TZ = ZoneInfo("Asia/Shanghai")
COMMUNITY = "carehome"
RESIDENT = "r-0001"
START = dt.datetime(2026, 11, 1, tzinfo=TZ)


def directory(*, door_contact: bool = False) -> dict[str, object]:
    """The community: one building with a face terminal, one home with a water meter."""
    devices: list[dict[str, object]] = [
        {"building": "b01", "id": "b01-door", "kind": "door", "name": "1栋单元门"},
        {"building": "b01", "id": "h101-water", "kind": "sensor", "name": "101水表",
         "household": "h101"},
    ]
    if door_contact:
        devices.append({"building": "b01", "id": "h101-door", "kind": "door",
                        "name": "101入户门", "household": "h101"})
    return {
        "community": {"id": COMMUNITY, "name": "关爱小区", "timezone": "Asia/Shanghai"},
        "grids": [{"id": "g1", "name": "第一网格"}],
        "buildings": [{"id": "b01", "name": "1栋", "grid": "g1"}],
        "households": [{"id": "h101", "building": "b01", "room": "101"}],
        "residents": [{"id": RESIDENT, "name": "张桂英", "household": "h101", "elderly": True,
                       "lives_alone": True, "care_level": 2}],
        "grid_workers": [{"id": "w-01", "name": "王芳", "grids": ["g1"],
                          "notify": ["json://127.0.0.1:9/w-01"]},
                         {"id": "w-cr", "name": "值班员", "role": "control_room",
                          "notify": ["json://127.0.0.1:9/w-cr"]}],
        "devices": devices,
    }


def event(at: dt.datetime, kind: str, device: str, *, direction: str | None = None,
          person: str | None = RESIDENT, household: str | None = None) -> dict[str, object]:
    source = "sensor" if kind == "activity" else "door"
    attrs = {"household": household} if household else {}
    return {"schema": 1, "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                    f"{device}/{at.isoformat()}/{kind}")),
            "occurred_at": at.isoformat(), "community": COMMUNITY, "building": "b01",
            "device": device, "kind": kind, "direction": direction, "person_id": person,
            "credential": "face" if source == "door" and person else None,
            "source": source, "attrs": attrs}


def days(count: int, *, incident_at: dt.datetime | None = None, activity: bool = True,
         door_contact: bool = False) -> list[dict[str, object]]:
    """``count`` days of routine from START, cut at ``incident_at``."""
    events = []
    for day in range(count):
        base = START + dt.timedelta(days=day)
        for hour, minute in ((7, 0), (8, 30), (12, 0), (15, 0), (18, 0), (21, 30)):
            if activity:
                events.append(event(base.replace(hour=hour, minute=minute), "activity",
                                    "h101-water", person=None, household="h101"))
        if door_contact:
            for hour in (9, 11):
                events.append(event(base.replace(hour=hour), "door_opened", "h101-door",
                                    person=None))
        else:
            events.append(event(base.replace(hour=9), "passage", "b01-door", direction="out"))
            events.append(event(base.replace(hour=11), "passage", "b01-door", direction="in"))
    if incident_at is not None:
        events = [e for e in events
                  if dt.datetime.fromisoformat(str(e["occurred_at"])) <= incident_at]
    return events


def write(folder: Path, events: list[dict[str, object]], **home: bool) -> tuple[Path, Path]:
    """The directory YAML and the events JSONL (in reverse order: replay must sort)."""
    community = folder / "community.yaml"
    community.write_text(yaml.safe_dump(directory(**home), allow_unicode=True),
                         encoding="utf-8")
    jsonl = folder / "events.jsonl"
    jsonl.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n"
                             for e in reversed(events)), encoding="utf-8")
    return community, jsonl
