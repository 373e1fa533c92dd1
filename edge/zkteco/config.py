"""Configuration of ZKTeco terminals: PUSH/ADMS (the terminal posts its records to the
agent over HTTP) and the classic binary protocol on TCP port 4370 (the agent connects).

    - type: zkteco-push
      device: b01-u1-door
      serial: CKJ1234567890          # the terminal's SN, as it sends it in ?SN=
      listen: "0.0.0.0:8088"         # one listener serves every terminal that names it
      direction: in                  # the terminal stands at an entrance
    - type: zkteco-tcp
      device: b01-u2-door
      host: 10.0.0.31
      comm_key: 0                    # the terminal's communication password (0 = none)

ZKTeco records carry no reliable direction: the punch ``state`` (0 check-in, 1 check-out,
2 break-out, 3 break-in, 4 overtime-in, 5 overtime-out) is what the user chose on the
keypad. The direction comes from ``direction`` (where the terminal stands); a site whose
terminals set the state per reader (a slave exit reader recording "check-out") sets
``state_is_direction: true`` and, if needed, ``states``.

``credentials`` (verify type → credential), ``states`` (state → direction) and ``codes``
(``"alarm:<n>"`` / ``"op:<n>"`` → an event kind or ``ignore``) are overrides merged over the
built-in tables of ``edge.zkteco.mapping``; ``null`` in ``credentials`` or ``states`` removes
a built-in entry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from edge.config_base import Section, ZonedSection
from edge.vendors.config import parse_listen
from linli.contract import Credential, Direction, EventKind

IGNORE = "ignore"
"""A ``codes`` value: the code is known and deliberately not an event."""
CODE_KEY = re.compile(r"^(alarm|op):(0x[0-9a-f]+|[0-9]+)$")
SERIAL = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def _text_keys(value: Any) -> Any:
    # YAML reads {1: fingerprint} with integer keys; the tables are keyed by text
    if isinstance(value, dict):
        return {str(key).strip().lower(): item for key, item in value.items()}
    return value


def _number_keys(value: dict[str, Any], what: str) -> dict[str, Any]:
    for key in value:
        if not (key.isascii() and key.isdigit()) or len(key) > 6:
            raise ValueError(f"{what} keys are numbers, not {key!r}")
    return {str(int(key)): item for key, item in value.items()}


class ZktecoSection(ZonedSection):
    """What both ZKTeco source types share: time zone, direction and code tables."""

    direction: Direction | None = None
    """Where the terminal stands: ``in`` at an entrance, ``out`` at an exit, unset if both."""
    state_is_direction: bool = False
    """Take the direction from the punch state (``states``) when the site sets it per reader."""
    states: dict[str, Direction | None] = Field(default_factory=dict)
    """Punch state → direction overrides (used with ``state_is_direction``)."""
    credentials: dict[str, Credential | None] = Field(default_factory=dict)
    """Verify type → credential overrides (models differ: old B&W terminals use 0 password,
    2 card)."""
    codes: dict[str, str] = Field(default_factory=dict)
    """``"alarm:<n>"`` or ``"op:<n>"`` → an event kind or ``ignore`` (overrides)."""
    person_format: str = "{pin}"
    """How the terminal's user id (PIN) becomes our person id, e.g. ``"r-{pin:0>4}"``."""
    drift_threshold_s: float = Field(60.0, gt=0)
    """A terminal clock off by this much is noted (``drift_s``) in its events and status."""

    @field_validator("states", "credentials", "codes", mode="before")
    @classmethod
    def _keys_are_text(cls, value: Any) -> Any:
        return _text_keys(value)

    @field_validator("states")
    @classmethod
    def _state_numbers(cls, value: dict[str, Direction | None]) -> dict[str, Direction | None]:
        return _number_keys(value, "states")

    @field_validator("credentials")
    @classmethod
    def _verify_numbers(cls, value: dict[str, Credential | None]
                        ) -> dict[str, Credential | None]:
        return _number_keys(value, "credentials")

    @field_validator("codes")
    @classmethod
    def _known_codes(cls, value: dict[str, str]) -> dict[str, str]:
        normalised: dict[str, str] = {}
        for key, kind in value.items():
            match = CODE_KEY.match(key)
            if match is None:
                raise ValueError(f"code {key!r}: expected 'alarm:<n>' or 'op:<n>' "
                                 "(decimal or 0x hex)")
            kind = str(kind).strip().lower()
            if kind != IGNORE and kind not in EventKind._value2member_map_:
                raise ValueError(f"code {key!r}: {kind!r} is neither an event kind "
                                 f"({', '.join(EventKind)}) nor '{IGNORE}'")
            normalised[f"{match.group(1)}:{int(match.group(2), 0)}"] = kind
        return normalised

    @field_validator("person_format")
    @classmethod
    def _formats_a_pin(cls, value: str) -> str:
        if "{pin" not in value:
            raise ValueError("person_format must contain {pin}")
        try:
            value.format(pin="1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"person_format {value!r}: {exc}") from exc
        return value


class PhotoSettings(Section):
    """The terminal's own snapshots (``ATTPHOTO``): off unless the site enables them.

    They are pictures of residents' faces: kept only on the agent's disk (a folder and
    files only the agent's user may read), never published, never logged, and deleted
    after ``keep_days``."""

    enabled: bool = False
    dir: Path = Path("var/snapshots")
    """Photos go to ``<dir>/<device>/<time>-<pin>.jpg`` as the terminal names them."""
    keep_days: float = Field(7.0, gt=0, le=90)


class ZktecoPushSource(ZktecoSection):
    """A ZKTeco terminal that pushes its records to the agent (PUSH/ADMS over HTTP)."""

    type: Literal["zkteco-push"] = "zkteco-push"
    serial: str
    """The terminal's serial number (``SN``); requests naming another SN are refused."""
    listen: str = "0.0.0.0:8088"
    """``host:port`` of the agent's iclock listener; sources naming the same value share it."""
    delay_s: int = Field(10, ge=1, le=3600)
    """``Delay``: seconds between the terminal's polls for commands (its heartbeat)."""
    error_delay_s: int = Field(30, ge=1, le=3600)
    """``ErrorDelay``: seconds the terminal waits after a failed request."""
    offline_after_s: float = Field(120.0, gt=0)
    """The terminal counts as offline when it has not been heard from for this long."""
    max_body_bytes: int = Field(4 << 20, ge=1024, le=64 << 20)
    """Larger uploads are refused (413) unread."""
    snapshots: PhotoSettings = Field(default_factory=PhotoSettings)
    """Keep the photos the terminal takes at each punch (off by default)."""

    @field_validator("serial")
    @classmethod
    def _serial_shape(cls, value: str) -> str:
        if not SERIAL.match(value):
            raise ValueError("serial must be 1–40 letters, digits, '_', '.' or '-'")
        return value

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        parse_listen(value)
        return value

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` of the listener."""
        return parse_listen(self.listen)


class ZktecoTcpSource(ZktecoSection):
    """A ZKTeco terminal the agent connects to on TCP port 4370 (live capture)."""

    type: Literal["zkteco-tcp"] = "zkteco-tcp"
    host: str
    port: int = Field(4370, ge=1, le=65535)
    comm_key: int = Field(0, ge=0, le=0xFFFFFFFF, repr=False)
    """The terminal's communication key (``CMD_AUTH``); 0 when none is set."""
    timeout_s: float = Field(5.0, gt=0, le=120)
    """How long a reply may take before the connection is given up."""
    keepalive_s: float = Field(30.0, gt=0)
    """Interval of the keepalive (a device-time request, which also measures drift)."""
    reconnect_min_s: float = Field(1.0, gt=0)
    reconnect_max_s: float = Field(60.0, gt=0)
    alarms: bool = True
    """Register for alarm events (exit button, door, passback…) besides attendance."""
    catchup: bool = True
    """Read the terminal's attendance log after each (re)connection."""
    catchup_first_hours: float = Field(24.0, ge=0)
    """Without a checkpoint (first start), catch up on this many hours of history."""
    catchup_overlap_s: float = Field(600.0, ge=0)
    """Catch up from this long before the last record seen (ids make the overlap harmless)."""
    disable_while_reading: bool = True
    """Disable the terminal's readers while its log is read, as the vendor's SDK does."""
    chunk_bytes: int = Field(32768, ge=1024, le=65472)
    """Size of the chunks the attendance log is read in."""
    verify_checksums: bool = True
    """Keep real-time packets with a wrong checksum aside (and catch up from the log)."""

    @field_validator("host")
    @classmethod
    def _host_given(cls, value: str) -> str:
        if not value.strip() or any(c in value for c in "/ @"):
            raise ValueError("host must be a host name or an IP address")
        return value.strip()
