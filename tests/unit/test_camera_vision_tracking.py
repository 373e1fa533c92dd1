"""Tracker and crossing counter on scripted detections: identities, hysteresis, counting once.

These drive the real Tracker and CrossingCounter with detections as a detector would report
them (anchor points in counting-frame pixels), 25 frames a second.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from edge.camera.vision.config import CountingSpec, VisionParams
from edge.camera.vision.counting import Crossing, CrossingCounter, band_px
from edge.camera.vision.detection import Detection
from edge.camera.vision.geometry import CountingGeometry
from edge.camera.vision.tracking import Tracker

FPS = 25.0
Point = tuple[float, float]


class Doorway:
    """A horizontal line at y = 240 (in = below) fed frame by frame."""

    def __init__(self, a: Point = (0, 240), b: Point = (640, 240),
                 person_length_px: float = 90) -> None:
        spec = CountingSpec.model_validate(
            {"line": {"a": list(a), "b": list(b), "in_side": "below"}, "hysteresis_px": 16})
        self.tracker = Tracker(VisionParams(), spec.frame_size)
        self.counter = CrossingCounter(CountingGeometry(spec),
                                       band_px(spec.hysteresis_px, person_length_px), self.tracker)
        self.frame = 0
        self.crossings: list[Crossing] = []
        self.ids_seen: list[set[int]] = []

    def step(self, people: Iterable[Point]) -> None:
        detections = [(Detection((x - 25, y - 30, 50, 60), (x, y)), (x, y)) for x, y in people]
        t = self.frame / FPS
        self.tracker.update(detections, t)
        self.crossings.extend(self.counter.update(t))
        self.ids_seen.append({track.id for track in self.tracker.tracks if track.observed})
        self.frame += 1

    def walk(self, paths: list[list[Point]]) -> None:
        """Several people at once: frame i shows paths[k][i] of every path long enough."""
        for i in range(max(len(path) for path in paths)):
            self.step(path[i] for path in paths if i < len(path))

    def directions(self) -> list[str]:
        return [c.direction for c in self.crossings]


def straight(x: float, y0: float, y1: float, speed: float = 4.0) -> list[Point]:
    steps = int(abs(y1 - y0) / speed)
    return [(x, y0 + (y1 - y0) * i / steps) for i in range(steps + 1)]


def test_one_walk_through_counts_once_at_the_time_the_line_was_crossed() -> None:
    door = Doorway()
    door.walk([straight(300, 60, 420)])
    (crossing,) = door.crossings
    assert crossing.direction == "in" and crossing.count == 1
    assert crossing.t == pytest.approx(45 / FPS, abs=1 / FPS)  # y = 240 at frame 45
    assert 0.5 < crossing.confidence <= 1.0


@pytest.mark.parametrize(("person_length_px", "counted"), [(60, ["in", "out"]), (200, [])])
def test_a_step_over_the_line_and_back_counts_only_beyond_a_fifth_of_a_person(
        person_length_px: float, counted: list[str]) -> None:
    # 30 px past the line: beyond the configured 16 px, within a fifth of a 200 px person
    # (a blob's centre wanders that much when people look that big)
    door = Doorway(person_length_px=person_length_px)
    door.walk([straight(300, 60, 270) + straight(300, 270, 60)])
    assert door.directions() == counted


@pytest.mark.parametrize(("stop_y", "counted"), [(252, ["in"]), (245, [])])
def test_the_end_of_the_stream_counts_who_is_over_the_line_by_half_the_band(
        stop_y: float, counted: list[str]) -> None:
    door = Doorway()  # band 18 px: a fifth of the default 90 px person
    door.walk([straight(300, 60, stop_y)])
    assert door.directions() == []  # still within the band: not counted while it goes on
    ended = door.counter.finish()
    assert [c.direction for c in ended] == counted
    if ended:
        (crossing,) = ended
        assert crossing.t == pytest.approx(45 / FPS, abs=1 / FPS)  # when y was 240
        assert crossing.confidence < 0.7  # the side it ends on is a guess
    assert door.counter.finish() == []  # counted once


def test_two_people_side_by_side_are_two_tracks_and_two_counts() -> None:
    door = Doorway()
    door.walk([straight(300, 420, 60), straight(352, 420, 60)])
    assert door.directions() == ["out", "out"]
    assert len({c.track_id for c in door.crossings}) == 2
    steady = [ids for ids in door.ids_seen[5:] if len(ids) == 2]
    assert len(steady) > 60 and all(ids == steady[0] for ids in steady)


def test_loitering_on_the_line_counts_once() -> None:
    door = Doorway()
    jitter = [(300 + (i % 5) * 2, 240 + (12 if i % 7 < 3 else -12)) for i in range(75)]
    door.walk([straight(300, 60, 240) + jitter + straight(300, 240, 420)])
    assert door.directions() == ["in"]


def test_stepping_over_the_line_and_turning_back_counts_nothing() -> None:
    door = Doorway()
    door.walk([straight(300, 60, 252) + [(300, 252)] * 25 + straight(300, 252, 60)])
    assert door.crossings == []


def test_in_and_back_out_counts_both() -> None:
    door = Doorway()
    door.walk([straight(300, 60, 320) + straight(300, 320, 100)])
    assert door.directions() == ["in", "out"]
    assert door.crossings[0].track_id == door.crossings[1].track_id


def test_missed_detections_on_the_line_keep_the_track_and_count_once() -> None:
    door = Doorway()
    path = straight(300, 60, 420)
    for point in path:
        door.step([] if 200 <= point[1] <= 270 else [point])  # ~18 frames unseen
    assert door.directions() == ["in"]


def test_a_person_lost_for_long_on_the_line_is_counted_once_by_the_new_track() -> None:
    door = Doorway()
    path = straight(300, 60, 236) + [(300, 236)] * 10 + straight(300, 236, 420)
    for i, point in enumerate(path):
        door.step([] if 45 <= i < 70 else [point])  # 25 frames: the first track is dropped
    assert door.directions() == ["in"]
    assert door.crossings[0].confidence > 0.5  # it inherited a known side, not a guess


def test_only_crossings_through_the_door_segment_count() -> None:
    door = Doorway(a=(200, 240), b=(440, 240))
    door.walk([straight(100, 60, 420), straight(540, 420, 60), straight(300, 60, 420)])
    assert door.directions() == ["in"]


def test_people_passing_each_other_keep_their_identity() -> None:
    door = Doorway()
    door.walk([straight(300, 60, 420), straight(345, 420, 60)])
    by_direction = {c.direction: c.track_id for c in door.crossings}
    assert sorted(by_direction) == ["in", "out"]
    first_ids = sorted(door.ids_seen[3])
    assert by_direction["in"] == first_ids[0] and by_direction["out"] == first_ids[1]


def test_first_seen_on_the_line_counts_only_when_it_goes_over_it() -> None:
    over = Doorway()
    over.walk([straight(300, 236, 420)])
    assert over.directions() == ["in"]
    assert over.crossings[0].confidence < 0.7  # where it came from was not seen
    short = Doorway()
    short.walk([straight(300, 244, 420)])
    assert short.crossings == []


def test_a_single_stray_detection_is_not_a_person() -> None:
    door = Doorway()
    for i in range(40):
        door.step([(300, 100)] if i < 20 else [])
    door.step([(300, 400)])
    door.step([])
    door.step([])
    assert door.crossings == []


def test_a_track_lost_away_from_the_line_passes_no_side_to_a_newcomer() -> None:
    door = Doorway()
    door.walk([straight(300, 60, 150, speed=2.0)])  # someone walks up to y = 150, is lost
    for _ in range(14):
        door.step([])
    # something appears near where they were, inside the band, and moves in (a ghost, or
    # someone who was not seen coming): nobody was seen on the out side of the line
    door.walk([straight(300, 236, 420)])
    assert door.crossings == []


def test_appearing_on_the_line_after_the_start_counts_nothing() -> None:
    door = Doorway()
    for _ in range(75):  # 3 s of an empty doorway
        door.step([])
    door.walk([straight(300, 236, 420)])
    assert door.crossings == []


def test_one_person_seen_as_two_overlapping_tracks_counts_once() -> None:
    door = Doorway()
    body = straight(300, 60, 420)
    legs = [(x + 6, y + 24) for x, y in body]  # a second blob of the same person
    door.walk([body, legs])
    assert door.directions() == ["in"]
    assert door.counter.merged == 1


def test_a_person_lost_while_crossing_is_dated_between_the_two_tracks() -> None:
    door = Doorway()
    path = straight(300, 60, 420)
    for i, point in enumerate(path):
        door.step([] if 40 <= i < 58 else [point])  # lost at y = 216, seen again at y = 288
    (crossing,) = door.crossings
    assert crossing.direction == "in"
    assert 39 / FPS < crossing.t < 58 / FPS  # the line was crossed while nobody saw it


def test_a_coasting_track_carried_over_the_line_onto_someone_else_counts_nothing() -> None:
    door = Doorway()
    # someone walks up towards the line and vanishes 110 px short of it (sat down, or a
    # ghost that faded); the tracker coasts their track on at their last speed
    for point in straight(300, 450, 350, speed=10.0):
        door.step([point])
    for _ in range(10):
        door.step([])
    # a person not seen so far turns up on the other side, where the coasting prediction
    # now is (it claims them), then walks in over the line
    assert door.tracker.tracks and door.tracker.tracks[0].position[1] < 280
    door.walk([straight(300, 215, 420, speed=3.0)])
    # the jump over the line was never seen: only the newcomer's own passage counts
    assert door.directions() == ["in"]
    assert door.counter.jumps == 1
    assert door.crossings[0].t > (11 + 10 + 4) / FPS  # their own passage, not the jump


def test_the_gate_grows_with_the_frame_interval() -> None:
    door = Doorway()
    fps = 4.0  # a camera capped low, someone hurrying: 70 px between frames
    for i, point in enumerate(straight(300, 30, 450, speed=70.0)):
        door.tracker.update([(Detection((point[0] - 25, point[1] - 30, 50, 60), point), point)],
                            i / fps)
        door.crossings.extend(door.counter.update(i / fps))
    assert door.directions() == ["in"]
    assert len({c.track_id for c in door.crossings}) == 1


def test_a_steady_walkers_track_does_not_take_a_neighbour_it_could_reach() -> None:
    # A walks steadily down x = 300; in one frame A is not detected and B, a newcomer 55 px
    # beside A's prediction (within gate_px 60, beyond the 45 px floor), is: A's sharp
    # prediction must not take B
    door = Doorway()
    a_path = straight(300, 60, 420)
    a_id = 0
    for i, a in enumerate(a_path):  # 91 frames; a track keeps its last 50 points
        people = [] if i == 60 else [a]
        if i >= 60:
            people.append((355, a[1] + 5))  # B walks beside A from frame 60 on
        door.step(people)
        if i == 59:
            (a_id,) = door.ids_seen[-1]
    by_id = {t.id: t for t in door.tracker.tracks}
    assert len(by_id) == 2 and a_id in by_id
    assert all(abs(x - 300) < 1 for x, _ in by_id[a_id].history)
    # a new track's speed is unknown: 0.2 s later (5 frames a second) it still reaches a
    # detection 60 px off
    fresh = Doorway()
    for i, point in enumerate([(300.0, 60.0), (360.0, 60.0)]):
        fresh.tracker.update([(Detection((point[0] - 25, point[1] - 30, 50, 60), point), point)],
                             i * 0.2)
    assert [len(t.history) for t in fresh.tracker.tracks] == [2]
