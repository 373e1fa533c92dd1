"""A terminal's records on their way to the spool: identity, checkpoint, de-duplication.

A terminal numbers its records (Hikvision ``serialNo``, Dahua ``RecNo``), but the number
alone does not name a record for good: it restarts after a factory reset or when the log
is cleared, and a restarted ``serialNo: 7`` would get the id of the old record 7 and be
dropped by ingest as a duplicate. So a record's key is its number *and* its device time
(``record_key``): the same record seen twice — replayed on connect, found again by a
catch-up search — has both the same, while a record after a reset differs in time.

The checkpoint (stored in the spool with the events it covers) is the newest device time
and record number spooled. It bounds a catch-up search (from the checkpoint to now) and
lets replayed history older than it be skipped before it costs anything.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from edge.rejects import RejectedLine
from linli.contract import Event

__all__ = ["Checkpoint", "RecentIds", "TerminalRecord", "record_key"]


def record_key(number: int | str, at: dt.datetime) -> str:
    """The stable key of a numbered record: ``{number}@{UTC epoch seconds}``."""
    return f"{number}@{int(at.timestamp())}"


@dataclass(frozen=True, slots=True)
class TerminalRecord:
    """One record read from a terminal, mapped: an event, an ignored code, or a reject.

    ``record_id`` names the record (the event's id when it has one); ``at`` is the device
    time; ``history`` is True for a record the terminal replays rather than reports live.
    """

    record_id: uuid.UUID
    at: dt.datetime
    number: int | None = None
    event: Event | None = None
    rejected: RejectedLine | None = None
    history: bool = False


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a terminal's records got to: the newest device time and number spooled."""

    at: dt.datetime | None = None
    number: int | None = None

    def advanced(self, at: dt.datetime, number: int | None) -> Checkpoint:
        """This checkpoint moved forward to a record at ``at`` (never backwards in time)."""
        if self.at is not None and at < self.at:
            return self
        if self.at is not None and at == self.at and number is not None \
                and self.number is not None and number < self.number:
            return self
        return Checkpoint(at, number)

    def to_text(self) -> str:
        """The spool's form: a small JSON object."""
        return json.dumps({"at": self.at.isoformat() if self.at else None, "number": self.number})

    @classmethod
    def from_text(cls, text: str | None) -> Checkpoint:
        """Read a stored checkpoint; an unreadable one counts as none (logged by the caller)."""
        if not text:
            return cls()
        try:
            values = json.loads(text)
            at = dt.datetime.fromisoformat(values["at"]) if values.get("at") else None
            number = values.get("number")
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        return cls(at, number if isinstance(number, int) else None)


class RecentIds:
    """The ids of the records spooled last (bounded, oldest forgotten first)."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._ids: OrderedDict[uuid.UUID, None] = OrderedDict()

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Iterable[uuid.UUID]) -> None:
        """Remember ``ids`` as seen."""
        for record_id in ids:
            self._ids[record_id] = None
            self._ids.move_to_end(record_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
