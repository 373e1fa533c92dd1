"""Configuration of a Dahua access terminal whose ``eventManager`` stream the agent reads.

    - type: dahua
      device: b02-u1-door
      host: 192.168.1.108
      username: admin
      password: "..."
      readers: {"1": in, "2": out}    # ReaderID → direction when the event has no Type
      codes: {AlarmLocal: door_held_open}
      time_from: received             # events with no time of their own (_DoorFace_)

Dahua states the direction itself (``Type: Entry/Exit``); ``readers`` is the fallback.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from edge.vendors.codes import CodeTarget
from edge.vendors.config import TerminalSection
from linli.contract import Credential

DEFAULT_EVENTS = ("AccessControl", "DoorStatus", "BreakIn", "DoorNotClosed", "ChassisIntruded")
# Face terminals name some events with surrounding underscores (``_DoorFace_``), as sent
_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9]{0,61}_?$")
_CODE_KEY = re.compile(r"^_?[A-Za-z][A-Za-z0-9]{0,61}_?(\.[A-Za-z0-9]{1,32})?$")


class DahuaSource(TerminalSection):
    """A Dahua terminal whose ``eventManager`` stream the agent attaches to."""

    type: Literal["dahua"] = "dahua"
    events: list[str] = Field(default_factory=lambda: list(DEFAULT_EVENTS), min_length=1)
    """Event codes to attach to (``eventManager.cgi?action=attach&codes=[...]``)."""
    heartbeat_s: float = Field(5.0, gt=0, le=600)
    """The heartbeat the agent asks for (``heartbeat=``), in seconds."""
    page_size: int = Field(100, ge=1, le=1000)
    """Records per ``recordFinder`` request."""
    codes: dict[str, CodeTarget] = Field(default_factory=dict)
    """Event → kind or ``ignore``: ``BreakIn``, ``DoorStatus.Open``, ``AccessControl.denied``
    (granted, denied, remote, button) or any other event code, over the built-in table."""
    time_from: Literal["received", "device_clock"] = "received"
    """The time of an event that carries none of its own (``_DoorFace_`` has no ``UTC``):
    ``received``, the agent's clock when the event arrived; ``device_clock``, that moment
    on the device's clock as last measured (``Date`` headers, timed events), so it sorts
    with the device's other events when its clock is off. Either way ``attrs.time_source``
    says so; an event with its own time always keeps it."""
    methods: dict[str, Credential] = Field(default_factory=dict)
    """``Method`` number → credential, over the built-in table (0 pin, 1 card, 4 remote,
    5 exit button, 6 fingerprint, 15 face …)."""

    @field_validator("events")
    @classmethod
    def _event_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _NAME.match(name)]
        if bad:
            raise ValueError(f"event codes are names like AccessControl or _DoorFace_, not {bad}")
        return value

    @field_validator("codes")
    @classmethod
    def _code_keys(cls, value: dict[str, CodeTarget]) -> dict[str, CodeTarget]:
        bad = sorted(key for key in value if not _CODE_KEY.match(key))
        if bad:
            raise ValueError(f"codes keys are event codes (BreakIn, DoorStatus.Open), not {bad}")
        return value

    @field_validator("methods", mode="before")
    @classmethod
    def _method_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            value = {str(key): credential for key, credential in value.items()}
            bad = sorted(key for key in value if not key.isdigit())
            if bad:
                raise ValueError(f"methods keys are Method numbers, not {bad}")
        return value
