"""The live hub without a database: fan-out, a slow client dropped, a bad note skipped;
and who sees which note."""

from __future__ import annotations

import asyncio
import datetime as dt

from api.live.hub import QUEUE_SIZE, LiveHub
from api.live.models import AlertNote, DeviceNote, HealthNote
from api.live.scope import sees
from api.security import Principal
from linli.accounts import Role, permissions


def _principal(role: Role, community: str | None = "juxin", *,
               grids: tuple[str, ...] | None = None, buildings: tuple[str, ...] | None = None,
               worker: str | None = None) -> Principal:
    return Principal(user_id=1, username="u", display_name="u", role=role, community=community,
                     worker=worker, grids=grids, buildings=buildings, via="session",
                     perms=permissions(role))


async def _no_probe() -> HealthNote:
    return HealthNote(database="ok", broker="unconfigured", at=dt.datetime.now(dt.UTC))


ALERT = AlertNote(id=1, community="juxin", grid="g1", building="b01", rule="r",
                  status="open", severity="warning", tier=1, change="raised")


def test_a_client_that_falls_behind_is_dropped_and_the_others_go_on() -> None:
    async def run() -> None:
        hub = LiveHub("postgresql://unused", _no_probe)
        slow = hub.subscribe(_principal(Role.CONTROL_ROOM))
        quick = hub.subscribe(_principal(Role.CONTROL_ROOM))
        for _ in range(QUEUE_SIZE):
            hub.publish(ALERT)
            assert quick.queue.get_nowait() == ALERT
        hub.publish(ALERT)  # one more than the slow one's queue holds
        assert slow.queue.qsize() == 1 and slow.queue.get_nowait() is None
        assert hub.subscribers == 1
        assert quick.queue.get_nowait() == ALERT
        hub._forward("linli_alert", '{"id": "x"}')  # a bad note is logged and skipped
        hub._forward("linli_alert", ALERT.model_dump_json())
        assert quick.queue.get_nowait() == ALERT
        hub.close()
        assert quick.queue.get_nowait() is None
        assert hub.subscribe(_principal(Role.ADMIN)).queue.get_nowait() is None

    asyncio.run(run())


def test_who_sees_which_note() -> None:
    worker = _principal(Role.GRID_WORKER, grids=("g1",), buildings=("b01",), worker="w-01")
    other_grid = ALERT.model_copy(update={"grid": "g2", "building": "b03"})
    assert sees(worker, ALERT)
    assert not sees(worker, other_grid)
    assert sees(worker, other_grid.model_copy(update={"assignee": "w-01"}))
    assert not sees(_principal(Role.CONTROL_ROOM, "heping"), ALERT)
    assert sees(_principal(Role.AUDITOR, None), ALERT)
    assert not sees(_principal(Role.INSTALLER), ALERT)
    device = DeviceNote(community="juxin", building="b02", id="d", kind="door")
    assert sees(_principal(Role.INSTALLER, buildings=("b02",)), device)
    assert not sees(_principal(Role.INSTALLER, buildings=("b01",)), device)
    assert not sees(worker, device)
    assert sees(worker, _no_probe_note())


def _no_probe_note() -> HealthNote:
    return HealthNote(database="down", broker="down", at=dt.datetime.now(dt.UTC))
