"""Incident injection, copies of a home, and the replays the benchmark plans."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from bench.homes.copies import replicate
from bench.homes.model import Dataset, Home, Stay
from bench.silence.incidents import Cut, cut_after, pick_incident, warmup_for
from bench.silence.metrics import HORIZON
from bench.silence.plan import door_kind, plan_jobs
from linli.contract import Event, EventKind, Source
from linli.directory import parse_directory

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def home(resident: str = "r-1", household: str = "h-1", days: int = 30) -> Home:
    # home, except out on day 10 (2 h) and away from day 20 to day 25
    stays = (Stay(T0, T0 + 10 * DAY, "home"),
             Stay(T0 + 10 * DAY, T0 + 10 * DAY + dt.timedelta(hours=2), "out"),
             Stay(T0 + 10 * DAY + dt.timedelta(hours=2), T0 + 20 * DAY, "home"),
             Stay(T0 + 20 * DAY, T0 + 25 * DAY, "away"),
             Stay(T0 + 25 * DAY, T0 + days * DAY, "home"))
    return Home(resident, household, "b01", stays)


def event(at: dt.datetime, device: str, *, person: str | None = None,
          household: str | None = None, kind: EventKind = EventKind.ACTIVITY) -> Event:
    return Event(event_id=uuid.uuid4(), occurred_at=at, community="c", building="b01",
                 device=device, kind=kind, person_id=person,
                 source=Source.SENSOR if kind is EventKind.ACTIVITY else Source.DOOR,
                 attrs={"household": household} if household else {})


def directory() -> dict[str, Any]:
    return {"community": {"id": "c", "name": "C"},
            "buildings": [{"id": "b01", "name": "B1"}],
            "households": [{"id": "h-1", "building": "b01"}, {"id": "h-2", "building": "b01"}],
            "residents": [{"id": "r-1", "name": "One", "household": "h-1", "elderly": True,
                           "lives_alone": True},
                          {"id": "r-2", "name": "Two", "household": "h-2", "elderly": True,
                           "lives_alone": True}],
            "devices": [{"building": "b01", "id": "gate", "kind": "door"},
                        {"building": "b01", "id": "h1-door", "kind": "door", "household": "h-1"},
                        {"building": "b01", "id": "h1-water", "kind": "sensor",
                         "household": "h-1"}]}


def test_incident_time_is_at_home_after_the_warmup() -> None:
    h = home()
    assert warmup_for(h) == dt.timedelta(days=7)
    assert warmup_for(home(days=12)) == dt.timedelta(days=4)
    picks = [pick_incident(random.Random(i), h) for i in range(300)]
    assert all(p is not None and p >= T0 + 7 * DAY and h.state_at(p) == "home" for p in picks)
    assert pick_incident(random.Random(1), h) == pick_incident(random.Random(1), h)


def test_never_home_after_the_warmup_means_no_incident() -> None:
    away = Home("r-1", "h-1", "b01", (Stay(T0, T0 + DAY, "home"),
                                      Stay(T0 + DAY, T0 + 30 * DAY, "away")))
    assert pick_incident(random.Random(1), away) is None


def test_cut_drops_the_residents_and_their_homes_events_after_t() -> None:
    t = T0 + 10 * DAY
    late = t + dt.timedelta(hours=1)
    events = [
        event(t, "h1-water", household="h-1"),  # at T: kept
        event(late, "h1-water", household="h-1"),  # their meter after T
        event(late, "h1-door", person="r-1", kind=EventKind.PASSAGE),
        event(late, "gate", person="r-1", kind=EventKind.PASSAGE),  # their face at the gate
        event(late, "h1-door", kind=EventKind.PASSAGE),  # their flat's door, nobody named
        event(late, "gate", person="r-2", kind=EventKind.PASSAGE),  # a neighbour: kept
        event(late, "gate", kind=EventKind.PASSAGE),  # anonymous at a shared door: kept
        event(late, "h2-motion", person="r-2", household="h-2"),  # kept
    ]
    kept = cut_after(events, [Cut("r-1", "h-1", t)], {("b01", "h1-door"): "h-1",
                                                       ("b01", "h1-water"): "h-1"})
    assert kept == [events[0], events[5], events[6], events[7]]


def test_copies_have_their_own_ids_and_the_same_history() -> None:
    h1 = home()
    data = Dataset("one", True, directory(), [
        event(T0, "h1-water", household="h-1"),
        event(T0, "h1-door", person="r-1", kind=EventKind.PASSAGE),
        event(T0, "gate", person="r-2", kind=EventKind.PASSAGE)], [h1])
    data.directory["residents"] = data.directory["residents"][:1]
    data.directory["households"] = data.directory["households"][:1]
    three = replicate(data, 3)
    parse_directory(three.directory)
    assert [h.resident for h in three.homes] == ["r-1", "r-1-c1", "r-1-c2"]
    assert [h.stays for h in three.homes] == [h1.stays] * 3
    # the neighbour's event is not the home's: it is not copied
    assert len(three.events) == 3 + 2 * 2
    assert len({e.event_id for e in three.events}) == len(three.events)
    copy2 = [e for e in three.events if e.device.endswith("-c2")]
    assert {(e.device, e.person_id, e.attrs.get("household")) for e in copy2} == {
        ("h1-water-c2", None, "h-1-c2"), ("h1-door-c2", "r-1-c2", None)}
    assert door_kind(three, three.homes[2]) == "contact"
    assert replicate(data, 3).events == three.events  # deterministic ids


def test_a_real_home_plan_has_a_baseline_copy_and_one_incident_per_other_copy() -> None:
    data = Dataset("one", True, directory(), [event(T0 + DAY, "h1-water", household="h-1")],
                   [home()])
    data.directory["residents"] = data.directory["residents"][:1]
    (job,) = plan_jobs(data, "door+activity", rounds=1, copies=5, seed=3)
    assert job.label == "round-1" and len(job.windows) == 5
    assert job.windows[0].incident_at is None  # the baseline copy
    assert [w.incident_at for w in job.windows[1:]] == [c.at for c in job.cuts]
    assert [c.resident for c in job.cuts] == ["r-1-c1", "r-1-c2", "r-1-c3", "r-1-c4"]
    assert job.until == max([data.end, *(c.at + HORIZON for c in job.cuts)])
    (again,) = plan_jobs(data, "door+activity", rounds=1, copies=5, seed=3)
    assert again.cuts == job.cuts
    (door,) = plan_jobs(data, "door", rounds=1, copies=1, seed=3, incidents=False)
    assert door.cuts == [] and door.dataset.events == [] and door.until == data.end


def test_a_community_plan_alternates_incidents_between_rounds() -> None:
    data = Dataset("two", False, directory(), [], [home("r-1", "h-1"), home("r-2", "h-2")])
    first, second = plan_jobs(data, "door+activity", rounds=2, copies=1, seed=3)
    assert [c.resident for c in first.cuts] == ["r-1"]
    assert [c.resident for c in second.cuts] == ["r-2"]
    assert [w.incident_at is None for w in first.windows] == [False, True]
