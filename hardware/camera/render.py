"""Synthetic doorway video with exact ground truth, for testing the people counter.

    frames, truth = render("side_by_side", seed=1)   # a generator of BGR frames, GroundTruth
    truth = write_clip("clip.avi", "mixed", seed=3)   # MJPG .avi (+ nothing else)

    python -m hardware.camera.render --scenario mixed --seed 3 --out clip.avi
    python -m hardware.camera.render --list

The view is from above: a light tiled floor with a bright window stripe, the door's walls,
people (see :mod:`hardware.camera.figures`) with shadows, sensor noise and, in some
scenarios, sudden lighting changes. Everything is drawn from the seed: the same scenario
and seed give the same frames. The ground truth lists every true crossing: a person's
centre going from at least ``GT_MARGIN`` px on one side of the line to at least that far on
the other, through the door; the frame of a crossing is the first frame on the far side of
the line itself. Frame i is at t = i / fps seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from edge.camera.vision.config import CountingSpec
from hardware.camera.catalog import SCENARIOS
from hardware.camera.figures import draw_person, draw_shadow
from hardware.camera.scenarios import Scenario, Scene, Walker

SIZE = (640, 480)
GT_MARGIN = 30.0
"""A true crossing starts and ends at least this far (px) from the line."""
NOISE_BANK = 6
NOISE_MARGIN = 48


@dataclass(frozen=True)
class TrueCrossing:
    """One real passage through the door."""

    frame: int
    t: float
    direction: Literal["in", "out"]
    person: int


@dataclass(frozen=True)
class GroundTruth:
    """What a clip really shows, and where to count."""

    scenario: str
    seed: int
    fps: float
    frames: int
    size: tuple[int, int]
    counting: CountingSpec
    crossings: tuple[TrueCrossing, ...]

    def total(self, direction: str) -> int:
        """True crossings in ``direction``."""
        return sum(1 for c in self.crossings if c.direction == direction)

    def to_json(self) -> str:
        """The ground truth as JSON (the counting spec as the pipeline's config takes it)."""
        data = asdict(self)
        data["counting"] = self.counting.model_dump(mode="json", exclude_none=True)
        return json.dumps(data, indent=1)


def scenario(name: str, seed: int = 0) -> Scenario:
    """Build the named scenario from ``seed``; KeyError lists the names."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return SCENARIOS[name](random.Random(f"{name}/{seed}"))


def render(name: str, seed: int = 0) -> tuple[Iterator[np.ndarray], GroundTruth]:
    """Frames (a generator, BGR uint8 640x480) and the ground truth of a scenario."""
    built = scenario(name, seed)
    return _frames(built, seed), ground_truth(built, seed)


def write_clip(path: str | Path, name: str, seed: int = 0) -> GroundTruth:
    """Render a scenario into an MJPG .avi at ``path``; returns its ground truth."""
    frames, truth = render(name, seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), truth.fps, SIZE)
    if not writer.isOpened():
        raise OSError(f"cannot write video to {path}")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return truth


def counting_spec(scene: Scene) -> CountingSpec:
    """The counting line of a scene, as the pipeline's configuration."""
    return CountingSpec.model_validate(
        {"frame_size": list(SIZE), "line": {"a": list(scene.a), "b": list(scene.b),
                                            "in_side": scene.in_side}})


def ground_truth(built: Scenario, seed: int) -> GroundTruth:
    """Every true crossing of the scenario, from the people's paths sampled per frame."""
    frames = round(built.duration * built.fps)
    crossings = [c for walker in built.walkers
                 for c in _crossings(walker, built.scene, built.fps, frames)]
    crossings.sort(key=lambda c: (c.frame, c.person))
    return GroundTruth(built.name, seed, built.fps, frames, SIZE, counting_spec(built.scene),
                       tuple(crossings))


def _crossings(walker: Walker, scene: Scene, fps: float, frames: int) -> list[TrueCrossing]:
    found: list[TrueCrossing] = []
    side = 0
    last_zero: int | None = None
    previous_v: float | None = None
    for i in range(frames):
        place = _place(walker, i / fps)
        if place is None:
            continue
        u, v = place[0], place[1]
        if previous_v is not None and (v >= 0) != (previous_v >= 0):
            last_zero = i
        previous_v = v
        if not (0 <= u <= scene.length) or abs(v) < GT_MARGIN:
            continue
        now = 1 if v > 0 else -1
        if side == -now and last_zero is not None:
            found.append(TrueCrossing(last_zero, last_zero / fps, "in" if now > 0 else "out",
                                      walker.id))
        side = now
    return found


def _place(walker: Walker, t: float) -> tuple[float, float, float, float] | None:
    """(u, v, heading in door coordinates, distance walked) at time t; None off the path."""
    path = walker.path
    if t < path[0][0] or t > path[-1][0]:
        return None
    walked = 0.0
    heading = math.atan2(path[1][2] - path[0][2], path[1][1] - path[0][1])
    for (t0, u0, v0), (t1, u1, v1) in itertools.pairwise(path):
        step = math.hypot(u1 - u0, v1 - v0)
        if step > 1e-6:
            heading = math.atan2(v1 - v0, u1 - u0)
        if t <= t1:
            share = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
            return u0 + share * (u1 - u0), v0 + share * (v1 - v0), heading, walked + share * step
        walked += step
    return None


def _frames(built: Scenario, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed + 7919 * len(built.name))
    scene = built.scene
    floor = _floor(scene, rng)
    noise = [_noise_pair(rng, scene.noise_sigma) for _ in range(NOISE_BANK)]
    frames = round(built.duration * built.fps)
    for i in range(frames):
        t = i / built.fps
        image = floor.copy()
        people = [(w, p) for w in built.walkers if (p := _place(w, t)) is not None]
        _shadows(image, scene, people)
        for walker, (u, v, heading, walked) in people:
            x, y = scene.to_image(u, v)
            draw_person(image, x, y, _image_heading(scene, heading), _phase(walker, walked),
                        walker.look)
        gain = _gain(scene, t)
        if gain != 1.0:
            image = cv2.convertScaleAbs(image, alpha=gain, beta=(1.0 - gain) * scene.black_level)
        up, down = noise[int(rng.integers(NOISE_BANK))]
        # a random window of a larger noise frame, so that bank frames do not repeat exactly
        dx, dy = (int(d) for d in rng.integers(0, NOISE_MARGIN, 2))
        cv2.add(image, up[dy:dy + SIZE[1], dx:dx + SIZE[0]], dst=image)
        dx, dy = (int(d) for d in rng.integers(0, NOISE_MARGIN, 2))
        cv2.subtract(image, down[dy:dy + SIZE[1], dx:dx + SIZE[0]], dst=image)
        yield image


def _phase(walker: Walker, walked: float) -> float:
    return 2 * math.pi * walked / (2 * walker.look.step_px)


def _image_heading(scene: Scene, heading: float) -> float:
    """Heading in door coordinates (u, v) → heading in the image."""
    dx, dy = math.cos(heading), math.sin(heading)
    x0, y0 = scene.to_image(0, 0)
    x1, y1 = scene.to_image(dx, dy)
    return math.atan2(y1 - y0, x1 - x0)


def _gain(scene: Scene, t: float) -> float:
    gain = 1.0
    for start, value in scene.lights:
        if t >= start:
            gain = value
    return gain


def _shadows(image: np.ndarray, scene: Scene,
             people: list[tuple[Walker, tuple[float, float, float, float]]]) -> None:
    if not people:
        return
    mask = np.zeros(image.shape[:2], np.uint8)
    for walker, (u, v, heading, _) in people:
        x, y = scene.to_image(u, v)
        draw_shadow(mask, x, y, _image_heading(scene, heading), walker.look,
                    scene.shadow_offset, scene.shadow_stretch)
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return
    y0, y1, x0, x1 = max(y - 4, 0), y + h + 4, max(x - 4, 0), x + w + 4
    soft = cv2.GaussianBlur(mask[y0:y1, x0:x1], (7, 7), 0).astype(np.float32) / 255
    dim = 1.0 - (1.0 - scene.shadow_factor) * soft
    roi = image[y0:y1, x0:x1]
    roi[:] = (roi * dim[:, :, None]).astype(np.uint8)


def _floor(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """A light tiled floor, a bright window stripe, fixed texture, and the door's walls."""
    width, height = SIZE
    base = np.array([165, 170, 160], np.float32) + rng.uniform(-10, 10, 3).astype(np.float32)
    xx, yy = np.meshgrid(np.arange(width), np.arange(height))
    light = 1.0 + 0.08 * np.exp(-(((xx - 0.6 * yy - 60) / 50.0) ** 2))
    floor = base[None, None, :] * (light * (0.96 + 0.04 * yy / height))[:, :, None]
    floor += rng.normal(0, 3, (height, width, 1)).astype(np.float32)  # texture, static
    image = np.clip(floor, 0, 255).astype(np.uint8)
    for x in range(40, width, 120):
        cv2.line(image, (x, 0), (x + 30, height), (140, 145, 138), 1, cv2.LINE_AA)
    for y in range(60, height, 120):
        cv2.line(image, (0, y), (width, y - 20), (140, 145, 138), 1, cv2.LINE_AA)
    _walls(image, scene)
    return image


def _walls(image: np.ndarray, scene: Scene) -> None:
    ax, ay = scene.a
    bx, by = scene.b
    ux, uy = (bx - ax) / scene.length, (by - ay) / scene.length
    far = 2000.0
    for (x, y), sign in (((ax, ay), -1), ((bx, by), 1)):
        end = (int(x + sign * ux * far), int(y + sign * uy * far))
        cv2.line(image, (int(x - sign * ux * 4), int(y - sign * uy * 4)), end, (70, 72, 75), 18)


def _noise_pair(rng: np.random.Generator, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian sensor noise as (positive part, negative part), for saturating add/subtract."""
    noise = rng.normal(0, sigma, (SIZE[1] + NOISE_MARGIN, SIZE[0] + NOISE_MARGIN, 3))
    return (np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8))


def main(argv: list[str] | None = None) -> int:
    """Command line: write a scenario's clip and its ground truth (clip.json) next to it."""
    parser = argparse.ArgumentParser(prog="python -m hardware.camera.render",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="the .avi to write (MJPG)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name in SCENARIOS:
            built = scenario(name)
            print(f"{name:14} {built.duration:5.1f} s @ {built.fps:g} fps  {built.description}")
        return 0
    if args.scenario is None or args.out is None:
        parser.error("--scenario and --out are required (or --list)")
    truth = write_clip(args.out, args.scenario, args.seed)
    args.out.with_suffix(".json").write_text(truth.to_json(), encoding="utf-8")
    print(f"{args.out}: {truth.frames} frames, in {truth.total('in')}, out {truth.total('out')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
