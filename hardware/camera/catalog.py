"""The named scenarios: one per hard case, and a long mixed one.

Each builder takes a seeded ``random.Random`` (looks, small variations); the choreography
(who crosses, when, in which direction) is fixed, so the ground truth of a scenario is the
same for every seed except in ``mixed``, whose choreography is drawn from the seed too.
"""

from __future__ import annotations

import random
from dataclasses import replace

from hardware.camera.scenarios import (
    HAIR,
    SHIRTS,
    TROUSERS,
    VERTICAL,
    Builder,
    Cast,
    Scenario,
    Scene,
    Waypoint,
)


def in_out(rng: random.Random) -> Scenario:
    """Four people one at a time: slow and fast in, normal and diagonal out."""
    cast = Cast(rng)
    cast.add(cast.cross(0.0, 120, "in", 65))
    cast.add(cast.cross(1.0, 330, "out", 105, drift=60))
    cast.add(cast.cross(4.0, 240, "in", 180))
    cast.add(cast.cross(5.0, 400, "out", 120, drift=-80))
    return Scenario("in_out", "one at a time, slow/fast, straight/diagonal, both ways",
                    cast.scene, tuple(cast.walkers), cast.end())


def side_by_side(rng: random.Random) -> Scenario:
    """Two pairs walking shoulder to shoulder: one pair in, one pair out."""
    cast = Cast(rng)
    for t0, u, direction, gap in ((0.0, 130, "in", 4.0), (3.0, 330, "out", 0.0)):
        left, right = cast.look(), cast.look()
        offset = (left.shoulders + right.shoulders) / 2 + gap
        cast.add(cast.cross(t0, u, direction, 100), left)
        cast.add(cast.cross(t0 + 0.05, u + offset, direction, 100), right)
    return Scenario("side_by_side", "pairs shoulder to shoulder (gap 4 px and touching)",
                    cast.scene, tuple(cast.walkers), cast.end())


def tailgating(rng: random.Random) -> Scenario:
    """One person following closely behind another, both ways."""
    cast = Cast(rng)
    for t0, u, direction, speed in ((0.0, 160, "in", 110), (3.5, 320, "out", 95)):
        first, second = cast.look(), cast.look()
        distance = first.depth + second.depth + 14  # ~10-15 px between the bodies
        cast.add(cast.cross(t0, u, direction, speed), first)
        cast.add(cast.cross(t0 + distance / speed, u + 6, direction, speed), second)
    return Scenario("tailgating", "a second person close behind the first (gap ~10-15 px)",
                    cast.scene, tuple(cast.walkers), cast.end())


def turn_back(rng: random.Random) -> Scenario:
    """Stopping on the line and turning back (no count), loitering then going on (one)."""
    cast = Cast(rng)
    cast.add(cast.turn_back(0.0, 110, "out", 5.0, 1.5, 90))   # onto the line, back out
    cast.add(cast.turn_back(0.5, 300, "in", -6.0, 1.0, 90))   # from inside, steps over, back
    cast.add(cast.loiter(1.0, 420, "in", 2.5, 80))            # stands on the line, goes in
    cast.add(cast.cross(5.5, 200, "out", 110))                # an ordinary crossing
    return Scenario("turn_back", "stop on the line and turn back; loiter then cross",
                    cast.scene, tuple(cast.walkers), cast.end())


def shadows(rng: random.Random) -> Scenario:
    """Low sun: long dark shadows that reach over the line before the person does."""
    scene = replace(Scene(), shadow_offset=(34.0, 26.0), shadow_stretch=1.6, shadow_factor=0.55)
    cast = Cast(rng, scene)
    cast.add(cast.cross(0.0, 140, "in", 100))
    cast.add(cast.cross(1.5, 330, "out", 120))
    cast.add(cast.cross(3.5, 230, "in", 140))
    cast.add(cast.cross(4.5, 420, "out", 90))
    return Scenario("shadows", "long hard shadows ahead of the people",
                    scene, tuple(cast.walkers), cast.end())


