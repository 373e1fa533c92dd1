"""The first background of a stream, learned from a short window instead of one frame.

MOG2 learns from whatever it sees first. When someone is already in the picture at the start
(the agent restarts, a clip begins mid-scene, the stream reconnects), taking the first
frame as the background learns that person into it: when they walk off, the floor they hid
becomes a "ghost" blob that lasts until the model forgets it, and its phantom tracks and the
real person's blob, overlapping it, make false crossings.

So the pipeline holds back the first frames of a stream (at most ``WINDOW_S`` seconds, at
most ``MAX_FRAMES`` frames and ``MAX_BYTES`` bytes), takes the per-pixel temporal median of
up to ``MEDIAN_FRAMES`` of them, evenly spread, as the background (whoever moves during the
window is not in it; only someone standing in one place for more than half of it is), seeds
the model with it (and with the window's frames, people taken out, so it learns the camera's
real noise), and then runs the held-back frames through the counter in order with their own
times: no crossing of the window is lost, file positions and times stay right, and a live
stream's first crossings arrive up to ``WINDOW_S`` late, once after each start. A stream that
ends or is replaced within the window is counted from what was held back (``finish``).

Someone standing in one place for more than half of the window is still learned (a median
cannot tell them from floor); when they walk off, their ghost fades as before. Telling such
a ghost from a person (its outline is an edge in the background, not in the frame) and
taking it into the background was tried: on a crowded real clip with a drifting camera it
took people and smeared floor for ghosts, so it is not done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_S = 2.0
"""Stream time the first background is learned over."""
MAX_FRAMES = 64
"""Frames held back at most (2 s at 30 fps fit); a faster stream's window is shorter."""
MAX_BYTES = 32 << 20
"""Memory the held-back frames may take (a large ``process_width`` holds fewer frames)."""
MEDIAN_FRAMES = 15
"""Frames of the window the median is taken over (evenly spread, first and last included)."""
CLEAN_LEVELS = 25
"""A pixel further than this (grey levels, any channel) from the median is someone passing,
not sensor noise."""


@dataclass(frozen=True)
class Learned:
    """A finished window: the background and the frames to count, oldest first."""

    background: np.ndarray
    frames: list[tuple[np.ndarray, float]]
    samples: list[np.ndarray]
    """Frames of the window with whatever differs from the background by more than
    ``CLEAN_LEVELS`` replaced by it: the sensor noise of the real picture for the model to
    learn, without the people."""


class Bootstrap:
    """Holds back a stream's first frames until a background can be learned from them."""

    def __init__(self, window_s: float = WINDOW_S, max_frames: int = MAX_FRAMES,
                 max_bytes: int = MAX_BYTES) -> None:
        self.window_s = window_s
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.learned = 0
        """Backgrounds learned (one per start and reset)."""
        self.peak = 0
        """The most frames ever held back at once."""
        self.pending = True
        """No background learned since the start or the last reset: frames go to :meth:`add`."""
        self._frames: list[tuple[np.ndarray, float]] = []

    @property
    def held(self) -> int:
        """Frames held back now."""
        return len(self._frames)

    def reset(self) -> None:
        """Learn again from the next frames; drop the held-back ones (they belong to the old
        stream)."""
        self._frames = []
        self.pending = True

    def add(self, frame: np.ndarray, t: float) -> Learned | None:
        """Hold back ``frame`` (processing size, taken at ``t``); the learned background and
        every held-back frame once the window is full, else None."""
        self._frames.append((frame, t))
        self.peak = max(self.peak, len(self._frames))
        cap = max(1, min(self.max_frames, self.max_bytes // max(1, frame.nbytes)))
        if t - self._frames[0][1] < self.window_s and len(self._frames) < cap:
            return None
        return self.finish()

    def finish(self) -> Learned | None:
        """Learn from the frames held back so far, however few (the stream ended or is being
        replaced within the window); None when none are held."""
        if not self._frames:
            return None
        frames, self._frames = self._frames, []
        self.learned += 1
        self.pending = False
        picks = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), MEDIAN_FRAMES))
                          .round().astype(int))
        stack = np.stack([frames[i][0] for i in picks])
        background = np.asarray(np.median(stack, axis=0), dtype=np.uint8)
        return Learned(background, frames, _cleaned(stack, background))


def _cleaned(stack: np.ndarray, background: np.ndarray) -> list[np.ndarray]:
    differs = np.abs(stack.astype(np.int16) - background.astype(np.int16)).max(axis=-1)
    out = np.where((differs > CLEAN_LEVELS)[..., None], background[None], stack)
    return list(out.astype(np.uint8))

