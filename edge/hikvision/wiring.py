"""Whether a terminal's events say its code table is the wrong one.

On a terminal that writes its door contact under 5.23 (the SDK's exit button), read with
the ``sdk`` table, every opening looks the same: the lock opens (5.21) for someone who
presented a credential, and about a second later the door swings open and reports 5.23 —
an "exit" that nobody made. A real exit button comes first (5.23, then the lock 5.21), so
an exit right after each lock opening, many times in a row, says the profile is wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from linli.contract import Event, EventKind

__all__ = ["ExitAfterLock"]


@dataclass
class ExitAfterLock:
    """Counts lock openings each followed by an exit within ``window_s``, per door."""

    needed: int
    window_s: float
    streak: int = 0
    _opened: dict[str, dt.datetime] = field(default_factory=dict)

    def observe(self, event: Event) -> bool:
        """Take one live event; True once ``needed`` openings in a row showed the pattern."""
        if self.needed <= 0:
            return False
        door = str(event.attrs.get("door", ""))
        signal = event.attrs.get("signal")
        if event.kind is EventKind.DOOR_OPENED and signal == "lock":
            if door in self._opened:
                self.streak = 0  # an opening with no exit after it: not the pattern
            self._opened[door] = event.occurred_at
        elif event.kind is EventKind.EXIT_BUTTON and signal == "button":
            opened = self._opened.pop(door, None)
            if opened is None:
                return False  # a press before the lock opens: a real exit button
            gap = (event.occurred_at - opened).total_seconds()
            self.streak = self.streak + 1 if 0 <= gap <= self.window_s else 0
        return self.streak >= self.needed
