"""How far a terminal's clock is from the agent's.

Events carry the device's own time, and a terminal whose clock drifted (no NTP, a dead
RTC battery after a power cut) writes wrong times: a resident seems to have come home an
hour ago, or tomorrow. The agent keeps the device's time as the event time (it is what
the device recorded, and what a catch-up search returns again) but measures the drift
from the HTTP ``Date`` header of the device's responses and from the times of live
events, reports it in the device's status, and notes it in the attrs of events recorded
while it exceeds the threshold.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading

from linli.contract import utc_now

__all__ = ["ClockDrift", "parse_http_date"]


def parse_http_date(value: str | None) -> dt.datetime | None:
    """An HTTP ``Date`` header as an aware time, or None when absent or malformed."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


class ClockDrift:
    """The device clock minus the agent clock, from the latest observation (thread-safe)."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self._drift: float | None = None
        self._lock = threading.Lock()

    @property
    def drift_s(self) -> float | None:
        """Seconds the device is ahead (positive) or behind (negative); None if unknown."""
        with self._lock:
            return self._drift

    def observe(self, device_time: dt.datetime, agent_time: dt.datetime | None = None) -> float:
        """Record one comparison (the device said ``device_time`` at ``agent_time``)."""
        drift = (device_time - (agent_time or utc_now())).total_seconds()
        with self._lock:
            self._drift = drift
        return drift

    def observe_http_date(self, header: str | None) -> float | None:
        """Record the drift a response's ``Date`` header shows (whole seconds only)."""
        device_time = parse_http_date(header)
        return None if device_time is None else self.observe(device_time)

    def notable(self) -> float | None:
        """The drift, rounded, when it exceeds the threshold; None otherwise."""
        drift = self.drift_s
        if drift is None or abs(drift) <= self.threshold_s:
            return None
        return round(drift, 1)

    def device_now(self) -> dt.datetime:
        """What the device's clock says now, as far as the agent knows."""
        return utc_now() + dt.timedelta(seconds=self.drift_s or 0.0)
