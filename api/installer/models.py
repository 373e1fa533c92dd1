"""Pydantic models of the installer's console."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

FieldKind = Literal["text", "secret", "number", "structured"]


class ProfileField(BaseModel):
    """A setting the installer gives per device (the profile cannot know it)."""

    name: str
    kind: FieldKind
    """``secret``: never shown again once saved; ``structured``: a mapping or list (JSON)."""
    required: bool


class ProfileRead(BaseModel):
    """A device family the console can adopt devices as (no secret defaults in here)."""

    family: str
    vendor: str
    models: list[str]
    protocol: str
    kind: str
    fields: list[ProfileField]
    defaults: dict[str, Any]
    notes: str


class AdoptRequest(BaseModel):
    """A device adopted (or set up again) from a profile, with its own settings.

    A secret setting left out (or empty) keeps the one stored before."""

    profile: str = Field(min_length=1, max_length=100)
    name: str | None = Field(None, max_length=200)
    kind: Literal["door", "camera", "sensor"] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class InstalledDevice(BaseModel):
    """A device as adopted: its settings without secrets, and which secrets are set."""

    device: str
    profile: str
    name: str | None = None
    kind: str
    settings: dict[str, Any]
    secrets: dict[str, bool]
    """Secret settings (a terminal's password, a URL with credentials): whether each is
    set; their values are never returned."""
    updated_by: str
    updated_at: dt.datetime


class Credentials(BaseModel):
    """The agent's new MQTT credentials: shown once, kept nowhere in plain text."""

    username: str
    env: str
    """The agent's ``.env`` file (``LINLI_MQTT_URL`` with its password)."""
    agent_yaml: str
    """The agent's configuration with its devices' secrets, to install with the env file."""
    broker_updated: bool
    """The broker's password file and ACL were written (``LINLI_API__PROVISION_DIR``)."""
    passwd_line: str | None = None
    """When they were not: the password-file line (a hash) to add to the broker's."""


class FrameStored(BaseModel):
    """A camera's frame was stored."""

    content_type: str
    bytes: int


class TestEvent(BaseModel):
    """An event of the device under test, as an installer may see it."""

    event_id: uuid.UUID
    occurred_at: dt.datetime
    received_at: dt.datetime
    kind: str
    direction: str | None = None
    count: int
    confidence: float
    source: str
    attrs: dict[str, Any] = Field(default_factory=dict)
