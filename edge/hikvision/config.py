"""Configuration of a Hikvision access terminal spoken to over ISAPI.

    - type: hikvision-isapi
      device: b01-u1-door
      host: 192.168.1.64
      username: admin
      password: "..."
      mode: stream                 # or push: the terminal POSTs to the agent
      readers: {"1": in, "2": out} # cardReaderNo → direction
      codes: {"5.23": door_opened, "5.24": door_closed, "3.112": ignore}

``mode: push`` also needs ``listen: "0.0.0.0:8088"`` (and the terminal's HTTP host set
to ``http://<agent>:8088{path}``); the agent still logs in to the terminal (``host``,
``username``, ``password``) to catch up on what it missed.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from edge.vendors.codes import CodeTarget
from edge.vendors.config import PushAuth, TerminalSection, parse_listen

_CODE_KEY = re.compile(r"^\d{1,3}\.\d{1,6}$")


class HikvisionSource(TerminalSection):
    """A Hikvision access-control terminal spoken to over ISAPI."""

    type: Literal["hikvision-isapi"] = "hikvision-isapi"
    mode: Literal["stream", "push"] = "stream"
    """``stream``: the agent holds ``/ISAPI/Event/notification/alertStream`` open;
    ``push``: the terminal POSTs each event to the agent's listener."""
    listen: str | None = None
    """``HOST:PORT`` the push listener binds (push mode only)."""
    path: str = Field("/linli/hikvision", pattern=r"^/[A-Za-z0-9._~/-]{0,200}$")
    """URL path the terminal pushes to."""
    push_auth: PushAuth | None = None
    """Digest credentials the terminal must send when it pushes (none: any sender)."""
    offline_after_s: float = Field(90.0, gt=0)
    """Push mode: a terminal silent this long (no event, no heartbeat) counts as offline;
    when it is heard again the agent catches up on its log."""
    reconcile_s: float = Field(600.0, ge=0)
    """Push mode: also search the device's log this often (0: only after silences)."""
    attendance_direction: bool = False
    """Take the direction from ``attendanceStatus`` (checkIn/checkOut) where the site
    makes residents choose it; otherwise only the ``readers`` map gives a direction."""
    code_table: Literal["sdk", "door-contact"] = "sdk"
    """Which built-in table the codes follow: ``sdk`` (5.23/5.24 the exit button) or
    ``door-contact`` (5.23/5.24 the door contact, as DS-K1T342 firmware and terminals with
    the contact wired to that input write them). Chosen by the device's profile."""
    codes: dict[str, CodeTarget] = Field(default_factory=dict)
    """``"major.minor"`` → kind or ``ignore``, over the built-in table (per-device quirks)."""
    wiring_check: int = Field(5, ge=0, le=1000)
    """Warn when this many lock openings in a row (5.21) were each followed within
    ``wiring_window_s`` by an exit-button press (5.23): that is a door contact read with
    the wrong table, not residents leaving. 0: no check."""
    wiring_window_s: float = Field(1.5, gt=0, le=10)

    @field_validator("codes")
    @classmethod
    def _code_keys(cls, value: dict[str, CodeTarget]) -> dict[str, CodeTarget]:
        bad = sorted(key for key in value if not _CODE_KEY.match(key))
        if bad:
            raise ValueError(f"codes keys must be MAJOR.MINOR (e.g. \"5.75\"), not {bad}")
        return value

    @field_validator("listen")
    @classmethod
    def _listen_address(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @model_validator(mode="after")
    def _push_needs_listen(self) -> HikvisionSource:
        if self.mode == "push" and self.listen is None:
            raise ValueError('mode push needs listen: "HOST:PORT"')
        return self
