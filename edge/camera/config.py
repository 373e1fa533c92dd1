"""Configuration of a camera source: where its video comes from and how it is counted.

    - type: camera
      device: b01-u1-cam
      url: rtsp://admin:PASSWORD@10.0.0.21:554/Streaming/Channels/102   # or 0, /dev/video0, a file
      fps: 8                      # frames processed per second at most (CPU cap)
      counting: {...}             # the counting line or zone (edge.camera.vision.config)
      vision: {}                  # tunables of detection and tracking, defaults if absent
      reconnect_min_s: 1          # backoff after a drop or a failed open, doubling up to
      reconnect_max_s: 30         #   reconnect_max_s
      snapshots: {enabled: false, dir: /var/lib/linli/snapshots, blur_faces: true, keep_days: 7}

A file (``url: /path/clip.avi``) is read at its own frame rate like a live camera
(``file_pace: realtime``) or as fast as the pipeline goes (``file_pace: fast``: no frame
dropped, for tests and batch counts); ``loop: true`` replays it (demos); ``start_time`` makes
event times ``start_time + position in the file`` instead of the wall clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from edge.camera.urls import CaptureTarget, parse_target
from edge.camera.vision.config import CountingSpec, VisionParams
from edge.config_base import Section, SourceSection


class SnapshotSettings(Section):
    """An optional still of each crossing, kept on the agent's disk only."""

    enabled: bool = False
    dir: Path = Path("var/snapshots")
    """Folder of the JPEGs, named ``{event_id}.jpg``."""
    blur_faces: bool = True
    """Pixelate the people in the picture (see ``blur_region``) before it is written."""
    blur_region: Literal["person", "head"] = "person"
    """``person``: each tracked person's whole box; ``head``: the top part of it only."""
    keep_days: int = Field(7, ge=1, le=3650)
    """Snapshots older than this are deleted."""
    quality: int = Field(80, ge=30, le=100)
    """JPEG quality."""


class CameraSource(SourceSection):
    """A camera whose video is turned into counted crossings."""

    type: Literal["camera"] = "camera"
    url: str = Field(repr=False)  # it may hold the camera's password; show mask_url(url)
    """``rtsp://…``/``http://…`` stream, a device index (``0``) or node (``/dev/video0``),
    or a video file path."""
    fps: float = Field(8.0, gt=0, le=60)
    """Most frames processed per second; frames beyond it are read and skipped."""
    counting: CountingSpec
    vision: VisionParams = Field(default_factory=VisionParams)
    reconnect_min_s: float = Field(1.0, gt=0, le=600)
    reconnect_max_s: float = Field(30.0, gt=0, le=3600)
    open_timeout_s: float = Field(10.0, gt=0, le=120)
    """How long opening a stream may take before it counts as failed."""
    read_timeout_s: float = Field(10.0, gt=0, le=120)
    """How long a stream may send nothing before it counts as dropped."""
    rtsp_transport: Literal["tcp", "udp"] = "tcp"
    """RTSP over TCP survives lossy networks without smeared frames; UDP has less delay."""
    loop: bool = False
    """Files only: start again at the end (demos)."""
    file_pace: Literal["realtime", "fast"] = "realtime"
    """Files only: ``realtime`` reads at the file's frame rate; ``fast`` as fast as the
    pipeline takes frames, never dropping one."""
    start_time: AwareDatetime | None = None
    """Files only: event times are this plus the position in the file."""
    snapshots: SnapshotSettings = Field(default_factory=SnapshotSettings)

    @field_validator("url", mode="before")
    @classmethod
    def _index_as_text(cls, value: Any) -> Any:
        # YAML reads `url: 0` as an integer: a device index
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("url")
    @classmethod
    def _url_names_something(cls, value: str) -> str:
        parse_target(value)  # ValueError says what is wrong, without the password
        return value.strip()

    @model_validator(mode="after")
    def _consistent(self) -> CameraSource:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError(f"reconnect_min_s ({self.reconnect_min_s:g}) exceeds "
                             f"reconnect_max_s ({self.reconnect_max_s:g})")
        target = self.target
        if not target.is_file:
            for option, default in (("loop", False), ("file_pace", "realtime"),
                                    ("start_time", None)):
                if getattr(self, option) != default:
                    raise ValueError(f"{option}: applies to video files only, and url names "
                                     f"a {target.kind.value}")
        return self

    @property
    def target(self) -> CaptureTarget:
        """What ``url`` names (stream, device or file)."""
        return parse_target(self.url)
