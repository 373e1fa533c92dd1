"""What every source of the edge agent is: a door log, a camera, a vendor's terminal, a home
gateway's sensors.

A source runs in its own thread (``run(stop)``), turns what it reads into contract events,
and stores them in the agent's spool (``SourceContext.spool_events``), from where the
publisher sends them. It reports its health twice: a small dict inside the agent's own
status (``health``), and, for sources that stand for a device with a status of its own
(a camera, a terminal), a status document on that device's retained status topic
(``device_status``).

Events that a source may see twice — a terminal replaying its history on reconnect, a
catch-up search overlapping the live stream — get a *derived* event id
(``linli.contract.derived_event_id`` over the vendor's record number), so that the second
copy is the same event and ingest stores it once. A source keeps where it got to (the last
record number, the last time seen) as a checkpoint in the spool, written in the same
transaction as the events it covers.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from edge.config import SourceConfig
from edge.rejects import RejectedLine, RejectsFile
from edge.spool import Spool, SpoolFull
from linli.contract import MAX_PAYLOAD_BYTES, Event
from linli.settings import EdgeSettings

SPOOL_FULL_RETRY_S = 1.0


class EdgeSource(Protocol):
    """One source of events inside a building's agent."""

    @property
    def device(self) -> str:
        """The device id the source stands for (its key in the agent's health)."""
        ...

    def run(self, stop: threading.Event) -> None:
        """Read and spool events until ``stop`` is set; never raise out of the loop."""
        ...

    def health(self) -> dict[str, Any]:
        """Free-form health figures for the agent's status message."""
        ...

    def device_status(self) -> dict[str, Any] | None:
        """The device's own status document (format 4, without ``state``), or None when the
        source does not publish one; the agent adds state, version and time."""
        ...


@dataclass(frozen=True)
class SourceContext:
    """What the agent hands each source: where it is and where its events go."""

    community: str
    building: str
    spool: Spool
    rejects: RejectsFile
    settings: EdgeSettings
    on_spooled: Callable[[], None]
    stopping: threading.Event | None = None
    """Set when the agent stops: a source waiting for room in the spool gives up then."""

    def spool_events(self, key: str, events: Iterable[Event], *,
                     checkpoint: str | None = None,
                     rejected: Iterable[RejectedLine] = ()) -> int:
        """Store ``events`` (and the source's new ``checkpoint``) in one spool transaction;
        ``rejected`` inputs go to the rejects file first. Returns how many were spooled.

        An event larger than the contract allows is rejected here rather than published.
        While the spool is full this waits, retrying every ``SPOOL_FULL_RETRY_S``, so the
        source reads nothing more (a terminal's push goes unanswered and comes again, a
        stream's backlog is caught up from its checkpoint); it raises ``SpoolFull`` only
        when the agent stops meanwhile, and then the source's checkpoint was not moved.
        """
        messages: list[tuple[str, bytes]] = []
        refused = list(rejected)
        for event in events:
            payload = event.to_json()
            if len(payload) > MAX_PAYLOAD_BYTES:
                refused.append(RejectedLine(key, 0, payload[:512],
                                            f"event is {len(payload)} bytes; "
                                            f"at most {MAX_PAYLOAD_BYTES}"))
                continue
            messages.append((event.topic, payload))
        self.rejects.write(refused)
        while True:
            try:
                self.spool.append_events(key, messages, checkpoint=checkpoint,
                                         rejected=len(refused),
                                         last_reject=refused[-1].reason if refused else None)
                break
            except SpoolFull:
                stopping = self.stopping or threading.Event()
                if stopping.wait(SPOOL_FULL_RETRY_S):
                    raise
        if messages:
            self.on_spooled()
        return len(messages)

    def checkpoint(self, key: str) -> str | None:
        """The checkpoint the source stored last under ``key``, or None."""
        return self.spool.checkpoint(key)


SourceFactory = Callable[[Any, SourceContext], EdgeSource]

FACTORIES: dict[str, str] = {
    "log": "edge.door.source:make_source",
    "camera": "edge.camera.source:make_source",
    "hikvision-isapi": "edge.hikvision.source:make_source",
    "zkteco-push": "edge.zkteco.source:make_push_source",
    "zkteco-tcp": "edge.zkteco.source:make_tcp_source",
    "dahua": "edge.dahua.source:make_source",
    "sensor-mqtt": "edge.sensor.source:make_source",
    "hikvision-counting": "edge.camcount.hikvision:make_source",
    "dahua-counting": "edge.camcount.dahua:make_source",
}
"""Source type → ``module:function`` building it; imported only when a source of that type
is configured, so an agent without cameras never loads OpenCV."""


def build_source(config: SourceConfig, context: SourceContext) -> EdgeSource:
    """The running source for one entry of the agent's ``sources`` list."""
    module_name, _, function = FACTORIES[config.type].partition(":")
    factory: SourceFactory = getattr(importlib.import_module(module_name), function)
    return factory(config, context)
