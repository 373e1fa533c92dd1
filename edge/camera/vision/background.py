"""Foreground extraction: background subtraction that survives lighting and exposure changes.

OpenCV's MOG2 models each pixel as a mixture of Gaussians; pixels that fit none of the
background modes are foreground (255), or shadow (127) when they are a darker version of the
background. Shadows are dropped, except between the solid parts of one person (see
:meth:`Background.apply`).

A camera's auto-exposure and gain change the whole picture at once, typically when someone
in dark clothes walks in: the floor brightens by 13-33 % while that person stands on the
line. Every frame is therefore first brought back to the brightness the model knows
(*photometric normalisation*): a gain and an offset per colour channel are estimated between
the frame and a small reference image of the background, over pixels judged background (not
foreground in the last frame, not under a track), robustly (a pixel-to-pixel line fitted to
the pixels that agree, so people who moved do not count as a contrast change), and
undone through a lookup table before MOG2 sees the frame. Nobody is learned into the
background, and no frame is lost.

Only when the normalised picture still changes as a whole (a light switched on over half
the room: not one gain for the whole picture) is the model rebuilt; then from the old
background, corrected, and the current frame only where nobody is: pixels under the last
foreground or a current track keep the old background, relit by the change measured on the
floor around them, so a person standing there stays foreground instead of being learned
and leaving a ghost.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edge.camera.vision.config import VisionParams

SHADOW_CUT = 200
"""MOG2 marks shadows 127 and foreground 255: keep what is above this."""
BACKGROUND_RATIO = 0.7
"""MOG2's share of weight that is background. OpenCV's 0.9 absorbs someone standing still
within ~30 frames; at 0.7 it takes several seconds."""
SEED_FRAMES = 20
"""Times a rebuilt model is shown its seed image, so it is not a one-frame guess."""
SAMPLE_STEP = 6
"""The photometric estimate looks at every 6th pixel in each direction (~2000 of 320x240)."""
QUICK_CHECK = 0.01
"""The mean brightness of the background within 1 % of what the last correction predicts:
no new estimate."""
REFERENCE_RATE = 0.02
"""Share of each frame (normalised, background pixels) blended into the reference image."""
MIN_SPREAD = 24.0
"""Below this spread (levels) between the 10th and 90th percentile of a channel's background
an offset cannot be told from a gain: the gain alone is estimated (median ratio)."""
MIN_BACKGROUND_SHARE = 0.2
"""Fewer sampled background pixels than this share: keep the last correction."""
LIGHTING_STEP = 0.06
"""A lighting change: mid-grey moved by more than this share since the last steady level."""
STEADY_FRAMES = 5
"""Frames within 1 % of each other after which the brightness counts as steady again."""
ROBUST_ROUNDS = 3
"""Fit, drop the pixels that disagree, fit again: rounds of the gain and offset estimate."""
Box = tuple[float, float, float, float]


class Photometric:
    """Per-channel gain and offset of the camera relative to the background reference."""

    def __init__(self) -> None:
        self.gain = np.ones(3, np.float32)
        self.offset = np.zeros(3, np.float32)
        self.changes = 0
        """Lighting changes seen (sudden exposure, gain or light steps)."""
        self._reference: np.ndarray | None = None
        self._steady_level = 128.0
        self._last_level = 128.0
        self._steady_for = 0
        self._changing = False
        self._lut: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the reference (it is taken again from the next frame)."""
        self.__init__()  # type: ignore[misc]

    def rebase(self, normalised: np.ndarray) -> None:
        """Take ``normalised`` (a frame this corrected) as the reference: the background was
        rebuilt from it."""
        self._reference = normalised[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1, 3).astype(
            np.float32)

    @property
    def level(self) -> float:
        """Where mid-grey of the reference is now in the camera's picture."""
        return float(np.mean(self.gain * 128.0 + self.offset))

    def normalise(self, frame: np.ndarray, background: np.ndarray | None) -> np.ndarray:
        """``frame`` brought back to the reference's brightness. ``background`` (a mask of
        the frame's size, 255 where nobody is, or None for all) says which pixels to trust."""
        sample = frame[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1, 3).astype(np.float32)
        trusted = (np.ones(len(sample), bool) if background is None
                   else background[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1) > 0)
        if self._reference is None or self._reference.shape != sample.shape:
            self._reference = sample
            self.gain[:], self.offset[:] = 1.0, 0.0
            self._lut = None
            return frame
        if np.count_nonzero(trusted) >= MIN_BACKGROUND_SHARE * len(sample):
            self._estimate(sample[trusted], self._reference[trusted])
            self._count_change()
        if self._lut is None:
            normalised, seen = frame, sample
        else:
            normalised = cv2.LUT(frame, self._lut)
            seen = normalised[::SAMPLE_STEP, ::SAMPLE_STEP].reshape(-1, 3).astype(np.float32)
        ref = self._reference
        ref[trusted] += REFERENCE_RATE * (seen[trusted] - ref[trusted])
        return normalised

    def _estimate(self, now: np.ndarray, ref: np.ndarray) -> None:
        # the mean says cheaply whether the picture still matches the last correction
        expected = self.gain * ref.mean(axis=0) + self.offset
        if np.all(np.abs(now.mean(axis=0) - expected) < QUICK_CHECK * (expected + 1.0)):
            return
        r_lo, r_hi = np.percentile(ref, (10, 90), axis=0)
        wide = r_hi - r_lo >= MIN_SPREAD
        gain = np.median((now + 1.0) / (ref + 1.0), axis=0)
        offset = np.zeros(3, np.float32)
        for c in np.flatnonzero(wide):
            gain[c], offset[c] = _robust_line(ref[:, c], now[:, c], float(gain[c]))
        gain = np.clip(gain, 0.25, 4.0)
        self.gain[:], self.offset[:] = gain, offset
        if np.all(np.abs(self.gain - 1.0) < 0.015) and np.all(np.abs(self.offset) < 2.0):
            self._lut = None  # sensor noise, not an exposure change: spare the lookup
            return
        levels = np.arange(256, dtype=np.float32)[:, None]
        table = (levels - self.offset[None, :]) / self.gain[None, :]
        self._lut = np.clip(table + 0.5, 0, 255).astype(np.uint8).reshape(256, 1, 3)

    def _count_change(self) -> None:
        level = self.level
        if abs(level - self._last_level) <= 0.01 * self._last_level:
            self._steady_for += 1
        else:
            self._steady_for = 0
        self._last_level = level
        if not self._changing and abs(level - self._steady_level) > LIGHTING_STEP * 128.0:
            self._changing = True
            self.changes += 1
        if self._steady_for >= STEADY_FRAMES:
            self._changing = False
            self._steady_level = level


