"""The synthetic community: deterministic, in the contract's format, consistent with its truth."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from bench.homes.model import Dataset
from bench.homes.synthetic import subtract
from bench.homes.synthetic_events import PER_BUILDING, synthetic_community
from linli.contract import Credential, Direction, EventKind
from linli.directory import parse_directory

RESIDENTS = PER_BUILDING + 2  # two buildings: one with a face terminal, one with contacts


@pytest.fixture(scope="module")
def community() -> Dataset:
    return synthetic_community(residents=RESIDENTS, days=12, seed=7)


def test_same_seed_same_files_other_seed_other_life(community: Dataset) -> None:
    again = synthetic_community(residents=RESIDENTS, days=12, seed=7)
    other = synthetic_community(residents=RESIDENTS, days=12, seed=8)
    assert [e.to_json() for e in again.events] == [e.to_json() for e in community.events]
    assert [h.stays for h in again.homes] == [h.stays for h in community.homes]
    assert [e.to_json() for e in other.events] != [e.to_json() for e in community.events]


def test_directory_is_valid_and_watches_everyone(community: Dataset) -> None:
    directory = parse_directory(community.directory)
    assert len(directory.residents) == RESIDENTS
    assert all(r.elderly and r.lives_alone for r in directory.residents)
    doors = {(d.building, d.household) for d in directory.devices if d.kind == "door"}
    assert ("b01", None) in doors  # the face terminal is the building's
    assert {b for b, h in doors if h is not None} == {"b02"}  # contacts are the flats'


def test_truth_covers_the_span_and_events_stay_in_it(community: Dataset) -> None:
    for home in community.homes:
        assert home.end - home.start == dt.timedelta(days=12)
        for before, after in zip(home.stays, home.stays[1:], strict=False):
            assert before.end == after.start and before.state != after.state
    assert all(community.start <= e.occurred_at < community.end for e in community.events)
    assert len({e.event_id for e in community.events}) == len(community.events)


def test_door_records_follow_the_door_kind(community: Dataset) -> None:
    for e in community.events:
        if e.kind is not EventKind.PASSAGE:
            continue
        if e.building == "b01":
            assert e.device == "b01-gate" and e.direction is not None
            if e.person_id:
                assert e.credential is Credential.FACE
            else:  # a visitor let in remotely, or leaving
                assert e.credential in (Credential.REMOTE, None)
        else:
            assert e.device.endswith("-door") and e.direction is None and e.person_id


def test_every_outing_from_a_contact_flat_opens_its_door(community: Dataset) -> None:
    openings = defaultdict(set)
    for e in community.events:
        if e.kind is EventKind.PASSAGE and e.building == "b02":
            openings[e.person_id].add(e.occurred_at)
    for home in (h for h in community.homes if h.building == "b02"):
        for stay in home.stays[1:]:
            assert stay.start in openings[home.resident]


def test_face_terminal_direction_matches_the_truth(community: Dataset) -> None:
    states = {h.resident: h for h in community.homes}
    for e in community.events:
        if e.kind is EventKind.PASSAGE and e.building == "b01" and e.person_id:
            just_after = states[e.person_id].state_at(e.occurred_at)
            assert (just_after == "home") == (e.direction is Direction.IN)


def test_in_home_activity_only_while_home(community: Dataset) -> None:
    homes = {h.household: h for h in community.homes}
    activity = [e for e in community.events if e.kind is EventKind.ACTIVITY]
    assert activity
    for e in activity:
        assert e.attrs["household"] in homes
        state = homes[e.attrs["household"]].state_at(e.occurred_at)
        assert state == "home", (e.device, e.occurred_at)


def test_subtract_cuts_holes_out_of_spans() -> None:
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    h = dt.timedelta(hours=1)
    spans = [(t, t + 10 * h)]
    assert subtract(spans, [(t + 2 * h, t + 3 * h), (t + 9 * h, t + 12 * h)]) == [
        (t, t + 2 * h), (t + 3 * h, t + 9 * h)]
    assert subtract(spans, []) == spans


def test_times_are_whole_seconds(community: Dataset) -> None:
    assert all(s.start.microsecond == 0 for h in community.homes for s in h.stays)
    assert all(e.occurred_at.microsecond == 0 for e in community.events)
