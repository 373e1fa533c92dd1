"""ZKTeco punches, alarms and operations → contract events. Pure functions, no I/O.

Punches (ATTLOG lines, TCP real-time attendance, the attendance log) are ``passage``
events: the terminal records a punch only for a user it verified. The credential comes from
the verify type (``VERIFY_MODES``: 1 fingerprint, 2 user id and 3 password → pin, 4 card,
15 face; "or" modes such as 5 "fingerprint or password" name no single credential and
give none; "and" modes give the biometric presented, e.g. 16 face and fingerprint → face;
finger vein and palm have no credential of ours). ``attrs.verify_mode`` names the mode,
or says ``unknown`` for a number not in the table (the number stays in ``attrs.verify``).
The
direction is where the terminal stands (``direction``), or the punch state when the site
says its terminals set it per reader (``state_is_direction``). State, verify type, work
code and PIN stay in ``attrs``.

Alarm events carry no direction, except ``exit_button`` (pressed to leave: ``out``).

Alarm codes are the same numbers in the TCP real-time alarm (``EF_ALARM``) and in the PUSH
operation log (``OPLOG 3``, first object):

    0x20 duress             duress
    0x22 anti-passback      access_denied, reason passback
    0x32 door close         door_closed
    0x33 door open detected door_held_open (the door-sensor alarm: open past its delay)
    0x35 exit button        exit_button
    0x36 door broken        door_forced (opened without a verification)
    0x37 tamper             tamper
    0x3A invalid verify     access_denied, reason invalid_verification (repeated failures)
    0x54 door closing       door_closed (TCP 8-byte alarm)
    0xFFFF alarm cancelled  ignored

The duress operation (``OPLOG 32``) is a ``duress`` event too. The site's ``codes`` override
any of these (e.g. ``{"alarm:55": door_forced}``). Codes not in the table are rejected with
their number (counted in the agent's status, shown as the device's ``last_alarm``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from edge.zkteco.config import IGNORE, ZktecoSection
from edge.zkteco.records import Alarm, BadRecord, Operation, Punch
from linli.contract import (
    Credential,
    Direction,
    Event,
    EventKind,
    Source,
    derived_event_id,
    describe_validation_error,
)

ALARM_NAMES: Mapping[int, str] = {
    0x20: "duress", 0x22: "passback", 0x32: "door_closed", 0x33: "door_open",
    0x35: "exit_button", 0x36: "door_broken", 0x37: "tamper",
    0x3A: "invalid_verification", 0x54: "door_closing", 0xFFFF: "alarm_cancelled",
}
DEFAULT_ALARMS: Mapping[int, str] = {
    0x20: EventKind.DURESS, 0x37: EventKind.TAMPER,
    0x22: EventKind.ACCESS_DENIED, 0x32: EventKind.DOOR_CLOSED,
    0x33: EventKind.DOOR_HELD_OPEN, 0x35: EventKind.EXIT_BUTTON,
    0x36: EventKind.DOOR_FORCED, 0x3A: EventKind.ACCESS_DENIED,
    0x54: EventKind.DOOR_CLOSED, 0xFFFF: IGNORE,
}
"""Alarm code → kind (or ``ignore``)."""
OP_ALARM = 3
OP_DURESS = 32
_FP, _PIN, _CARD, _FACE = (Credential.FINGERPRINT, Credential.PIN, Credential.CARD,
                           Credential.FACE)
VERIFY_MODES: Mapping[int, tuple[str, Credential | None]] = {
    0: ("any", None),                         # fingerprint, password or card
    1: ("fingerprint", _FP),
    2: ("user_id", _PIN),
    3: ("password", _PIN),
    4: ("card", _CARD),
    5: ("fingerprint_or_password", None),
    6: ("fingerprint_or_card", None),
    7: ("password_or_card", None),
    8: ("user_id_and_fingerprint", _FP),
    9: ("fingerprint_and_password", _FP),
    10: ("fingerprint_and_card", _FP),
    11: ("password_and_card", _CARD),
    12: ("fingerprint_password_and_card", _FP),
    13: ("user_id_fingerprint_and_password", _FP),
    14: ("fingerprint_and_card_or_user_id", _FP),
    15: ("face", _FACE),
    16: ("face_and_fingerprint", _FACE),
    17: ("face_and_password", _FACE),
    18: ("face_and_card", _FACE),
    19: ("face_fingerprint_and_card", _FACE),
    20: ("face_fingerprint_and_password", _FACE),
    21: ("finger_vein", None),
    22: ("finger_vein_and_password", None),
    23: ("finger_vein_and_card", None),
    24: ("finger_vein_password_and_card", None),
    25: ("palm", None),
}
"""Verify type (the PUSH protocol's verification modes) → its name and the credential."""
DEFAULT_CREDENTIALS: Mapping[str, Credential] = {
    str(number): credential for number, (_, credential) in VERIFY_MODES.items()
    if credential is not None}
DEFAULT_STATES: Mapping[str, Direction] = {
    "0": Direction.IN, "1": Direction.OUT, "2": Direction.OUT,
    "3": Direction.IN, "4": Direction.IN, "5": Direction.OUT,
}


class Mapper:
    """Turns one source's records into events, with its tables and overrides merged."""

    def __init__(self, config: ZktecoSection, *, community: str, building: str) -> None:
        self.config = config
        self.community = community
        self.building = building
        self.credentials: dict[str, Credential | None] = {**DEFAULT_CREDENTIALS,
                                                          **config.credentials}
        self.states: dict[str, Direction | None] = {**DEFAULT_STATES, **config.states}

    def local(self, time: dt.datetime) -> dt.datetime:
        """A terminal time read in the source's zone (aware times pass unchanged)."""
        return time if time.tzinfo is not None else time.replace(tzinfo=self.config.zone)

    def record_id(self, record: str) -> uuid.UUID:
        """The derived event id of a record this source can see more than once."""
        return derived_event_id(self.community, self.building, self.config.device, record)

    def punch(self, punch: Punch, *, record: str, drift_s: float | None = None,
              attrs: Mapping[str, Any] | None = None) -> Event:
        """The passage event of ``punch``; ``record`` names it for good (its event id)."""
        values: dict[str, Any] = {"pin": punch.pin, "origin": punch.origin}
        if punch.state is not None:
            values["state"] = punch.state
        if punch.verify is not None:
            values["verify"] = punch.verify
            mode = VERIFY_MODES.get(punch.verify)
            values["verify_mode"] = mode[0] if mode else "unknown"
        if punch.workcode not in (None, "", "0"):
            values["workcode"] = punch.workcode
        values.update(attrs or {})
        self._note_drift(values, drift_s)
        return self._event(self.record_id(record), self.local(punch.time), EventKind.PASSAGE,
                           direction=self.direction(punch.state),
                           person=self.person(punch.pin),
                           credential=self.credential(punch.verify), attrs=values)

    def alarm(self, alarm: Alarm, *, event_id: uuid.UUID, drift_s: float | None = None,
              attrs: Mapping[str, Any] | None = None) -> Event | None:
        """The event of ``alarm``, None when its code is ignored; BadRecord when the code
        is unknown or has no kind."""
        kind = self.alarm_kind(alarm.code)
        if kind == IGNORE:
            return None
        values: dict[str, Any] = {"alarm": alarm.code, "origin": alarm.origin,
                                  **(attrs or {})}
        name = ALARM_NAMES.get(alarm.code)
        if name is not None:
            values["reason" if kind == EventKind.ACCESS_DENIED else "alarm_name"] = name
        if alarm.user_sn is not None:
            values["user_sn"] = alarm.user_sn
        self._note_drift(values, drift_s)
        # an exit button is pressed to leave; other alarms are about the door, not a way
        direction = Direction.OUT if kind == EventKind.EXIT_BUTTON else None
        return self._event(event_id, self.local(alarm.time), EventKind(kind),
                           direction=direction, attrs=values)

    def operation(self, op: Operation, *, record: str, drift_s: float | None = None,
                  attrs: Mapping[str, Any] | None = None) -> Event | None:
        """The event of an operation-log entry: alarms (op 3) by their code, other
        operations only when ``codes`` maps them; None when ignored."""
        override = self.config.codes.get(f"op:{op.op}")
        if override is None and op.op == OP_ALARM:
            code = _alarm_code(op)
            return self.alarm(Alarm(code, op.time, "push"), event_id=self.record_id(record),
                              drift_s=drift_s, attrs={"op": op.op, **(attrs or {})})
        if override is None and op.op == OP_DURESS:
            override = EventKind.DURESS
        if override in (None, IGNORE):
            return None
        values = {"op": op.op, "objects": list(op.objects[:4]), "origin": "push",
                  **(attrs or {})}
        self._note_drift(values, drift_s)
        return self._event(self.record_id(record), self.local(op.time), EventKind(override),
                           attrs=values)

    def alarm_kind(self, code: int) -> str:
        """The kind (or ``ignore``) of an alarm code; BadRecord when there is none."""
        kind = self.config.codes.get(f"alarm:{code}", DEFAULT_ALARMS.get(code))
        if kind is not None:
            return str(kind)
        raise BadRecord(f"unknown alarm code {code} (0x{code:x}); map it with "
                        f"codes: {{'alarm:{code}': <kind or ignore>}}")

    def direction(self, state: int | None) -> Direction | None:
        """The punch's direction: its state when the site says so, else the terminal's."""
        if self.config.state_is_direction and state is not None:
            mapped = self.states.get(str(state))
            if mapped is not None:
                return mapped
        return self.config.direction

    def credential(self, verify: int | None) -> Credential | None:
        """The credential of a verify type, None for combined or unknown modes."""
        return None if verify is None else self.credentials.get(str(verify))

    def person(self, pin: str) -> str:
        """Our person id for the terminal's user id."""
        return self.config.person_format.format(pin=pin)

    def _note_drift(self, attrs: dict[str, Any], drift_s: float | None) -> None:
        if drift_s is not None and abs(drift_s) >= self.config.drift_threshold_s:
            attrs["drift_s"] = round(drift_s)

    def _event(self, event_id: uuid.UUID, occurred_at: dt.datetime, kind: EventKind, *,
               direction: Direction | None = None, person: str | None = None,
               credential: Credential | None = None, attrs: dict[str, Any]) -> Event:
        try:
            return Event.model_validate({
                "event_id": event_id, "occurred_at": occurred_at,
                "community": self.community, "building": self.building,
                "device": self.config.device, "kind": kind, "direction": direction,
                "person_id": person, "credential": credential, "count": 1,
                "confidence": 1.0, "source": Source.DOOR, "attrs": attrs,
            })
        except ValidationError as exc:
            raise BadRecord(f"breaks the event contract: {describe_validation_error(exc)}"
                            ) from exc


def _alarm_code(op: Operation) -> int:
    first = op.objects[0] if op.objects else ""
    if not (first.isascii() and first.isdigit()) or len(first) > 6:
        raise BadRecord(f"alarm operation without a numeric alarm code: {first[:20]!r}")
    return int(first)
