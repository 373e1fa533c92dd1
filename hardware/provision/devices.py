"""A building's devices as the installer lists them, and the agent configuration they make.

The devices file (YAML)::

    community: juxin
    building: b01
    agent_id: agent                  # optional, default "agent"
    devices:
      - id: b01-u1-door
        profile: hikvision-ds-k1t    # a family in hardware/profiles/
        name: 1栋1单元门禁
        host: 192.168.1.64           # any other key is a field of the profile's source type,
        username: admin              #   set for this device over the profile's defaults
      - {id: b01-u2-door, profile: generic-log, name: 1栋2单元门禁}

``plan_building`` merges each device over its profile, validates every source on its own
(errors name the device's entry: ``devices[0] (b01-u1-door).host: Field required``) and then
the whole agent configuration with ``edge.config.parse_agent_config``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge.config import AgentConfig, parse_agent_config
from edge.config_base import identifier
from edge.sensor.config import SensorMqttSource
from hardware.profiles import PER_DEVICE_KEYS, ProfileCatalog, source_model
from linli.errors import ConfigError


class DeviceEntry(BaseModel):
    """One device of the building; keys beyond these are its source settings."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    profile: str
    name: str | None = None
    kind: Literal["door", "camera", "sensor"] | None = None
    """Registered kind; by default ``camera`` for camera profiles, ``sensor`` for a home
    gateway's (``sensor-mqtt``), else ``door``."""

    @field_validator("id")
    @classmethod
    def _is_identifier(cls, value: str) -> str:
        return identifier(value, "device id")

    @property
    def settings(self) -> dict[str, Any]:
        """The device's own source settings (everything not named above)."""
        return dict(self.model_extra or {})


class DevicesFile(BaseModel):
    """The installer's file for one building."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    community: str | None = None
    building: str | None = None
    agent_id: str = "agent"
    agent_name: str | None = None
    devices: list[DeviceEntry] = Field(min_length=1)

    @field_validator("community", "building", "agent_id")
    @classmethod
    def _is_identifier(cls, value: str | None) -> str | None:
        return None if value is None else identifier(value, "identifier")


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """A row of the ``devices`` table, registered by provisioning."""

    community: str
    building: str
    id: str
    kind: str
    name: str | None


@dataclass(frozen=True)
class BuildingPlan:
    """What provisioning one building writes: the agent's configuration and the devices."""

    agent: AgentConfig
    agent_values: dict[str, Any]
    """The configuration as written to the agent's YAML (defaults left implicit)."""
    devices: list[DeviceRow]

    @property
    def community(self) -> str:
        return self.agent.community

    @property
    def building(self) -> str:
        return self.agent.building


def load_devices_file(path: Path) -> DevicesFile:
    """Read the installer's devices file; ConfigError names the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read devices file {path}: {exc}") from exc
    return parse_devices_file(raw, str(path))


def parse_devices_file(raw: Any, origin: str = "devices file") -> DevicesFile:
    """Validate an already-loaded devices mapping."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: must hold a mapping with a 'devices' list")
    try:
        parsed = DevicesFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_describe(exc)}") from exc
    twice = sorted(device for device, n in Counter(d.id for d in parsed.devices).items() if n > 1)
    if twice:
        raise ConfigError(f"{origin}: devices listed twice: {twice}")
    if parsed.agent_id in {d.id for d in parsed.devices}:
        raise ConfigError(f"{origin}: agent_id {parsed.agent_id!r} is also a device id")
    return parsed


def plan_building(devices: DevicesFile, catalog: ProfileCatalog, *,
                  community: str | None = None, building: str | None = None,
                  origin: str = "devices file") -> BuildingPlan:
    """Merge every device over its profile and validate the agent configuration."""
    community = _one_of(community, devices.community, "community", origin)
    building = _one_of(building, devices.building, "building", origin)
    sources: list[dict[str, Any]] = []
    rows = [DeviceRow(community, building, devices.agent_id, "agent",
                      devices.agent_name or f"{building} edge agent")]
    problems: list[str] = []
    for index, entry in enumerate(devices.devices):
        where = f"devices[{index}] ({entry.id})"
        try:
            profile = catalog.get(entry.profile)
        except ConfigError as exc:
            problems.append(f"{where}.profile: {exc}")
            continue
        own = entry.settings
        clash = [key for key in PER_DEVICE_KEYS if key in own]
        if clash:
            problems.append(f"{where}: {clash} come from the profile and the id, not the entry")
            continue
        values = profile.source_values(entry.id, own, community=community, building=building)
        problems += _check_source(values, where)
        sources.append(values)
        rows.append(DeviceRow(community, building, entry.id, entry.kind or profile.kind,
                              entry.name))
    if problems:
        raise ConfigError(f"{origin}: " + "; ".join(problems))
    agent_values = {"community": community, "building": building,
                    "agent_id": devices.agent_id, "sources": sources}
    agent = parse_agent_config(agent_values, f"{origin} (agent configuration)")
    return BuildingPlan(agent, agent_values, rows + _gateway_sensors(agent))


def _gateway_sensors(agent: AgentConfig) -> list[DeviceRow]:
    """A home gateway's sensors are devices of their own: their events name them."""
    rows: dict[str, DeviceRow] = {}
    for source in agent.sources:
        if isinstance(source, SensorMqttSource):
            for sensor in source.sensors:
                rows.setdefault(sensor.device, DeviceRow(agent.community, agent.building,
                                                         sensor.device, "sensor", sensor.name))
    return list(rows.values())


def _check_source(values: dict[str, Any], where: str) -> list[str]:
    try:
        source_model(values["type"]).model_validate(values)
    except ValidationError as exc:
        return [_where_what(err, where) for err in exc.errors()]
    return []


def _one_of(given: str | None, in_file: str | None, what: str, origin: str) -> str:
    if given is not None and in_file is not None and given != in_file:
        raise ConfigError(f"{origin}: --{what} {given} but the file says {what}: {in_file}")
    chosen = given or in_file
    if chosen is None:
        raise ConfigError(f"{origin}: no {what}: give it in the file or with --{what}")
    try:
        return identifier(chosen, what)
    except ValueError as exc:
        raise ConfigError(f"{origin}: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    return "; ".join(_where_what(err) for err in exc.errors())


def _where_what(err: Any, prefix: str = "") -> str:
    # location and message only: a device's settings may hold its password
    where = ".".join(([prefix] if prefix else []) + [str(p) for p in err["loc"]])
    return f"{where or '(file)'}: {err['msg']}"
