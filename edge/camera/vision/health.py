"""What a counting pipeline has been through: the figures the camera's status shows.

Plain data, no OpenCV: the agent's process reads it from its workers' reports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VisionHealth:
    """Totals since the pipeline was built, and the person size it counts with."""

    background_rebuilds: int = 0
    """The background model was rebuilt: the picture changed as a whole in a way no gain
    and offset explained (e.g. one of several lights switched)."""
    lighting_changes: int = 0
    """Sudden brightness changes of the whole picture (auto-exposure, gain, lights)."""
    tracks_lost: int = 0
    """Confirmed tracks that ended away from the picture's edges (a person missed for too
    many frames in the middle of the view)."""
    merged_crossings: int = 0
    """Crossings not counted because another track of the same person had just counted."""
    line_jumps: int = 0
    """Tracks seen on the other side of the line with no sighting near it in between: not
    counted (the passage was not seen; often the tracker carried a track onto someone
    else). Many of them: too low a frame rate, or people faster than the tracker follows."""
    person_width_px: float = 0.0
    """One person's width along the counting line, at the line (counting-frame pixels)."""
    person_length_px: float = 0.0
    """One person's length across the line, at the line."""
    person_size_learned: bool = False
    """Whether those sizes were learned from the scene (else: the configured ones)."""
    band_px: float = 0.0
    """The hysteresis band each side of the line it counts with: ``hysteresis_px``, or a
    fifth of a person's length across the line when that is more."""
