"""Configuration of the counting cameras (``hikvision-counting``, ``dahua-counting``).

    - type: hikvision-counting
      device: b01-gate-cam
      host: 192.168.1.64
      username: admin
      password: "..."
      reports: real_time            # or time_range: the camera's periodic window totals

    - type: dahua-counting
      device: b02-gate-cam
      host: 192.168.1.108
      password: "..."
      channel: 1
      counter: total                 # or today: the counter the device clears at midnight
      interface: video_stat          # or event_manager: NumberStat events

The camera counts; the agent only turns its totals into passage events (``source:
camera``, ``count`` = people in that delta). ``readers`` (from the shared terminal model)
means nothing here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.vendors.config import TerminalSection

__all__ = ["CountingSection", "DahuaCountingSource", "HikvisionCountingSource"]


class CountingSection(TerminalSection):
    """What both counting cameras share."""

    confidence: float = Field(1.0, ge=0.0, le=1.0)
    """Confidence given to the events (the device's own counting is taken as certain;
    lower it for a camera known to miscount, so that tailgating ignores it)."""
    max_delta: int = Field(200, ge=1, le=1000)
    """A report adding more people than this at once is a warning, not events (a counter
    restored or a device swapped behind the address)."""
    catch_up: bool = True
    """Read the device's totals when the stream opens (what passed during an outage)."""


class HikvisionCountingSource(CountingSection):
    """A Hikvision people-counting camera read over its ISAPI ``alertStream``."""

    type: Literal["hikvision-counting"] = "hikvision-counting"
    reports: Literal["real_time", "time_range"] = "real_time"
    """Which ``PeopleCounting`` reports count: ``real_time`` (running totals on every
    crossing) or ``time_range`` (each upload cycle's totals, a window at a time). The other
    kind is read and ignored: counting both would count every person twice."""
    channels: list[int] = Field(default_factory=list)
    """Video channels whose counting is read (empty: every channel the device reports)."""


class DahuaCountingSource(CountingSection):
    """A Dahua people-counting camera read over ``videoStatServer.cgi`` or as ``NumberStat``
    events on ``eventManager.cgi``."""

    type: Literal["dahua-counting"] = "dahua-counting"
    channel: int = Field(1, ge=1, le=256)
    """The video channel (``channel=`` of the CGI, from 1)."""
    counter: Literal["total", "today"] = "total"
    """Which totals are read: ``total`` (``EnteredSubtotal.Total``, cleared only by hand)
    or ``today`` (``…Today``, cleared every midnight). ``video_stat`` only."""
    interface: Literal["video_stat", "event_manager"] = "video_stat"
    """``video_stat``: the ``videoStatServer`` summaries (and ``getSummary`` when the
    stream opens); ``event_manager``: the ``NumberStat`` events of ``eventManager.cgi``
    (``EnteredNumber``/``ExitedNumber``), for firmware or NVR set-ups that give only
    those. Never both on one camera: they are two views of the same people."""
    heartbeat_s: float = Field(5.0, gt=0, le=600)
