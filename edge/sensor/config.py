"""Configuration of a home gateway's sensors, read over MQTT (``type: sensor-mqtt``).

    - type: sensor-mqtt
      device: h301-gateway            # the gateway: its status topic and health
      url: mqtt://linli:PASSWORD@192.168.10.2:1883
      base_topic: zigbee2mqtt         # Zigbee2MQTT's mqtt.base_topic ("" for other gateways)
      min_interval_s: 60              # a sensor that keeps reporting: one event a minute
      sensors:
        - {name: 301 bathroom motion, device: h301-motion, household: h-301, signal: motion}
        - {name: 301 front door, device: h301-door, household: h-301, signal: contact}
        - {name: 301 kettle, device: h301-kettle, person: r-0042, signal: power, above: 200}
        - {name: 301 water meter, device: h301-water, person: r-0042, signal: water,
           topic: meters/301, field: flow_lpm, above: 0}

A sensor's topic is ``<base_topic>/<name>`` (Zigbee2MQTT publishes each device's state on
its friendly name) unless it gives ``topic``. What counts as activity is the sensor's
``signal`` (see ``Rule``); ``field`` and the condition (``above``, ``equals``,
``increases``) override a signal's defaults, and are required for ``water`` and ``field``.
Each sensor names its home (``household``) or its resident (``person``), exactly one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from edge.config_base import Section, ZonedSection, identifier

__all__ = ["Rule", "SensorMqttSource", "SensorSpec", "Signal", "Test"]

Signal = Literal["motion", "contact", "water", "power", "button", "field"]
Test = Literal["equals", "above", "increases", "change", "present"]

DIRECTORY_KEY = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""Household and resident ids have the directory's form (``linli.directory.Key``)."""
FIELD_PATH = r"^[A-Za-z0-9_@$-]+(?:\.[A-Za-z0-9_@$-]+){0,7}$"
"""A JSON field, dotted for nested objects (``data.flow``)."""
DEFAULT_POWER_W = 10.0
"""Above standby (a TV or kettle on standby draws 0.5-3 W), below any appliance in use."""

_DEFAULT_FIELD: dict[str, str] = {
    "motion": "occupancy", "contact": "contact", "power": "power", "button": "action"}
_CONDITIONS: dict[str, tuple[str, ...]] = {
    # the conditions a signal accepts; the first one applies when none is given
    "motion": ("equals",), "contact": (), "power": ("above",), "button": (),
    "water": ("above", "increases"), "field": ("above", "equals", "increases")}


@dataclass(frozen=True, slots=True)
class Rule:
    """What makes one sensor's report a sign of life.

    - ``equals``: the field equals ``value`` (motion: ``occupancy`` is true). A change to
      it is an edge; each further matching report a repeat (motion sensed again).
    - ``above``: the field, a number, rises above ``value`` (power, flow). Only the upward
      crossing counts: an appliance left on is no sign that anyone is there.
    - ``increases``: the field, a counter, grows (a meter's total volume). Each rise counts,
      as a repeat.
    - ``change``: the field changes value (a door contact opening or closing): an edge.
    - ``present``: the field is a non-empty text (a button's ``action``): a repeat.
    """

    field: str
    test: Test
    value: bool | int | float | str | None = None


class SensorSpec(Section):
    """One sensor of the gateway and whose activity it shows."""

    name: str = Field(min_length=1, max_length=128)
    """The sensor's name: Zigbee2MQTT's friendly name (its topic), shown in health."""
    device: str
    """Device id of the sensor's events."""
    household: str | None = Field(None, pattern=DIRECTORY_KEY)
    """The home the sensor is in (``attrs.household`` of its events)."""
    person: str | None = Field(None, pattern=DIRECTORY_KEY)
    """The resident, where the home has one (``person_id`` of its events)."""
    signal: Signal
    topic: str | None = Field(None, min_length=1, max_length=256)
    """Its own topic; default ``<base_topic>/<name>``."""
    field: str | None = Field(None, pattern=FIELD_PATH)
    above: float | None = None
    equals: bool | int | float | str | None = None
    increases: bool = False
    time_field: str | None = Field(None, pattern=FIELD_PATH)
    """The payload's time of the report, if it differs from the gateway's ``time_field``."""

    @field_validator("device")
    @classmethod
    def _device_is_identifier(cls, value: str) -> str:
        return identifier(value, "device")

    @field_validator("name")
    @classmethod
    def _name_fits_a_topic(cls, value: str) -> str:
        if value != value.strip() or value.startswith("/") or value.endswith("/"):
            raise ValueError("name must not start or end with a space or '/'")
        _check_topic(value, "name")
        return value

    @field_validator("topic")
    @classmethod
    def _topic_is_a_name(cls, value: str | None) -> str | None:
        return None if value is None else _check_topic(value, "topic")

    @model_validator(mode="after")
    def _consistent(self) -> SensorSpec:
        if (self.household is None) == (self.person is None):
            raise ValueError("a sensor names its home (household) or its resident (person), "
                             "exactly one")
        given = [name for name, on in (("above", self.above is not None),
                                        ("equals", self.equals is not None),
                                        ("increases", self.increases)) if on]
        allowed = _CONDITIONS[self.signal]
        wrong = [name for name in given if name not in allowed]
        if wrong:
            accepts = f"accepts only {', '.join(allowed)}" if allowed else "takes no condition"
            raise ValueError(f"signal {self.signal} {accepts}, not {', '.join(wrong)}")
        if len(given) > 1:
            raise ValueError(f"give one condition, not {' and '.join(given)}")
        if self.signal in ("water", "field"):
            if self.field is None:
                raise ValueError(f"signal {self.signal} needs field: the JSON field to watch")
            if not given:
                raise ValueError(f"signal {self.signal} needs a condition: "
                                 f"{' or '.join(allowed)}")
        return self

    @property
    def rule(self) -> Rule:
        """What counts as activity for this sensor, defaults filled in."""
        field = self.field or _DEFAULT_FIELD[self.signal]
        if self.signal == "contact":
            return Rule(field, "change")
        if self.signal == "button":
            return Rule(field, "present")
        if self.increases:
            return Rule(field, "increases")
        if self.above is not None:
            return Rule(field, "above", self.above)
        if self.equals is not None:
            return Rule(field, "equals", self.equals)
        if self.signal == "power":
            return Rule(field, "above", DEFAULT_POWER_W)
        return Rule(field, "equals", True)  # motion