def _robust_line(ref: np.ndarray, now: np.ndarray, gain: float) -> tuple[float, float]:
    """Gain and offset with ``now ~ gain * ref + offset`` over the same pixels, fitted to the
    pixels that agree. Matching the two pictures' brightness distributions instead (quantile
    to quantile) takes people who moved for a contrast change: in a crowd the darkest tenth
    of the pixels is people, at other places in each picture, and the floor's own texture
    would then be corrected into foreground. Pixels where someone stands in one picture only
    are outliers of the pixel-to-pixel line, dropped by their residual (median absolute
    deviation); starting from the median ratio, most pixels being floor, this converges."""
    offset = 0.0
    for _ in range(ROBUST_ROUNDS):
        residual = now - (gain * ref + offset)
        centre = _median(residual)
        spread = _median(np.abs(residual - centre))
        keep = np.abs(residual - centre) <= 3.0 * 1.4826 * spread + 2.0
        x, y = ref[keep], now[keep]
        variance = float(x.var()) if len(x) > 1 else 0.0
        if variance < 1.0:
            return gain, _median(now - gain * ref)
        x_mean, y_mean = x.mean(), y.mean()
        gain = float(((x - x_mean) * (y - y_mean)).mean()) / variance
        offset = float(y_mean - gain * x_mean)
    return gain, offset


