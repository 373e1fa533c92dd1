"""Named scenarios of the synthetic doorway video: who walks where, and when.

Paths are written in the door's own coordinates: ``u`` along the counting line (0 at ``a``),
``v`` across it, positive on the "in" side; the scene maps them onto the image. A person is
on screen only between the first and last waypoint of their path (which lie off screen).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hardware.camera.figures import Colour, Look

Waypoint = tuple[float, float, float]  # t (s), u, v (px)

SHIRTS: tuple[Colour, ...] = ((40, 30, 25), (30, 30, 140), (150, 60, 30), (60, 110, 40),
                              (200, 200, 205), (70, 70, 75), (40, 90, 160), (120, 40, 100),
                              (150, 150, 140), (20, 20, 20), (90, 160, 200), (30, 60, 90))
TROUSERS: tuple[Colour, ...] = ((40, 30, 25), (25, 25, 25), (110, 130, 150), (80, 50, 30))
HAIR: tuple[Colour, ...] = ((20, 20, 25), (25, 40, 60), (110, 110, 115), (180, 180, 185))


@dataclass(frozen=True)
class Scene:
    """The doorway: counting line a → b, which side is in, and the look of the room."""

    a: tuple[float, float] = (80.0, 240.0)
    b: tuple[float, float] = (560.0, 240.0)
    in_side: str = "below"
    in_normal: tuple[float, float] = (0.0, 1.0)
    """Unit vector to the in side, written out (not derived) so tests check the pipeline."""
    v_far: float = 300.0
    """Distance from the line at which a person is fully off screen."""
    shadow_offset: tuple[float, float] = (12.0, 8.0)
    shadow_stretch: float = 1.1
    shadow_factor: float = 0.65
    """Floor brightness under a shadow."""
    lights: tuple[tuple[float, float], ...] = ()
    """(from t, gain) steps of the lighting (1.0 before the first)."""
    black_level: float = 0.0
    """Level that a gain leaves unchanged: a camera's auto-exposure scales the picture about
    its black level (dark clothes stay dark while the floor brightens), lights do not (0)."""
    noise_sigma: float = 4.0

    @property
    def length(self) -> float:
        """Length of the door (the line segment)."""
        return math.dist(self.a, self.b)

    def to_image(self, u: float, v: float) -> tuple[float, float]:
        """Image point of door coordinates (u, v)."""
        ax, ay = self.a
        ux, uy = (self.b[0] - ax) / self.length, (self.b[1] - ay) / self.length
        nx, ny = self.in_normal
        return ax + u * ux + v * nx, ay + u * uy + v * ny


VERTICAL = Scene(a=(320.0, 40.0), b=(320.0, 440.0), in_side="left", in_normal=(1.0, 0.0),
                 v_far=380.0, shadow_offset=(8.0, 12.0))
"""A door seen sideways: a → b points down the image, so "left" of it is the screen's right."""


@dataclass(frozen=True)
class Walker:
    """One person and their path."""

    id: int
    look: Look
    path: tuple[Waypoint, ...]


@dataclass(frozen=True)
class Scenario:
    """A named clip: the scene, the people, its duration and frame rate."""

    name: str
    description: str
    scene: Scene
    walkers: tuple[Walker, ...]
    duration: float
    fps: float = 25.0


@dataclass
class Cast:
    """Builds walkers with random looks from one seeded generator."""

    rng: random.Random
    scene: Scene = field(default_factory=Scene)
    walkers: list[Walker] = field(default_factory=list)

    def add(self, path: list[Waypoint], look: Look | None = None) -> Look:
        """Add a person walking ``path``; returns their look (to dress a twin alike)."""
        look = look or self.look()
        self.walkers.append(Walker(len(self.walkers) + 1, look, tuple(path)))
        return look

    def end(self) -> float:
        """When the last person has left the view (rounded up to half a second)."""
        return math.ceil(max(w.path[-1][0] for w in self.walkers) * 2 + 0.5) / 2

    def look(self) -> Look:
        """A random person: 44-62 px shoulders, like a person seen from 3-4 m above."""
        r = self.rng
        shoulders = r.uniform(44, 62)
        return Look(shoulders=shoulders, depth=shoulders * r.uniform(0.5, 0.6),
                    head=shoulders * r.uniform(0.36, 0.42), shirt=r.choice(SHIRTS),
                    trousers=r.choice(TROUSERS), hair=r.choice(HAIR),
                    step_px=r.uniform(30, 40), sway_px=r.uniform(1.0, 3.0))

    def cross(self, t0: float, u: float, direction: str, speed: float,
              drift: float = 0.0) -> list[Waypoint]:
        """Walk straight through the door (``drift``: px sideways over the whole walk)."""
        far = self.scene.v_far
        start, end = (-far, far) if direction == "in" else (far, -far)
        return [(t0, u - drift / 2, start), (t0 + 2 * far / speed, u + drift / 2, end)]

    def turn_back(self, t0: float, u: float, side: str, stop_v: float, wait: float,
                  speed: float) -> list[Waypoint]:
        """Come from ``side`` ("out"/"in") up to ``stop_v``, stand ``wait`` s, go back."""
        far = self.scene.v_far * (-1 if side == "out" else 1)
        t1 = t0 + abs(far - stop_v) / speed
        return [(t0, u, far), (t1, u, stop_v), (t1 + wait, u + 4, stop_v),
                (t1 + wait + abs(far - stop_v) / speed, u + 10, far)]

    def loiter(self, t0: float, u: float, direction: str, wait: float,
               speed: float) -> list[Waypoint]:
        """Walk to the line, shuffle about on it for ``wait`` s, then go on through."""
        sign = 1 if direction == "in" else -1
        far = self.scene.v_far
        t1 = t0 + far / speed
        path: list[Waypoint] = [(t0, u, -sign * far), (t1, u, 0.0)]
        steps = max(2, int(wait / 0.6))
        for i in range(1, steps + 1):
            path.append((t1 + wait * i / steps, u + self.rng.uniform(-8, 8),
                         sign * self.rng.uniform(-9, 9)))
        return [*path, (path[-1][0] + far / speed, u, sign * far)]

    def stroll(self, t0: float, v: float, u_from: float, u_to: float, speed: float) -> list[Waypoint]:
        """Walk along the door at distance ``v`` from the line, without crossing it."""
        return [(t0, u_from, v), (t0 + abs(u_to - u_from) / speed, u_to, v)]

    def mill(self, t0: float, t1: float, u: float, v: float, radius: float) -> list[Waypoint]:
        """Arrive from the edge of the view, stand about near (u, v) until t1, then leave."""
        edge = math.copysign(self.scene.v_far, v)
        arrive = t0 + abs(edge - v) / 80
        path: list[Waypoint] = [(t0, u, edge), (arrive, u, v)]
        t = arrive
        while t < t1:
            t += self.rng.uniform(0.8, 1.6)
            path.append((t, u + self.rng.uniform(-radius, radius),
                         v + self.rng.uniform(-radius, radius)))
        return [*path, (t + abs(edge - v) / 80, u, edge)]


Builder = Callable[[random.Random], Scenario]
