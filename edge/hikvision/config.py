"""Configuration of a Hikvision ISAPI terminal (to be completed with its adapter)."""

from __future__ import annotations

from typing import Literal

from edge.config_base import SourceSection


class HikvisionSource(SourceSection):
    """A Hikvision access-control terminal spoken to over ISAPI."""

    type: Literal["hikvision-isapi"] = "hikvision-isapi"
    host: str