def lighting(rng: random.Random) -> Scenario:
    """The lights go up by 35 % at 3 s (one person on the line) and down again at 6.5 s."""
    scene = replace(Scene(), lights=((3.0, 1.35), (6.5, 0.9)))
    cast = Cast(rng, scene)
    cast.add(cast.cross(0.0, 150, "in", 100))    # on the line at t = 3.0
    cast.add(cast.cross(1.5, 350, "out", 110))
    cast.add(cast.cross(4.0, 250, "in", 120))
    cast.add(cast.cross(5.0, 420, "out", 100))   # near the line at t = 6.5
    return Scenario("lighting", "sudden lighting changes while people walk",
                    scene, tuple(cast.walkers), cast.end())


def auto_exposure(rng: random.Random) -> Scenario:
    """A camera's auto-exposure: the floor brightens 13-33 % while a person in dark clothes is
    on or near the line (a step, then a ramp over 0.4 s), and settles back later."""
    # gains about a black level of 50: the floor (~165) brightens 13 % and then 33 %
    ramp = tuple((6.0 + 0.04 * i, 1.0 + 0.047 * i) for i in range(1, 11))
    scene = replace(Scene(), lights=((2.6, 1.19), (4.9, 1.0), *ramp, (8.6, 1.0)),
                    black_level=50.0)
    cast = Cast(rng, scene)
    dark = [replace(cast.look(), shirt=SHIRTS[9], trousers=TROUSERS[1], hair=HAIR[0])
            for _ in range(3)]
    cast.add(cast.cross(0.0, 150, "in", 100), dark[0])    # on the line at t = 3.0
    cast.add(cast.cross(1.5, 400, "out", 110))
    cast.add(cast.cross(3.5, 260, "out", 100), dark[1])   # on the line at t = 6.5
    cast.add(cast.cross(4.8, 420, "in", 120))             # crosses under the high gain
    cast.add(cast.loiter(7.0, 180, "in", 1.5, 90), dark[2])
    return Scenario("auto_exposure", "auto-exposure: 13-33 % brighter while a dark-clothed "
                    "person is on the line", scene, tuple(cast.walkers), cast.end())


def passersby(rng: random.Random) -> Scenario:
    """People walking along the door, two standing about on one side, one real crossing."""
    cast = Cast(rng)
    cast.add(cast.stroll(0.0, -85, -130, 620, 100))
    cast.add(cast.stroll(1.0, 100, 620, -130, 90))
    cast.add(cast.mill(0.0, 8.0, 150, -150, 12))
    cast.add(cast.mill(0.5, 8.0, 240, -160, 12))
    cast.add(cast.cross(3.0, 380, "in", 100))
    return Scenario("passersby", "walking along the door and standing nearby (no count)",
                    cast.scene, tuple(cast.walkers), cast.end())


def sideways(rng: random.Random) -> Scenario:
    """A vertical counting line (people walk left/right), with a pair side by side."""
    cast = Cast(rng, VERTICAL)
    cast.add(cast.cross(0.0, 90, "in", 110))
    cast.add(cast.cross(1.0, 300, "out", 130))
    top, bottom = cast.look(), cast.look()
    cast.add(cast.cross(3.0, 150, "in", 100), top)
    cast.add(cast.cross(3.0, 150 + (top.shoulders + bottom.shoulders) / 2 + 3, "in", 100),
             bottom)
    return Scenario("sideways", "vertical line, in = screen right; a pair side by side",
                    VERTICAL, tuple(cast.walkers), cast.end())


