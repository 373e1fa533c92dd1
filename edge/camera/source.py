"""A camera as a source of the edge agent: counted crossings become passage events.

The source's thread supervises the camera's worker process (``edge.camera.supervisor``)
and spools each crossing as a contract event: ``source: camera``, ``kind: passage``, the
direction and the number of people, the pipeline's confidence, no person, and
``attrs: {"track": id, "bbox": [x, y, w, h], "snapshot": "<event_id>.jpg"}`` (snapshot only
when snapshots are on). Crossings happen once and are never replayed, so their event ids
are fresh (``new_event_id``, made in the worker so that the snapshot carries the same name)
and no checkpoint is kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from edge.camera.config import CameraSource
from edge.camera.messages import CrossingReport
from edge.camera.status import camera_health, camera_status
from edge.camera.supervisor import WorkerSupervisor
from edge.rejects import RejectedLine
from edge.sources import SourceContext
from linli.contract import Event, EventKind, Source, describe_validation_error

log = logging.getLogger(__name__)


def crossing_event(report: CrossingReport, *, community: str, building: str,
                   device: str) -> Event:
    """The contract event of one crossing; ValidationError when the report breaks it."""
    attrs: dict[str, Any] = {"track": report.track_id, "bbox": list(report.bbox)}
    if report.snapshot:
        attrs["snapshot"] = report.snapshot
    return Event.model_validate({
        "event_id": report.event_id,
        "occurred_at": report.occurred_at,
        "community": community,
        "building": building,
        "device": device,
        "kind": EventKind.PASSAGE,
        "direction": report.direction,
        "count": report.count,
        "confidence": round(report.confidence, 3),
        "source": Source.CAMERA,
        "attrs": attrs,
    })


class CameraEdgeSource:
    """One camera of a building's agent."""

    def __init__(self, config: CameraSource, context: SourceContext) -> None:
        self.config = config
        self.key = f"camera:{config.device}"
        self._context = context
        self.supervisor = WorkerSupervisor(config, self._spool)
        self.spooled = 0
        self.rejected = 0

    @property
    def device(self) -> str:
        """The camera's device id."""
        return self.config.device

    def run(self, stop: threading.Event) -> None:
        """Supervise the camera until ``stop`` is set (a finished file waits for it)."""
        try:
            self.supervisor.run(stop)
        except Exception:  # the supervisor catches its own failures; this is the last net
            log.exception("camera %s: source stopped unexpectedly", self.device)
        stop.wait()

    def health(self) -> dict[str, Any]:
        """The camera's line in the agent's status."""
        return {**camera_health(self.supervisor), "spooled": self.spooled,
                "rejected": self.rejected}

    def device_status(self) -> dict[str, Any]:
        """The camera's own status document (see ``edge.camera.status``)."""
        return {**camera_status(self.supervisor), "spooled": self.spooled,
                "rejected": self.rejected}

    def _spool(self, reports: Iterable[CrossingReport]) -> None:
        events: list[Event] = []
        rejected: list[RejectedLine] = []
        for report in reports:
            try:
                events.append(crossing_event(report, community=self._context.community,
                                             building=self._context.building,
                                             device=self.device))
            except ValidationError as exc:
                rejected.append(RejectedLine(self.key, 0, repr(report).encode()[:512],
                                             describe_validation_error(exc)))
        self.spooled += self._context.spool_events(self.key, events, rejected=rejected)
        self.rejected += len(rejected)


def make_source(config: CameraSource, context: SourceContext) -> CameraEdgeSource:
    """The source factory for ``type: camera``."""
    return CameraEdgeSource(config, context)