class SensorMqttSource(ZonedSection):
    """A home gateway's MQTT broker and the sensors the agent follows on it."""

    # a rejected url would be quoted, password included, in pydantic's own error text
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    type: Literal["sensor-mqtt"] = "sensor-mqtt"
    url: str = Field(repr=False)  # it may hold the broker's password; show masked_url
    """``mqtt://user:password@host:1883`` (``mqtts://`` for TLS) of the gateway's broker."""
    base_topic: str = Field("zigbee2mqtt", max_length=128)
    """Zigbee2MQTT's base topic: sensors' default topics and ``<base_topic>/bridge/state``;
    empty for a gateway without one (each sensor then gives its ``topic``)."""
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    client_id: str | None = Field(None, min_length=1, max_length=64)
    """MQTT client id on the gateway's broker; default ``linli-<building>-<device>-<random>``
    (two clients with one id would disconnect each other)."""
    min_interval_s: float = Field(60.0, ge=0, le=86400)
    """At most one event per sensor this often from repeated reports (motion sensed again
    and again); an edge (motion after none, a door that moves) is always sent."""
    max_per_hour: int = Field(60, ge=1, le=3600)
    """Hard cap of events per sensor and hour, edges included: a faulty sensor that flaps
    cannot flood the pipeline."""
    stale_after_s: float = Field(6 * 3600.0, gt=0)
    """A sensor not heard from this long is listed as stale in the health figures."""
    time_field: str | None = Field("last_seen", pattern=FIELD_PATH)
    """Payload field holding the report's time (Zigbee2MQTT's ``last_seen``, ISO 8601 or
    epoch milliseconds); without it, events take the time the agent received them."""
    reconnect_max_s: int = Field(60, ge=1, le=3600)
    """Reconnection to the gateway's broker backs off from 1 s up to this."""
    sensors: list[SensorSpec] = Field(min_length=1, max_length=500)

    @field_validator("url")
    @classmethod
    def _url_is_a_broker(cls, value: str) -> str:
        check_broker_url(value)
        return value.strip()

    @field_validator("protocol", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `protocol: 5` as a number
        return str(value) if isinstance(value, int | float) else value

    @field_validator("base_topic")
    @classmethod
    def _base_topic(cls, value: str) -> str:
        value = value.strip().strip("/")
        return _check_topic(value, "base_topic") if value else value

    @model_validator(mode="after")
    def _sensors_are_distinct(self) -> SensorMqttSource:
        names = [sensor.name for sensor in self.sensors]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"sensors named twice: {twice}")
        if self.device in {sensor.device for sensor in self.sensors}:
            raise ValueError(f"device {self.device!r} is the gateway's; give sensors their own")
        if not self.base_topic:
            missing = [sensor.name for sensor in self.sensors if sensor.topic is None]
            if missing:
                raise ValueError(f"without base_topic every sensor needs its topic: {missing}")
        elif self.bridge_topic in {self.topic_of(sensor) for sensor in self.sensors}:
            raise ValueError(f"{self.bridge_topic} is the gateway's own state, not a sensor")
        return self

    @property
    def bridge_topic(self) -> str | None:
        """Where Zigbee2MQTT says whether it is online, or None without a base topic."""
        return f"{self.base_topic}/bridge/state" if self.base_topic else None

    def topic_of(self, sensor: SensorSpec) -> str:
        """The topic a sensor's reports arrive on."""
        return sensor.topic or f"{self.base_topic}/{sensor.name}"

    def time_field_of(self, sensor: SensorSpec) -> str | None:
        """The payload field with the report's time for this sensor, or None."""
        return sensor.time_field or self.time_field

    @property
    def masked_url(self) -> str:
        """The broker's URL with its password hidden, for logs and status."""
        return mask_broker_url(self.url)


def check_broker_url(url: str) -> None:
    """ValueError, naming what is wrong but never the password, unless ``url`` is an
    ``mqtt://`` or ``mqtts://`` URL with a host and a valid port."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError("url must start with mqtt:// or mqtts://")
    try:
        port = parts.port
    except ValueError:
        # the error would quote the port, which may be part of a password
        raise ValueError(f"url {mask_broker_url(url)!r} has a malformed host or port "
                         "(percent-encode / ? # @ in a password)") from None
    if not parts.hostname:
        raise ValueError(f"url {mask_broker_url(url)!r} has no host")
    if port == 0:
        raise ValueError(f"url {mask_broker_url(url)!r} has port 0")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"url {mask_broker_url(url)!r}: a broker URL has no path or query")


def mask_broker_url(url: str) -> str:
    """``mqtt://user:***@host:port``: the user stays (it tells which account), the password
    never shows."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return "***"
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return url.strip()
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def _check_topic(value: str, what: str) -> str:
    if any(char in value for char in "+#\x00"):
        raise ValueError(f"{what} must not contain MQTT wildcards (+, #) or NUL")
    if len(value.encode()) > 1024:
        raise ValueError(f"{what} is too long for an MQTT topic")
    return value
