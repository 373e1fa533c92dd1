"""Pydantic models of the health domain."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthRead(BaseModel):
    """``ok`` or ``unavailable`` overall; each part ``ok``, ``error: …`` (or, for the
    broker, ``not configured``)."""

    status: Literal["ok", "unavailable"]
    database: str
    broker: str
