"""Configuration of a camera source (to be completed with the camera pipeline)."""

from __future__ import annotations

from typing import Literal

from edge.config_base import SourceSection


class CameraSource(SourceSection):
    """A camera whose video is turned into counted crossings."""

    type: Literal["camera"] = "camera"
    url: str
