"""Building blocks shared by the configuration models of every edge source type.

Each source type keeps its model next to its code (``edge/camera/config.py`` …) and
builds it from these, so that every model forbids unknown keys (a typo is an error that
names its field) and checks identifiers and time zones the same way.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator

from linli.errors import ContractError
from linli.topics import check_identifier


class Section(BaseModel):
    """A configuration section: frozen, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSection(Section):
    """What every source has: its ``type`` (the discriminator) and its ``device`` id."""

    device: str
    """Device id of the events the source produces (and of its status topic)."""

    @field_validator("device")
    @classmethod
    def _device_is_identifier(cls, value: str) -> str:
        return identifier(value, "device")


def identifier(value: str, what: str) -> str:
    """``value`` if it is a topic identifier; ValueError (a pydantic field error) if not."""
    # check_identifier raises ContractError; pydantic only turns ValueError into field errors
    try:
        return check_identifier(value, what)
    except ContractError as exc:
        raise ValueError(str(exc)) from exc


def known_zone(value: str) -> str:
    """``value`` if it names an IANA time zone; ValueError if not."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value
