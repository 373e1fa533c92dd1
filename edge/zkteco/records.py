"""What a ZKTeco terminal reports, whichever way it was read: punches (attendance records),
alarms and operation-log entries, plus the errors the parsers raise.

Times are the terminal's local wall-clock times (naive) unless said otherwise; the mapping
reads them in the source's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


class ZkError(Exception):
    """Something a terminal sent could not be used."""


class BadRecord(ZkError):
    """One record (a line, a packet, a log entry) is malformed; the others go on."""


class ProtocolError(ZkError):
    """The conversation with a terminal broke (framing lost, unexpected reply)."""


class FramingError(ProtocolError):
    """The TCP stream lost its packet boundaries: the connection must be dropped."""


class AccessPanelProtocol(FramingError):
    """The device answered in the ZKAccess C3 / InBIO access-panel protocol: it is a door
    controller, not a terminal, and no reconnection will change that."""


@dataclass(frozen=True, slots=True)
class Punch:
    """One attendance record: who verified, when, how (verify type), with which state."""

    pin: str
    time: dt.datetime
    """The terminal's local time, naive."""
    state: int | None
    """Punch state chosen on the keypad (0 check-in, 1 check-out, …); not a direction."""
    verify: int | None
    """Verify type (1 fingerprint, 3 password, 4 card, 15 face on current models)."""
    workcode: str | None = None
    origin: str = "push"
    """Where it was read: ``push`` (ATTLOG upload), ``live`` (TCP real-time), ``log``
    (TCP attendance log, catch-up)."""


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm the terminal raised: its code and what came with it."""

    code: int
    time: dt.datetime
    """Local naive time (operation log) or an aware receive time (TCP real-time)."""
    origin: str
    user_sn: int | None = None
    """The terminal's internal user number (passback, duress), not the PIN."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation-log entry (``OPLOG`` line): operation code, admin, time, objects."""

    op: int
    admin: str
    time: dt.datetime
    objects: tuple[str, ...]
