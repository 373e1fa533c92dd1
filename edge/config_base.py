"""Building blocks shared by the configuration models of every edge source type.

Each source type keeps its model next to its code (``edge/camera/config.py`` …) and
builds it from these, so that every model forbids unknown keys (a typo is an error that
names its field) and checks identifiers and time zones the same way.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linli.contract import Direction
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


class ZonedSection(SourceSection):
    """A source whose device writes local times: the zone they are in."""

    timezone: str = "Asia/Shanghai"
    """The device's zone: for its times written without an offset (and in its searches)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @property
    def zone(self) -> ZoneInfo:
        """The device's time zone."""
        return ZoneInfo(self.timezone)


class DoorSection(ZonedSection):
    """A door whose records name the reader they were made at."""

    readers: dict[str, Direction] = Field(default_factory=dict)
    """Reader number → direction (entrance reader ``in``, exit reader ``out``), for records
    that have a reader but no direction."""

    @field_validator("readers", mode="before")
    @classmethod
    def _reader_keys_are_text(cls, value: Any) -> Any:
        # YAML reads {1: in} with an integer key; devices write the reader either way
        if isinstance(value, dict):
            return {str(key): direction for key, direction in value.items()}
        return value


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
