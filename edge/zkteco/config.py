"""Configuration of ZKTeco terminals (to be completed with their adapters)."""

from __future__ import annotations

from typing import Literal

from edge.config_base import SourceSection


class ZktecoPushSource(SourceSection):
    """A ZKTeco terminal that pushes its records to the agent (PUSH/ADMS over HTTP)."""

    type: Literal["zkteco-push"] = "zkteco-push"
    serial: str


class ZktecoTcpSource(SourceSection):
    """A ZKTeco terminal the agent connects to on TCP port 4370 (live capture)."""

    type: Literal["zkteco-tcp"] = "zkteco-tcp"
    host: str