def present_at_start(rng: random.Random) -> Scenario:
    """People already in view at the first frame (an agent restart, a reconnect, a clip that
    starts mid-scene): nothing may be learned into the background from them."""
    cast = Cast(rng)
    # stands just off the line for 0.8 s, then walks in across it
    cast.add([(0.0, 150, -55), (0.8, 150, -53), (0.8 + 355 / 90, 150, 300)])
    # walking across the line from the first frame (crosses at ~0.6 s)
    cast.add([(0.0, 330, 60), (360 / 100, 335, -300)])
    # stands still on the in side for the first 3 s (longer than any start-up window), then
    # walks out across the line, leaving the floor it hid
    cast.add([(0.0, 450, 75), (3.0, 450, 73), (3.0 + 373 / 100, 440, -300)])
    # stands on the line itself for 1 s, then walks out: not a crossing (it never was in)
    cast.add([(0.0, 240, -6), (1.0, 244, -8), (1.0 + 292 / 90, 250, -300)])
    cast.add(cast.cross(5.0, 250, "out", 110))  # an ordinary crossing later on
    return Scenario("present_at_start", "people already in view at the first frame: "
                    "standing off and on the line, walking across it, standing still 3 s",
                    cast.scene, tuple(cast.walkers), cast.end())


def mixed(rng: random.Random) -> Scenario:
    """~40 s at 15 fps of everything above in a random order, people dodging each other."""
    scene = replace(Scene(), lights=((27.0, 1.3),))
    cast = Cast(rng, scene)
    lanes: list[tuple[float, float, float]] = []  # (u, busy from, busy until)
    t = 0.0
    while t < 36.0:
        kind = rng.choices(["single", "pair", "tailgate", "turn", "loiter"], [10, 3, 3, 2, 2])[0]
        direction = rng.choice(["in", "out"])
        speed = rng.uniform(70, 160)
        u = _free_lane(rng, lanes, t, t + 2 * scene.v_far / speed + 3.0)
        if u is not None:
            _perform(cast, kind, t, u, direction, speed)
        t += rng.uniform(0.8, 2.2)
    cast.add(cast.stroll(5.0, -90, -130, 620, 90))
    return Scenario("mixed", "~40 s of singles, pairs, tailgaters, turn-backs, loiterers",
                    scene, tuple(cast.walkers), cast.end(), fps=15.0)


def _free_lane(rng: random.Random, lanes: list[tuple[float, float, float]], start: float,
               end: float) -> float | None:
    """A door position not used by anyone else during [start, end] (or None)."""
    candidates = [70.0 + 85.0 * i for i in range(5)]
    rng.shuffle(candidates)
    for u in candidates:
        if all(abs(u - lu) >= 140 or end < ls or start > le for lu, ls, le in lanes):
            lanes.append((u, start, end))
            return u
    return None


def _perform(cast: Cast, kind: str, t: float, u: float, direction: str, speed: float) -> None:
    rng = cast.rng
    path: list[Waypoint]
    if kind == "single":
        cast.add(cast.cross(t, u, direction, speed, drift=rng.uniform(-40, 40)))
    elif kind in ("pair", "tailgate"):
        first, second = cast.look(), cast.look()
        cast.add(cast.cross(t, u, direction, speed), first)
        if kind == "pair":
            path = cast.cross(t, u + (first.shoulders + second.shoulders) / 2 + 3, direction, speed)
        else:
            path = cast.cross(t + (first.depth + second.depth + 14) / speed, u + 5, direction, speed)
        cast.add(path, second)
    elif kind == "turn":
        cast.add(cast.turn_back(t, u, "out" if direction == "in" else "in",
                                rng.uniform(-6, 6), rng.uniform(0.5, 1.5), speed))
    else:
        cast.add(cast.loiter(t, u, direction, rng.uniform(1.0, 2.5), min(speed, 100)))


SCENARIOS: dict[str, Builder] = {
    "in_out": in_out,
    "side_by_side": side_by_side,
    "tailgating": tailgating,
    "turn_back": turn_back,
    "shadows": shadows,
    "lighting": lighting,
    "auto_exposure": auto_exposure,
    "passersby": passersby,
    "sideways": sideways,
    "present_at_start": present_at_start,
    "mixed": mixed,
}
"""Every named scenario, by name."""
