"""The edge agent's configuration: one YAML file per building (format 2 of the brief).

    community: juxin
    building: b01
    agent_id: agent
    sources:
      - {type: log, device: b01-u1-door, path: /var/log/door.jsonl, format: jsonl,
         timezone: Asia/Shanghai, readers: {"1": in, "2": out}, fields: {}}

Each source type has its own model (``edge/<type>/config.py``), chosen by ``type``: ``log``
(a generic controller's log file, below), ``camera``, ``hikvision-isapi``, ``zkteco-push``,
``zkteco-tcp``, ``dahua``, ``sensor-mqtt``, and the cameras that count for themselves,
``hikvision-counting`` and ``dahua-counting`` (``edge/camcount/``).

Every section is a small pydantic model that forbids unknown keys, so a typo is an error
that names its field (``sources.0.format: ...``) rather than a silently ignored option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from edge.camcount.config import DahuaCountingSource, HikvisionCountingSource
from edge.camera.config import CameraSource
from edge.config_base import DoorSection, Section, identifier
from edge.dahua.config import DahuaSource
from edge.hikvision.config import HikvisionSource
from edge.sensor.config import SensorMqttSource
from edge.vendors.config import parse_listen
from edge.zkteco.config import ZktecoPushSource, ZktecoTcpSource
from linli.errors import ConfigError
from linli.settings import Settings, format_validation_error

RECORD_FIELDS = ("time", "device", "event", "person", "direction", "credential", "reader")
"""Field names of the generic door-controller log (format 1); everything else is an attr."""


class LogSource(DoorSection):
    """A door controller's log file that the agent follows like ``tail -F``."""

    type: Literal["log"] = "log"
    path: Path
    format: Literal["jsonl", "csv"] = "jsonl"
    fields: dict[str, str] = Field(default_factory=dict)
    """Column renames ``{our_name: their_column}`` for logs that spell fields differently."""

    @field_validator("fields")
    @classmethod
    def _renames_known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(RECORD_FIELDS))
        if unknown:
            raise ValueError(f"cannot rename {unknown}; known fields are {list(RECORD_FIELDS)}")
        return value


SourceConfig = Annotated[
    LogSource | CameraSource | HikvisionSource | ZktecoPushSource | ZktecoTcpSource
    | DahuaSource | SensorMqttSource | HikvisionCountingSource | DahuaCountingSource,
    Field(discriminator="type"),
]
"""One entry of the agent's ``sources``, chosen by its ``type``."""


class AgentConfig(Section):
    """One building's edge agent: where it is and which logs it follows."""

    community: str
    building: str
    agent_id: str = "agent"
    """Device id of the agent's own status topic."""
    sources: list[SourceConfig] = Field(min_length=1)

    @field_validator("sources", mode="before")
    @classmethod
    def _log_is_the_default_type(cls, value: Any) -> Any:
        # the skeleton's configurations name no type: every source was a log
        if isinstance(value, list):
            return [{"type": "log", **item} if isinstance(item, dict) and "type" not in item
                    else item for item in value]
        return value

    @field_validator("community", "building", "agent_id")
    @classmethod
    def _is_identifier(cls, value: str, info: ValidationInfo) -> str:
        return identifier(value, info.field_name or "identifier")

    @model_validator(mode="after")
    def _sources_are_distinct(self) -> AgentConfig:
        # two sources on one file would spool every line twice under different event ids
        paths = [str(source.path) for source in self.sources if isinstance(source, LogSource)]
        duplicates = sorted({p for p in paths if paths.count(p) > 1})
        if duplicates:
            raise ValueError(f"sources follow the same file twice: {duplicates}")
        # a log may carry several devices' records, but any other source *is* its device
        devices = [source.device for source in self.sources
                   if not isinstance(source, LogSource)]
        # a gateway's sensors are devices too (one sensor device may carry two signals)
        devices += [device for source in self.sources if isinstance(source, SensorMqttSource)
                    for device in sorted({sensor.device for sensor in source.sensors})]
        twice = sorted({d for d in devices if devices.count(d) > 1})
        if twice:
            raise ValueError(f"two sources claim the same device: {twice}")
        self._listeners_are_distinct()
        return self

    def _listeners_are_distinct(self) -> None:
        # ZKTeco terminals share a listener and are told apart by serial number; a Hikvision
        # push listener is its terminal's own. Port 0 (any free port) never clashes.
        zkteco = [(source.address, source.serial) for source in self.sources
                  if isinstance(source, ZktecoPushSource)]
        twice = sorted({f"{a[0]}:{a[1]} SN={sn}" for a, sn in zkteco
                        if zkteco.count((a, sn)) > 1})
        if twice:
            raise ValueError(f"two zkteco-push sources expect the same terminal: {twice}")
        ports = [parse_listen(source.listen)[1] for source in self.sources
                 if isinstance(source, HikvisionSource) and source.listen is not None
                 and source.mode == "push"]
        taken = {address[1] for address, _ in zkteco}
        clash = sorted({port for port in ports if port and (ports.count(port) > 1
                                                            or port in taken)})
        if clash:
            raise ValueError(f"push listeners bind the same port twice: {clash}")


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


def agent_config_path(given: Path | None, settings: Settings) -> Path:
    """The agent configuration to use: ``--config`` if given, else the settings'
    ``edge.config``; ConfigError when there is neither."""
    path = given or settings.edge.config
    if path is None:
        raise ConfigError("no agent configuration: pass --config AGENT.yaml "
                          "or set LINLI_EDGE__CONFIG")
    return path
