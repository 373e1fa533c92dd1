"""The Hikvision source in push mode: the simulated terminal POSTs its events (form-data
with a picture, or bare JSON) to the agent's listener with digest credentials; what it
could not push while the agent was away is caught up from its log."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from edge.config import AgentConfig
from edge.hikvision.source import HikvisionTerminal
from edge.vendors.records import record_key
from hardware.simulators.hikvision import HikvisionSimulator
from linli.contract import derived_event_id
from tests.pipeline import Pipeline, RunningAgent, wait_for

COMMUNITY, BUILDING, DEVICE = "juxin", "b02", "b02-u1-door"
PUSH_USER, PUSH_PASSWORD = "terminal", "push-Secret-1"


@pytest.fixture
def sim() -> Iterator[HikvisionSimulator]:
    device = HikvisionSimulator(heartbeat_s=0.3).start()
    yield device
    device.stop()


def push_config(sim: HikvisionSimulator, **source: Any) -> AgentConfig:
    values = {"type": "hikvision-isapi", "device": DEVICE, "host": "127.0.0.1",
              "port": sim.port, "username": sim.username, "password": sim.password,
              "mode": "push", "listen": "127.0.0.1:0", "path": "/linli/hik",
              "push_auth": {"username": PUSH_USER, "password": PUSH_PASSWORD},
              "readers": {"1": "in", "2": "out"}, "offline_after_s": 1.0,
              "reconcile_s": 0, **source}
    return AgentConfig.model_validate({"community": COMMUNITY, "building": BUILDING,
                                       "sources": [values]})


def event_id(item: dict[str, Any]) -> uuid.UUID:
    at = dt.datetime.fromisoformat(item["time"])
    return derived_event_id(COMMUNITY, BUILDING, DEVICE, record_key(item["serialNo"], at))


def listening(agent: RunningAgent) -> str:
    """The push URL once the agent's listener is up."""
    source = agent.agent.sources[0]
    assert isinstance(source, HikvisionTerminal)
    port = wait_for(lambda: source.push_port, 10, "the push listener")
    return f"http://127.0.0.1:{port}/linli/hik"


def test_pushed_events_become_rows(pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    agent = pipeline.start_agent(push_config(sim))
    url = listening(agent)
    sim.push_to = (url, (PUSH_USER, PUSH_PASSWORD))
    pushed = [sim.add_event(5, 75, employee="r-0001", reader=1),
              sim.add_event(5, 9, reader=2),
              sim.add_event(5, 28)]
    as_json = sim.add_event(5, 1, employee="r-0002", reader=2, live=False)
    assert sim.push(url, as_json, auth=(PUSH_USER, PUSH_PASSWORD), as_json=True) == 200
    assert sim.push_heartbeat(url, auth=(PUSH_USER, PUSH_PASSWORD)) == 200
    rows = pipeline.wait_rows(4)

    got = {r["event_id"]: (r["kind"], r["direction"], r["person_id"]) for r in rows}
    assert got == {event_id(pushed[0]): ("passage", "in", "r-0001"),
                   event_id(pushed[1]): ("access_denied", "out", None),
                   event_id(pushed[2]): ("door_held_open", None, None),
                   event_id(as_json): ("passage", "out", "r-0002")}
    source = agent.agent.sources[0]
    assert isinstance(source, HikvisionTerminal)
    assert source.stats.pictures_skipped == len(pushed) and source.stats.heartbeats == 1
    assert sim.push_failures == 0


def test_pushes_without_the_right_credentials_are_refused(
        pipeline: Pipeline, sim: HikvisionSimulator) -> None:
    agent = pipeline.start_agent(push_config(sim, catch_up=False))
    url = listening(agent)
    item = sim.add_event(5, 75, employee="r-0001", reader=1, live=False)
    assert sim.push(url, item) == 401
    assert sim.push(url, item, auth=(PUSH_USER, "wrong")) == 401
    assert httpx.post(url.replace("/linli/hik", "/elsewhere"), content=b"{}").status_code == 404
    assert sim.push(url, item, auth=(PUSH_USER, PUSH_PASSWORD)) == 200
    assert sim.push(url, item, auth=(PUSH_USER, PUSH_PASSWORD)) == 200  # pushed twice
    rows = pipeline.wait_rows(1)
    assert [r["event_id"] for r in rows] == [event_id(item)]
    source = agent.agent.sources[0]
    assert isinstance(source, HikvisionTerminal) and source.stats.duplicates == 1


def test_what_could_not_be_pushed_is_caught_up(pipeline: Pipeline,
                                               sim: HikvisionSimulator) -> None:
    config = push_config(sim)
    first = pipeline.start_agent(config)
    url = listening(first)
    sim.push_to = (url, (PUSH_USER, PUSH_PASSWORD))
    before = sim.add_event(5, 75, employee="r-0001", reader=1)
    pipeline.wait_rows(1)
    first.stop()
    missed = [sim.add_event(5, 75, employee=f"r-{i:04d}", reader=2) for i in range(2, 5)]
    assert sim.push_failures == len(missed)  # nobody listened: the terminal kept them

    second = pipeline.start_agent(config)
    sim.push_to = (listening(second), (PUSH_USER, PUSH_PASSWORD))
    after = sim.add_event(5, 1, employee="r-0009", reader=1)
    rows = pipeline.wait_rows(5)
    assert sorted(r["event_id"] for r in rows) == sorted(
        event_id(item) for item in [before, *missed, after])
