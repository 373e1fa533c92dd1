"""Configuration of a Dahua access-control terminal (to be completed with its adapter)."""

from __future__ import annotations

from typing import Literal

from edge.config_base import SourceSection


class DahuaSource(SourceSection):
    """A Dahua terminal whose ``eventManager`` stream the agent attaches to."""

    type: Literal["dahua"] = "dahua"
    host: str
