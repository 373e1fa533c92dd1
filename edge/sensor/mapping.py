"""A sensor's reports → ``activity`` events: what counts, and how often it is sent.

Pure: no I/O, no clock (each report carries the time it was received). ``ActivityTracker``
remembers per sensor what it last reported and when it last sent an event, and for each
report received on a sensor's topic says: an event, nothing (and why), or a reject.

Three rules keep the events few and honest, because a false sign of life is worse than a
missing one (it would hide a resident who needs help):

- *edges* (motion after none, a door that moves, power rising above the threshold) are
  always sent; *repeats* (motion sensed again while it lasts, a meter that keeps counting,
  a button pressed again) at most once per ``min_interval_s``; nothing beyond
  ``max_per_hour`` per sensor, edges included;
- a retained message is what the sensor said some time ago: it sets what the next report
  is compared with, and is never activity itself; a repeat carrying the same time as the
  previous report (Zigbee2MQTT republishing its cached state) is not new either;
- a state first seen (power already above the threshold when the agent starts) is a
  baseline, not an edge — except motion, whose report itself means a movement was sensed.

An event's time is the report's own (``time_field``, e.g. Zigbee2MQTT's ``last_seen``)
when it has one, else when the agent received it; a report time more than
``MAX_AHEAD_S`` ahead of that (a gateway clock gone wrong) is not trusted.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from edge.rejects import RejectedLine
from edge.sensor.config import Rule, SensorMqttSource, SensorSpec
from edge.vendors.payload import BadPayload, parse_device_time, utf8
from linli.contract import Event, EventKind, Source, new_event_id

__all__ = ["ActivityTracker", "Decision", "Received", "Stats", "Trigger", "decode_report",
           "judge", "read_field", "report_time"]

MAX_REPORT_BYTES = 16 * 1024
"""A sensor's state is a few hundred bytes; anything far larger is not a sensor report."""
MAX_AHEAD_S = 300.0
HOUR = dt.timedelta(hours=1)
RAW_KEPT = 2048
MISSING: Any = object()


class Trigger(StrEnum):
    """Why a report is a sign of life."""

    EDGE = "edge"
    """A change into activity: always sent (within ``max_per_hour``)."""
    REPEAT = "repeat"
    """Activity again: sent at most once per ``min_interval_s``."""


@dataclass(frozen=True, slots=True)
class Received:
    """One MQTT message from the gateway's broker, as the client received it."""

    topic: str
    payload: bytes
    received_at: dt.datetime
    """When the agent received it (aware, UTC)."""
    retained: bool = False
    """Delivered from the broker's store on subscribing: old news, not a live report."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What one report means for one sensor: an event, or why not, or a reject."""

    sensor: str
    event: Event | None = None
    ignored: str | None = None
    rejected: RejectedLine | None = None


@dataclass
class Stats:
    """What the tracker counted since the agent started."""

    messages: int = 0
    activity: int = 0
    ignored: int = 0
    rate_limited: int = 0
    capped: int = 0
    rejected: int = 0
    clock_ahead: int = 0


@dataclass
class _Memory:
    """What the tracker keeps per sensor."""

    state: Any = MISSING
    """The rule's last state (active or not; or the last value for change/increases)."""
    report_time: dt.datetime | None = None
    heard_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    sent: deque[dt.datetime] = field(default_factory=deque)
    """Times of the events sent within the last hour."""


