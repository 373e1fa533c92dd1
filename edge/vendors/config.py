"""Configuration shared by the HTTP terminals' sources (Hikvision ISAPI, Dahua CGI).

Each vendor's model (``edge/hikvision/config.py``, ``edge/dahua/config.py``) extends
``TerminalSection`` with its own ``type`` and options. Device profiles
(``hardware/profiles/*.yaml``) merge their ``defaults`` into a source's entry, so every
option here is a plain value with a sensible default, and unknown keys are refused.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from edge.config_base import DoorSection, Section

__all__ = ["Listen", "PushAuth", "TerminalSection", "parse_listen"]


class PushAuth(Section):
    """Digest credentials the terminal must present when it pushes to the agent."""

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr


class TerminalSection(DoorSection):
    """Where the terminal is, how to log in, and how patient to be with it."""

    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(None, ge=1, le=65535)
    """Default 80 for http, 443 for https."""
    scheme: str = Field("http", pattern="^https?$")
    verify_tls: bool = True
    """Terminals ship self-signed certificates; turn off only on a trusted network."""
    username: str = "admin"
    password: SecretStr = SecretStr("")
    heartbeat_s: float = Field(10.0, gt=0, le=600)
    """How often the terminal sends a heartbeat part on its event stream."""
    silent_heartbeats: int = Field(3, ge=1, le=100)
    """A stream silent for this many heartbeats is dropped and opened again."""
    catch_up: bool = True
    """Search the device's log for what was missed after an outage."""
    page_size: int = Field(30, ge=1, le=1000)
    """Records per catch-up search request (some terminals answer at most 30)."""
    backfill_hours: float = Field(24.0, ge=0, le=24 * 90)
    """On the first start (no checkpoint yet): how far back to take the device's log."""
    drift_threshold_s: float = Field(30.0, gt=0)
    """A device clock further off than this is noted in events' attrs and the status."""
    reconnect_max_s: float = Field(60.0, ge=0.1, le=3600)
    timeout_s: float = Field(10.0, gt=0, le=300)
    """Connect and request timeout (searches, the stream's start)."""
    max_part_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    """Largest part of the event stream the agent reads; larger ones are skipped."""

    @property
    def base_url(self) -> str:
        """``scheme://host:port`` of the device."""
        port = self.port or (443 if self.scheme == "https" else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{port}"

    @property
    def silence_s(self) -> float:
        """How long the stream may stay silent before it is dropped."""
        return self.heartbeat_s * self.silent_heartbeats


Listen = tuple[str, int]


def parse_listen(value: str) -> Listen:
    """``"0.0.0.0:8088"`` (or ``"[::]:8088"``) → (host, port); ValueError if malformed."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen must be HOST:PORT, not {value!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)
