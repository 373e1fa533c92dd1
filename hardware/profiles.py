"""Device profiles: what a family of terminals speaks and how the edge agent is set up for it.

One YAML file per family in ``hardware/profiles/`` (shipped with the package)::

    family: hikvision-ds-k1t
    vendor: hikvision
    models: [DS-K1T671M, DS-K1T341AM]
    protocol: hikvision-isapi      # an edge source type (edge.sources.FACTORIES)
    defaults: {port: 80, mode: stream, readers: {"1": in, "2": out}}
    codes: {"5.75": passage}       # optional: vendor code -> our event kind
    notes: "..."

``defaults`` are merged under each device's own values when a building is provisioned.
They are partial by nature (a profile cannot know a terminal's address), so a profile is
checked in two steps: at load time every key must be a field of the protocol's source model
and every value must validate there (only the fields the installer supplies per device may
be missing); at provisioning time the merged source is validated as a whole.

String defaults may name ``{device}``, ``{building}`` or ``{community}``: they are replaced
per device (``path: /var/lib/linli/logs/{device}.jsonl``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge.config import SourceConfig
from edge.config_base import identifier
from edge.sources import FACTORIES
from linli.contract import EventKind
from linli.errors import ConfigError

__all__ = ["Profile", "ProfileCatalog", "load_profile", "load_profiles", "source_model"]

PER_DEVICE_KEYS = ("type", "device")
"""Source keys a profile may not set: the protocol decides the type, the installer the id."""
PLACEHOLDERS = ("device", "building", "community")
CODE_TARGETS = (*(kind.value for kind in EventKind), "ignore")
"""What a vendor code may become: one of our kinds (linli.contract.EventKind), or ``ignore``."""


class Profile(BaseModel):
    """One device family's profile file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str
    vendor: str
    models: list[str] = Field(min_length=1)
    protocol: str
    defaults: dict[str, Any] = Field(default_factory=dict)
    codes: dict[str, str] = Field(default_factory=dict)
    """Vendor code → one of our event kinds, or ``ignore`` (read and counted, not sent)."""
    notes: str = ""

    @field_validator("family", "vendor")
    @classmethod
    def _is_identifier(cls, value: str) -> str:
        return identifier(value, "name")

    @field_validator("models")
    @classmethod
    def _models_named(cls, value: list[str]) -> list[str]:
        if any(not model.strip() for model in value):
            raise ValueError("model names must not be empty")
        return value

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, value: str) -> str:
        if value not in FACTORIES:
            raise ValueError(f"unknown protocol {value!r}; edge source types are "
                             f"{sorted(FACTORIES)}")
        return value

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_are_text(cls, value: Any) -> Any:
        # YAML reads {25: passage} with an integer key; vendor codes are names, not numbers
        if isinstance(value, dict):
            return {str(key): kind for key, kind in value.items()}
        return value

    @field_validator("codes")
    @classmethod
    def _codes_name_our_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = [f"{code!r}: {kind!r}" for code, kind in value.items() if kind not in CODE_TARGETS]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} is not one of {', '.join(CODE_TARGETS)}")
        return value

    @property
    def kind(self) -> str:
        """The device kind registered for this family (``devices.kind``)."""
        return {"camera": "camera", "hikvision-counting": "camera", "dahua-counting": "camera",
                "sensor-mqtt": "sensor"}.get(self.protocol, "door")

    def source_values(self, device: str, overrides: Mapping[str, Any], *,
                      community: str, building: str) -> dict[str, Any]:
        """The source entry for one device: defaults (placeholders filled), the profile's
        codes, then the device's own values on top (its ``codes`` add to the profile's)."""
        names = {"device": device, "building": building, "community": community}
        values: dict[str, Any] = {"type": self.protocol, "device": device}
        values.update({key: _fill(value, names) for key, value in self.defaults.items()})
        own = dict(overrides)
        if self.codes or "codes" in own:
            values["codes"] = {**self.codes, **dict(own.pop("codes", None) or {})}
        values.update(own)
        return values


def _fill(value: Any, names: Mapping[str, str]) -> Any:
    if not isinstance(value, str):
        return value
    for name in PLACEHOLDERS:
        value = value.replace("{" + name + "}", names[name])
    return value


def source_model(protocol: str) -> type[BaseModel]:
    """The configuration model of an edge source type (``edge/<type>/config.py``)."""
    union = typing.get_args(SourceConfig)[0]
    for model in typing.get_args(union):
        if model.model_fields["type"].default == protocol:
            return typing.cast(type[BaseModel], model)
    raise ConfigError(f"no source configuration model for protocol {protocol!r}")


