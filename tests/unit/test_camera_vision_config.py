"""Counting configuration: sides mean what the docs say; mistakes name their field."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge.camera.vision.config import CountingSpec, VisionParams
from edge.camera.vision.geometry import CountingGeometry


def spec(**values: object) -> CountingSpec:
    return CountingSpec.model_validate(values)


def line(a: list[float], b: list[float], in_side: str) -> CountingGeometry:
    return CountingGeometry(spec(line={"a": a, "b": b, "in_side": in_side}))


def test_left_of_a_rightward_line_is_the_upper_half_of_the_image() -> None:
    geometry = line([0, 240], [640, 240], "left")
    assert geometry.signed_distance((320, 100)) == pytest.approx(140)
    assert geometry.signed_distance((320, 300)) == pytest.approx(-60)
    assert geometry.in_normal() == pytest.approx((0, -1))


def test_left_of_a_downward_line_is_the_screen_right() -> None:
    geometry = line([320, 0], [320, 480], "left")
    assert geometry.signed_distance((400, 240)) == pytest.approx(80)
    assert geometry.signed_distance((300, 240)) == pytest.approx(-20)


@pytest.mark.parametrize(("a", "b"), [([0, 240], [640, 240]), ([640, 240], [0, 240]),
                                      ([0, 200], [640, 280])])
def test_below_means_larger_y_whatever_the_direction(a: list[float], b: list[float]) -> None:
    below = line(a, b, "below")
    above = line(a, b, "above")
    distance = below.signed_distance((320, 400))
    assert distance is not None and distance > 0
    assert above.signed_distance((320, 400)) == pytest.approx(-distance)


def test_points_beside_a_door_segment_have_no_side() -> None:
    geometry = line([100, 240], [540, 240], "below")
    assert geometry.signed_distance((50, 300)) is None
    assert geometry.signed_distance((600, 100)) is None
    assert geometry.signed_distance((100, 300)) == pytest.approx(60)


def test_zone_inside_and_outside() -> None:
    square = [[100, 100], [300, 100], [300, 300], [100, 300]]
    inside = CountingGeometry(spec(zone={"polygon": square, "in_side": "inside"}))
    outside = CountingGeometry(spec(zone={"polygon": square, "in_side": "outside"}))
    assert inside.signed_distance((200, 200)) == pytest.approx(100)
    assert inside.signed_distance((350, 200)) == pytest.approx(-50)
    assert outside.signed_distance((350, 200)) == pytest.approx(50)


@given(st.tuples(st.floats(0, 640), st.floats(0, 480)), st.tuples(st.floats(0, 640), st.floats(0, 480)),
       st.tuples(st.floats(-100, 740), st.floats(-100, 580)))
def test_left_and_right_are_opposite_and_distance_is_euclidean(
        a: tuple[float, float], b: tuple[float, float], p: tuple[float, float]) -> None:
    if math.dist(a, b) < 10:
        return
    left = line(list(a), list(b), "left").signed_distance(p)
    right = line(list(a), list(b), "right").signed_distance(p)
    if left is None:
        assert right is None
        return
    assert right == pytest.approx(-left, abs=1e-6)
    # the distance to the infinite line through a, b
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    assert abs(left) == pytest.approx(abs(cross) / math.dist(a, b), abs=1e-6)


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"line": {"a": [0, 240], "b": [640, 240], "in_side": "up"}}, "line.in_side", "left"),
    ({"line": {"a": [0, 240], "b": [640, 240], "in_side": "left", "c": 1}}, "line.c", "extra"),
    ({"line": {"a": [320, 0], "b": [330, 480], "in_side": "above"}}, "line", "45°"),
    ({"line": {"a": [0, 240], "b": [4, 240], "in_side": "left"}}, "line", "10 px"),
    ({"line": {"a": [0, 240], "b": [1280, 240], "in_side": "left"}}, "", "outside frame_size"),
    ({}, "", "exactly one"),
    ({"line": {"a": [0, 240], "b": [640, 240], "in_side": "left"},
      "zone": {"polygon": [[0, 0], [100, 0], [100, 100]]}}, "", "exactly one"),
    ({"zone": {"polygon": [[0, 0], [100, 100], [100, 0], [0, 100]]}}, "zone", "cross"),
    ({"zone": {"polygon": [[0, 0], [100, 0]]}}, "zone.polygon", "at least 3"),
    ({"line": {"a": [0, 240], "b": [640, 240], "in_side": "left"}, "hysteresis_px": -1},
     "hysteresis_px", "greater than or equal"),
])
def test_mistakes_name_their_field(values: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CountingSpec.model_validate(values)
    (error,) = caught.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == field
    assert words in str(caught.value)


def test_vision_params_refuse_nonsense_by_name() -> None:
    with pytest.raises(ValidationError, match="process_width"):
        VisionParams.model_validate({"process_width": 10})
    with pytest.raises(ValidationError, match="min_blob_aera"):
        VisionParams.model_validate({"min_blob_aera": 10})
    assert VisionParams.model_validate({"gate_px": 80}).gate_px == 80