def decode_report(payload: bytes) -> dict[str, Any]:
    """A report's JSON object; BadPayload says why it is not one."""
    if len(payload) > MAX_REPORT_BYTES:
        raise BadPayload(f"report is {len(payload)} bytes; at most {MAX_REPORT_BYTES}")
    text = utf8(payload, "report")
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise BadPayload("report is nested too deeply") from exc
    except ValueError as exc:
        raise BadPayload(f"report is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadPayload(f"report must be a JSON object, not {type(body).__name__} "
                         "(Zigbee2MQTT: set advanced output to json)")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_field(body: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of ``body``, or ``MISSING``."""
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def report_time(value: Any, zone: ZoneInfo, what: str) -> dt.datetime:
    """A report's time: ISO 8601 (without an offset: in ``zone``) or epoch milliseconds
    (a number below 10^11 is taken as seconds); BadPayload when it is neither."""
    if isinstance(value, str):
        return parse_device_time(value, zone, what).astimezone(dt.UTC)
    if not _is_number(value):
        raise BadPayload(f"{what} must be an ISO 8601 time or epoch milliseconds, "
                         f"not {_show(value)}")
    seconds = value / 1000 if value >= 1e11 else value
    if not 946_684_800 <= seconds < 4_102_444_800:  # 2000 to 2100
        raise BadPayload(f"{what} {_show(value)} is not a time between 2000 and 2100")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def judge(rule: Rule, value: Any, state: Any) -> tuple[Trigger | None, Any]:
    """The trigger (or None) of ``value`` against the sensor's previous ``state``, and its
    new state; BadPayload when ``value`` has the wrong type for the rule."""
    if rule.test == "equals":
        active = _matches(value, rule)
        if not active:
            return None, False
        return (Trigger.REPEAT if state is True else Trigger.EDGE), True
    if rule.test == "above":
        number = _number(value, rule.field)
        above = number > float(rule.value or 0)
        edge = above and state is False  # first seen above is a baseline, not an edge
        return (Trigger.EDGE if edge else None), above
    if rule.test == "increases":
        number = _number(value, rule.field)
        grew = state is not MISSING and number > state
        return (Trigger.REPEAT if grew else None), number  # a drop: meter reset, new base
    if rule.test == "change":
        if not isinstance(value, bool | str) and not _is_number(value):
            raise BadPayload(f"{rule.field} must be true/false, a number or text, "
                             f"not {_show(value)}")
        changed = state is not MISSING and value != state
        return (Trigger.EDGE if changed else None), value
    # present: a button's action; Zigbee2MQTT may follow each with an empty one
    if value == "":
        return None, state
    if not isinstance(value, str):
        raise BadPayload(f"{rule.field} must be text, not {_show(value)}")
    return Trigger.REPEAT, state


def _matches(value: Any, rule: Rule) -> bool:
    expected = rule.value
    if isinstance(expected, bool):
        if not isinstance(value, bool):
            raise BadPayload(f"{rule.field} must be true or false, not {_show(value)}")
    elif isinstance(expected, int | float):
        value = _number(value, rule.field)
    elif not isinstance(value, str):
        raise BadPayload(f"{rule.field} must be text, not {_show(value)}")
    return bool(value == expected)


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _number(value: Any, what: str) -> float:
    if not _is_number(value):
        raise BadPayload(f"{what} must be a number, not {_show(value)}")
    return float(value)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


class ActivityTracker:
    """Decides, report by report, which become activity events (see the module docstring).

    Not thread-safe: one thread (the source's) feeds it.
    """

    def __init__(self, config: SensorMqttSource, *, community: str, building: str) -> None:
        self.config = config
        self.community = community
        self.building = building
        self.stats = Stats()
        self._topics: dict[str, list[SensorSpec]] = {}
        for sensor in config.sensors:
            self._topics.setdefault(config.topic_of(sensor), []).append(sensor)
        self._memory = {sensor.name: _Memory() for sensor in config.sensors}
        self._numbered = 0

    @property
    def topics(self) -> list[str]:
        """The sensors' topics, each once."""
        return list(self._topics)

    def observe(self, message: Received) -> list[Decision]:
        """What ``message`` means for each sensor on its topic (none for other topics)."""
        sensors = self._topics.get(message.topic, [])
        if not sensors:
            return []
        self.stats.messages += 1
        self._numbered += 1
        if not message.retained:
            for sensor in sensors:
                self._memory[sensor.name].heard_at = message.received_at
        try:
            body = decode_report(message.payload)
        except BadPayload as exc:
            self.stats.rejected += 1
            return [Decision(sensors[0].name, rejected=self._reject(message, str(exc)))]
        return [self._decide(sensor, body, message) for sensor in sensors]

    def _decide(self, sensor: SensorSpec, body: dict[str, Any], message: Received) -> Decision:
        memory = self._memory[sensor.name]
        rule = sensor.rule
        value = read_field(body, rule.field)
        if value is MISSING or value is None:  # Zigbee2MQTT sends null for "not known yet"
            return self._ignore(sensor, f"no {rule.field} in the report")
        try:
            at = self._time(sensor, body, message.received_at)
            trigger, state = judge(rule, value, memory.state)
        except BadPayload as exc:
            self.stats.rejected += 1
            return Decision(sensor.name, rejected=self._reject(message, f"{sensor.name}: {exc}"))
        if message.retained:
            memory.state, memory.report_time = state, at
            return self._ignore(sensor, "retained: an earlier state, not a live report")
        same_time = at is not None and at == memory.report_time
        memory.state, memory.report_time = state, at
        if trigger is None:
            return self._ignore(sensor, "no activity")
        if same_time and trigger is Trigger.REPEAT:
            return self._ignore(sensor, "the same report again (same time)")
        return self._send(sensor, memory, trigger, at or message.received_at, message.received_at)

    def _send(self, sensor: SensorSpec, memory: _Memory, trigger: Trigger,
              occurred_at: dt.datetime, now: dt.datetime) -> Decision:
        while memory.sent and now - memory.sent[0] >= HOUR:
            memory.sent.popleft()
        if len(memory.sent) >= self.config.max_per_hour:
            self.stats.capped += 1
            return self._ignore(sensor, f"capped: {self.config.max_per_hour} events this hour")
        if (trigger is Trigger.REPEAT and memory.sent_at is not None
                and (now - memory.sent_at).total_seconds() < self.config.min_interval_s):
            self.stats.rate_limited += 1
            return self._ignore(sensor, "rate-limited: sent one less than min_interval_s ago")
        memory.sent_at = now
        memory.sent.append(now)
        self.stats.activity += 1
        return Decision(sensor.name, event=self._event(sensor, occurred_at))

    def _time(self, sensor: SensorSpec, body: dict[str, Any],
              received_at: dt.datetime) -> dt.datetime | None:
        name = self.config.time_field_of(sensor)
        value = MISSING if name is None else read_field(body, name)
        if value is MISSING or value is None:
            return None
        at = report_time(value, self.config.zone, name or "time")
        if (at - received_at).total_seconds() > MAX_AHEAD_S:
            self.stats.clock_ahead += 1  # the gateway's clock is wrong: use ours
            return None
        return at

    def _event(self, sensor: SensorSpec, occurred_at: dt.datetime) -> Event:
        attrs: dict[str, Any] = {"signal": sensor.signal, "sensor": sensor.name}
        if sensor.household is not None:
            attrs["household"] = sensor.household
        return Event(event_id=new_event_id(), occurred_at=occurred_at,
                     community=self.community, building=self.building, device=sensor.device,
                     kind=EventKind.ACTIVITY, person_id=sensor.person, source=Source.SENSOR,
                     attrs=attrs)

    def _ignore(self, sensor: SensorSpec, why: str) -> Decision:
        self.stats.ignored += 1
        return Decision(sensor.name, ignored=why)

    def _reject(self, message: Received, reason: str) -> RejectedLine:
        return RejectedLine(f"sensor-mqtt:{self.config.device}:{message.topic}", self._numbered,
                            message.payload[:RAW_KEPT], reason)

    def heard_at(self) -> dict[str, dt.datetime | None]:
        """When each sensor was last heard from (a live report, good or bad), by name."""
        return {name: memory.heard_at for name, memory in self._memory.items()}

    def stale(self, now: dt.datetime, since: dt.datetime) -> list[str]:
        """Sensors not heard from for ``stale_after_s`` (counting from ``since``, the
        source's start, for those never heard), by name."""
        limit = dt.timedelta(seconds=self.config.stale_after_s)
        return [name for name, memory in self._memory.items()
                if now - (memory.heard_at or since) >= limit]