def _median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a 1-D array without NaNs, minus np.median's overhead
    (a partition, and the mean of the two middle values in the array's own type)."""
    half = len(values) // 2
    if len(values) % 2:
        return float(np.partition(values, half)[half])
    part = np.partition(values, (half - 1, half))
    return float((part[half - 1] + part[half]) / 2)


class Background:
    """Foreground masks of successive processing frames (one stream)."""

    def __init__(self, params: VisionParams, fill_size: int) -> None:
        self.params = params
        self.rebuilds = 0
        """Times the model was rebuilt after a change of the whole picture that no gain
        explained."""
        self.photometric = Photometric()
        self._fill = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (fill_size | 1, fill_size | 1))
        self._grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
        self._model: cv2.BackgroundSubtractorMOG2 | None = None
        self._moving = 0.0  # share of the last frame in the foreground
        self._occupied: np.ndarray | None = None  # last foreground, grown: people, not floor

    @property
    def lighting_changes(self) -> int:
        """Sudden brightness changes of the whole picture (exposure, gain, lights)."""
        return self.photometric.changes

    def reset(self) -> None:
        """Forget the background (it is learned again from the next frames)."""
        self._model = None
        self._occupied = None
        self.photometric.reset()

    def apply(self, frame: np.ndarray, covered: Sequence[Box] = ()) -> np.ndarray | None:
        """Foreground mask of ``frame`` (255 = moving), or None when the picture changed as
        a whole and the model was rebuilt (nothing can be seen in that frame).

        ``covered``: boxes (x, y, w, h in this frame's pixels) of the people tracked now;
        they are never taken for background.
        """
        people = self._people(frame.shape[:2], covered)
        frame = self.photometric.normalise(
            frame, None if people is None else cv2.bitwise_not(people))
        if self._model is None:
            self._model = self._new_model()
        raw = self._model.apply(frame)
        foreground = cv2.threshold(raw, SHADOW_CUT, 255, cv2.THRESH_BINARY)[1]
        if self._changed_too_much(foreground):
            self._rebuild(frame, people)
            self.rebuilds += 1
            return None
        self._moving = cv2.countNonZero(foreground) / foreground.size
        # Clothes the colour of the floor, only darker, pass for shadow (MOG2 cannot tell):
        # close the gaps between a person's solid parts (hair, trousers) over shadow-marked
        # pixels only. A cast shadow beside a person is not between solid parts: it stays out.
        changed = cv2.threshold(raw, SHADOW_CUT // 2, 255, cv2.THRESH_BINARY)[1]
        filled = cv2.morphologyEx(foreground, cv2.MORPH_CLOSE, self._fill)
        mask = cv2.bitwise_and(filled, changed)
        self._occupied = cv2.dilate(mask, self._grow)
        return mask

    def seed(self, image: np.ndarray, samples: Sequence[np.ndarray] = ()) -> None:
        """Start the model from ``image`` (a background learned beforehand, e.g. by
        :mod:`edge.camera.vision.bootstrap`) instead of from the next frame; ``samples``:
        frames of that background as the camera saw them (its noise), shown after it."""
        self.reset()
        model = self._new_model()
        shown = [image] * max(1, SEED_FRAMES - len(samples)) + list(samples)
        for seed in shown:
            model.apply(seed)
        self._model = model
        self.photometric.rebase(image)

    def _people(self, shape: tuple[int, ...], covered: Sequence[Box]) -> np.ndarray | None:
        """255 where someone may be: the last foreground (grown) and the tracks' boxes."""
        if self._occupied is not None and self._occupied.shape != shape:
            self._occupied = None
        if not covered:
            return self._occupied
        people = (self._occupied.copy() if self._occupied is not None
                  else np.zeros(shape, np.uint8))
        for x, y, w, h in covered:
            cv2.rectangle(people, (int(x), int(y)), (int(x + w), int(y + h)), 255, -1)
        return people

    def _changed_too_much(self, foreground: np.ndarray) -> bool:
        return cv2.countNonZero(foreground) > self.params.lighting_change_fraction * foreground.size

    def _rebuild(self, frame: np.ndarray, people: np.ndarray | None) -> None:
        assert self._model is not None
        old = self._model.getBackgroundImage()
        seed = frame
        if people is not None and old is not None and old.shape == frame.shape:
            # the floor as it is now, except where someone may stand: there the old floor,
            # relit by the change measured on the free floor around it
            seed = np.where(people[:, :, None] > 0, _relit(old, frame, people), frame)
        model = self._new_model()
        for _ in range(SEED_FRAMES):
            model.apply(seed)
        self._model = model
        self._occupied = None
        self.photometric.rebase(seed)

    def _new_model(self) -> cv2.BackgroundSubtractorMOG2:
        model = cv2.createBackgroundSubtractorMOG2(
            history=self.params.bg_history, varThreshold=self.params.bg_var_threshold,
            detectShadows=True)
        model.setShadowThreshold(self.params.shadow_threshold)
        model.setBackgroundRatio(BACKGROUND_RATIO)
        return model


def _relit(background: np.ndarray, frame: np.ndarray, people: np.ndarray) -> np.ndarray:
    """``background`` relit by the change from it to ``frame`` measured on the free floor
    (``people`` 0) nearby: the ratio per channel averaged over a neighbourhood of a fifth
    of the picture, free pixels only (light changes smoothly; people are small)."""
    free = (people == 0).astype(np.float32)
    ratio = (frame.astype(np.float32) + 1.0) / (background.astype(np.float32) + 1.0)
    size = max(3, frame.shape[1] // 5) | 1
    weight = cv2.blur(free, (size, size))
    local = cv2.blur(ratio * free[:, :, None], (size, size))
    wide = float(np.median(ratio[free > 0])) if np.count_nonzero(free) else 1.0
    known = weight[:, :, None] > 0.05
    gains = np.where(known, local / np.maximum(weight[:, :, None], 1e-3), wide)
    relit = background.astype(np.float32) * gains
    return np.asarray(np.clip(relit, 0, 255), dtype=np.uint8)
