"""Seeds and helpers for the safety rules' integration tests.

Two communities with the same building and device ids (isolation), a door with a camera
counting its doorway, a grid worker and a control room. Events go in through ingest's own
writer (``BatchWriter``), as they would from the broker.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from ingest.batch import prepare_batch
from ingest.consumer import ReceivedMessage
from ingest.writer import BatchWriter
from linli.alerts import RESOLVE
from linli.contract import Event

Db = psycopg.Connection[dict[str, Any]]
SHANGHAI = ZoneInfo("Asia/Shanghai")
DOOR = "b01-u1-door"
CAMERA = "b01-u1-cam"
SUBJECT = f"b01/{DOOR}"
_mids = itertools.count(1)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
       second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


NOW = sh(2026, 11, 22, 14, 0)


def seed(db: Db, community: str = "juxin", name: str = "聚鑫家园") -> None:
    """A community: building 1栋 (grid g1) with a named door and the camera watching it,
    building 2栋 whose door has no name, a grid worker on g1 and a control room."""
    db.execute("INSERT INTO communities (id, name, timezone) VALUES (%s, %s, 'Asia/Shanghai')",
               (community, name))
    db.execute("INSERT INTO grids VALUES (%s, 'g1', '第一网格')", (community,))
    db.execute("INSERT INTO buildings VALUES (%s, 'b01', '1栋', 'g1'), (%s, 'b02', '2栋', 'g1')",
               (community, community))
    device = ("INSERT INTO devices (community, building, id, kind, name, registered, door)"
              " VALUES (%s, %s, %s, %s, %s, true, %s)")
    db.execute(device, (community, "b01", DOOR, "door", "1栋1单元门禁", None))
    db.execute(device, (community, "b01", CAMERA, "camera", "1栋1单元门口摄像头", DOOR))
    db.execute(device, (community, "b02", "b02-u1-door", "door", None, None))
    worker = ("INSERT INTO grid_workers (community, id, name, role, notify_urls)"
              " VALUES (%s, %s, %s, %s, %s)")
    db.execute(worker, (community, "w-01", "王芳", "grid_worker", ["json://127.0.0.1:9/a"]))
    db.execute("INSERT INTO grid_worker_grids VALUES (%s, 'w-01', 'g1')", (community,))
    db.execute(worker, (community, "w-cr", "指挥中心值班员", "control_room",
                        ["json://127.0.0.1:9/cr"]))


def event(kind: str, at: dt.datetime, *, community: str = "juxin", building: str = "b01",
          device: str = DOOR, **fields: Any) -> Event:
    """A door event (or a camera's, with ``source="camera"``) as the edge would send it."""
    values: dict[str, Any] = {"source": "door"} | fields
    return Event(event_id=uuid.uuid4(), occurred_at=at, community=community,
                 building=building, device=device, kind=kind, **values)


def camera_in(at: dt.datetime, count: int = 1, confidence: float = 0.95, **fields: Any) -> Event:
    """The camera counted ``count`` people going in (``direction="out"``: going out)."""
    values: dict[str, Any] = {"direction": "in", "device": CAMERA} | fields
    return event("passage", at, source="camera", count=count, confidence=confidence,
                 **values)


def store(db_url: str, *events: Event) -> None:
    """Write ``events`` the way ingest does (one batch, one transaction)."""
    writer = BatchWriter(db_url)
    try:
        messages = [ReceivedMessage(e.topic, e.to_json(), next(_mids), 1, 0) for e in events]
        writer.write(prepare_batch(messages))
    finally:
        writer.close()


def alerts(db: Db, community: str = "juxin") -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM alerts WHERE community = %s ORDER BY id",
                      (community,)).fetchall()


def timeline(db: Db, alert_id: int) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM alert_timeline WHERE alert_id = %s ORDER BY id",
                      (alert_id,)).fetchall()


def resolution(db: Db, alert_id: int) -> dict[str, Any]:
    """The timeline row of the alert's resolution (a resolution notice may follow it)."""
    return next(row for row in reversed(timeline(db, alert_id)) if row["action"] == "resolved")


def notifications(db: Db, alert_id: int) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM notifications WHERE alert_id = %s ORDER BY id",
                      (alert_id,)).fetchall()


def close_by_person(db: Db, alert_id: int, actor: str = "w-01") -> None:
    """What the API does when a grid worker closes the alert."""
    row = db.execute(RESOLVE, {"alert_id": alert_id, "actor": actor,
                               "note": "到现场核实，已处置", "at": None}).fetchone()
    assert row is not None


def ids(events: Sequence[Event]) -> list[str]:
    return [str(e.event_id) for e in events]