def check_defaults(profile: Profile) -> list[str]:
    """Problems with ``defaults`` and ``codes`` against the protocol's source model,
    one ``field: message`` each; empty when the profile fits."""
    model = source_model(profile.protocol)
    fields = model.model_fields
    problems = [f"defaults.{key}: set per device, not in a profile"
                for key in profile.defaults if key in PER_DEVICE_KEYS]
    unknown = [key for key in profile.defaults if key not in fields and key not in PER_DEVICE_KEYS]
    problems += [f"defaults.{key}: not a field of {profile.protocol} sources "
                 f"(fields: {', '.join(sorted(set(fields) - set(PER_DEVICE_KEYS)))})"
                 for key in unknown]
    if profile.codes and "codes" not in fields:
        problems.append(f"codes: {profile.protocol} sources take no vendor codes "
                        "(their configuration has no 'codes' field)")
    if problems:
        return problems
    probe: dict[str, Any] = {"type": profile.protocol, "device": "probe",
                             **{key: _fill(value, dict.fromkeys(PLACEHOLDERS, "probe"))
                                for key, value in profile.defaults.items()}}
    if profile.codes:
        probe["codes"] = dict(profile.codes)
    try:
        model.model_validate(probe)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(part) for part in err["loc"]]
            # a field the installer gives per device (a host, a path) may be missing here
            if err["type"] == "missing" and loc and loc[0] not in probe:
                continue
            section = "codes" if loc[:1] == ["codes"] else "defaults"
            where = ".".join(loc[1:] if section == "codes" else loc)
            problems.append(f"{section}{'.' + where if where else ''}: {err['msg']}")
    return problems


def load_profile(path: Path) -> Profile:
    """Read and check one profile file; ConfigError names the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a profile must hold a mapping (family, vendor, models, "
                          "protocol, defaults, codes, notes)")
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
                            for err in exc.errors())
        raise ConfigError(f"{path}: {details}") from exc
    problems = check_defaults(profile)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return profile


@dataclass(frozen=True, slots=True)
class ProfileProblem:
    """A profile file that did not load: where, which family it meant (if readable), why."""

    path: Path
    family: str | None
    message: str

    def __str__(self) -> str:
        return self.message if self.message.startswith(str(self.path)) \
            else f"{self.path}: {self.message}"


@dataclass(frozen=True)
class ProfileCatalog:
    """The profiles that loaded, by family, and the files that did not."""

    profiles: dict[str, Profile]
    files: dict[str, Path]
    problems: list[ProfileProblem] = field(default_factory=list)

    def get(self, family: str) -> Profile:
        """The profile of ``family``; ConfigError when it is unknown or its file is broken."""
        if family in self.profiles:
            return self.profiles[family]
        for problem in self.problems:
            if problem.family == family:
                raise ConfigError(f"profile {family!r} is broken: {problem}")
        known = ", ".join(sorted(self.profiles)) or "none"
        raise ConfigError(f"unknown profile {family!r} (known: {known})")


def packaged_dir() -> Path:
    """``hardware/profiles/``, the profiles shipped with Linli."""
    return Path(str(resources.files("hardware") / "profiles"))


def load_profiles(extra_dirs: Iterable[Path] = (), *, packaged: bool = True) -> ProfileCatalog:
    """Load the packaged profiles and those in ``extra_dirs`` (``*.yaml``, ``*.yml``).

    A broken file does not hide the others: it is listed in ``problems`` (file and field),
    and ``get`` refuses its family.
    """
    dirs = [(packaged_dir(), True)] if packaged else []
    dirs += [(Path(directory), False) for directory in extra_dirs]
    catalog = ProfileCatalog({}, {})
    for directory, optional in dirs:
        if not directory.is_dir():
            if not optional:
                catalog.problems.append(ProfileProblem(directory, None,
                                                       "not a folder of profiles"))
            continue
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            _add(catalog, path)
    return catalog


def _add(catalog: ProfileCatalog, path: Path) -> None:
    try:
        profile = load_profile(path)
    except ConfigError as exc:
        catalog.problems.append(ProfileProblem(path, _peek_family(path), str(exc)))
        return
    if profile.family in catalog.profiles:
        catalog.problems.append(ProfileProblem(
            path, None, f"family {profile.family!r} is already defined by "
                        f"{catalog.files[profile.family]}"))
        return
    catalog.profiles[profile.family] = profile
    catalog.files[profile.family] = path


def _peek_family(path: Path) -> str | None:
    # only to tell "your profile is broken" from "no such profile" when one is asked for
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    family = raw.get("family") if isinstance(raw, dict) else None
    return family if isinstance(family, str) else None
