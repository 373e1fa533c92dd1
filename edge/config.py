"""The edge agent's configuration: one YAML file per building (format 2 of the brief).

    community: juxin
    building: b01
    agent_id: agent
    sources:
      - {type: log, device: b01-u1-door, path: /var/log/door.jsonl, format: jsonl,
         timezone: Asia/Shanghai, readers: {"1": in, "2": out}, fields: {}}

Every section is a small pydantic model that forbids unknown keys, so a typo is an error
that names its field (``sources.0.format: ...``) rather than a silently ignored option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from linli.contract import Direction
from linli.errors import ConfigError, ContractError
from linli.settings import format_validation_error
from linli.topics import check_identifier

RECORD_FIELDS = ("time", "device", "event", "person", "direction", "credential", "reader")
"""Field names of the generic door-controller log (format 1); everything else is an attr."""


def _identifier(value: str, what: str) -> str:
    # check_identifier raises ContractError; pydantic only turns ValueError into field errors
    try:
        return check_identifier(value, what)
    except ContractError as exc:
        raise ValueError(str(exc)) from exc


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogSource(_Section):
    """A door controller's log file that the agent follows like ``tail -F``."""

    type: Literal["log"] = "log"
    device: str
    """Device id for records that do not name their own device."""
    path: Path
    format: Literal["jsonl", "csv"] = "jsonl"
    timezone: str = "Asia/Shanghai"
    """Zone of times written without an offset."""
    readers: dict[str, Direction] = Field(default_factory=dict)
    """Reader number → direction, used when a record has a reader but no direction."""
    fields: dict[str, str] = Field(default_factory=dict)
    """Column renames ``{our_name: their_column}`` for logs that spell fields differently."""

    @field_validator("device")
    @classmethod
    def _device_is_identifier(cls, value: str) -> str:
        return _identifier(value, "device")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("readers", mode="before")
    @classmethod
    def _reader_keys_are_text(cls, value: Any) -> Any:
        # YAML reads {1: in} with an integer key; the log may write the reader either way
        if isinstance(value, dict):
            return {str(key): direction for key, direction in value.items()}
        return value

    @field_validator("fields")
    @classmethod
    def _renames_known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(RECORD_FIELDS))
        if unknown:
            raise ValueError(f"cannot rename {unknown}; known fields are {list(RECORD_FIELDS)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of times written without an offset."""
        return ZoneInfo(self.timezone)


class AgentConfig(_Section):
    """One building's edge agent: where it is and which logs it follows."""

    community: str
    building: str
    agent_id: str = "agent"
    """Device id of the agent's own status topic."""
    sources: list[LogSource] = Field(min_length=1)

    @field_validator("community", "building", "agent_id")
    @classmethod
    def _is_identifier(cls, value: str, info: ValidationInfo) -> str:
        return _identifier(value, info.field_name or "identifier")

    @model_validator(mode="after")
    def _paths_are_unique(self) -> AgentConfig:
        # two sources on one file would spool every line twice under different event ids
        paths = [str(source.path) for source in self.sources]
        duplicates = sorted({p for p in paths if paths.count(p) > 1})
        if duplicates:
            raise ValueError(f"sources follow the same file twice: {duplicates}")
        return self


def parse_agent_config(values: Any, origin: str = "agent configuration") -> AgentConfig:
    """Validate an already-loaded mapping; ConfigError names each bad field."""
    if not isinstance(values, dict):
        raise ConfigError(f"{origin} must hold a mapping")
    try:
        return AgentConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {format_validation_error(exc)}") from exc


def load_agent_config(path: Path | str) -> AgentConfig:
    """Read and validate an agent YAML file; ConfigError says which field is wrong."""
    try:
        values = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read agent configuration {path}: {exc}") from exc
    return parse_agent_config(values, str(path))
