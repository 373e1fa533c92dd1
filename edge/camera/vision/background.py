"""Foreground extraction: background subtraction that survives lighting changes.

OpenCV's MOG2 models each pixel as a mixture of Gaussians; pixels that fit none of the
background modes are foreground (255), or shadow (127) when they are a darker version of the
background. Shadows are dropped, except between the solid parts of one person (see
:meth:`Background.apply`).

When most of the picture changes at once (lights switched on, a camera's exposure jump) the
model is rebuilt. A model rebuilt from the current frame would take the people in it for
background and see "ghosts" where they stood; so it is rebuilt from the old background
image, corrected by the measured change of brightness per colour channel, and only if that
does not explain the new picture (it sees much more moving than the frame before: the change
was not a plain brightening or dimming) from the current frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.camera.vision.config import VisionParams

SHADOW_CUT = 200
"""MOG2 marks shadows 127 and foreground 255: keep what is above this."""
BACKGROUND_RATIO = 0.7
"""MOG2's share of weight that is background. OpenCV's 0.9 absorbs someone standing still
within ~30 frames; at 0.7 it takes several seconds."""
SEED_FRAMES = 20
"""Times a rebuilt model is shown the corrected background, so it is not a one-frame guess."""


class Background:
    """Foreground masks of successive processing frames (one stream)."""

    def __init__(self, params: VisionParams, fill_size: int) -> None:
        self.params = params
        self.relearned = 0
        """Times the model was rebuilt after a sudden change of the whole picture."""
        self._fill = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (fill_size | 1, fill_size | 1))
        self._model: cv2.BackgroundSubtractorMOG2 | None = None
        self._moving = 0.0  # share of the last frame in the foreground

    def reset(self) -> None:
        """Forget the background (it is learned again from the next frames)."""
        self._model = None

    def apply(self, frame: np.ndarray) -> np.ndarray | None:
        """Foreground mask of ``frame`` (255 = moving), or None when the picture changed as
        a whole and the model was rebuilt (nothing can be seen in that frame)."""
        if self._model is None:
            self._model = self._new_model()
        raw = self._model.apply(frame)
        foreground = cv2.threshold(raw, SHADOW_CUT, 255, cv2.THRESH_BINARY)[1]
        if self._changed_too_much(foreground):
            self._rebuild(frame)
            self.relearned += 1
            return None
        self._moving = cv2.countNonZero(foreground) / foreground.size
        # Clothes the colour of the floor, only darker, pass for shadow (MOG2 cannot tell):
        # close the gaps between a person's solid parts (hair, trousers) over shadow-marked
        # pixels only. A cast shadow beside a person is not between solid parts: it stays out.
        changed = cv2.threshold(raw, SHADOW_CUT // 2, 255, cv2.THRESH_BINARY)[1]
        filled = cv2.morphologyEx(foreground, cv2.MORPH_CLOSE, self._fill)
        return cv2.bitwise_and(filled, changed)

    def _changed_too_much(self, foreground: np.ndarray) -> bool:
        return cv2.countNonZero(foreground) > self.params.lighting_change_fraction * foreground.size

    def _rebuild(self, frame: np.ndarray) -> None:
        assert self._model is not None
        old = self._model.getBackgroundImage()
        model = self._new_model()
        if old is not None and old.shape == frame.shape:
            seed = _relit(old, frame)
            for _ in range(SEED_FRAMES):
                model.apply(seed)
            test = cv2.threshold(model.apply(frame), SHADOW_CUT, 255, cv2.THRESH_BINARY)[1]
            # the corrected model must see about the people seen before the change, no more
            if cv2.countNonZero(test) / test.size <= 1.5 * self._moving + 0.01:
                self._model = model
                return
            model = self._new_model()
        model.apply(frame)
        self._model = model

    def _new_model(self) -> cv2.BackgroundSubtractorMOG2:
        model = cv2.createBackgroundSubtractorMOG2(
            history=self.params.bg_history, varThreshold=self.params.bg_var_threshold,
            detectShadows=True)
        model.setShadowThreshold(self.params.shadow_threshold)
        model.setBackgroundRatio(BACKGROUND_RATIO)
        return model


def _relit(background: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """``background`` with each channel scaled by its median brightness change to ``frame``
    (the median ignores the few pixels where people stand)."""
    step = (slice(None, None, 3), slice(None, None, 3))
    before = background[step].reshape(-1, 3).astype(np.float32) + 1.0
    after = frame[step].reshape(-1, 3).astype(np.float32) + 1.0
    gains = np.median(after / before, axis=0)
    relit = background.astype(np.float32) * gains[None, None, :]
    return np.asarray(np.clip(relit, 0, 255), dtype=np.uint8)
