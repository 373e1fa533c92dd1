"""A camera's status document (its own retained status topic) and its line in the agent's.

The document on ``linli/v1/{c}/{b}/{camera}/status`` (format 4; the publisher adds
``version`` and ``at``)::

    {"state": "online",            # "offline" while the stream has failed or the file ended
     "kind": "camera",
     "stream": "streaming",        # connecting | streaming | reconnecting | failed | finished | stopped
     "source": "rtsp://admin:***@10.0.0.21:554/Streaming/Channels/102",
     "fps_cap": 8.0, "fps_in": 25.0, "fps_processed": 8.0,   # rates over the last ~5 s
     "skip_ratio": 0.68,           # share of frames read and not processed (last ~5 s)
     "skipping": true,             # frames were left out (skip_ratio > 0)
     "lagging": false,             # frames due under the cap were dropped: the CPU can't keep up
     "frames_in": 9000, "frames_processed": 2880, "frames_skipped": 6120, "frames_lagged": 0,
     "last_frame_at": "2026-11-22T00:01:02.123+00:00",
     "reconnects": 1, "open_failures": 2, "drops": 1, "worker_restarts": 0,
     "crossings_in": 12, "crossings_out": 9,
     "frame_size": [640, 360], "process_ms": 11.5, "pipeline_errors": 0,
     "snapshots": false, "last_error": "... stopped sending frames",
     "background_rebuilds": 0,     # the picture changed in a way no gain explained
     "lighting_changes": 3,        # auto-exposure / gain / light steps, normalised away
     "tracks_lost": 1,             # people lost mid-picture (missed for too many frames)
     "merged_crossings": 0,        # one person's second track, not counted again
     "line_jumps": 0,              # tracks over the line unseen near it: not counted
     "person_size_px": [52.0, 38.0],   # along x across the line, at the line
     "person_size_learned": true,  # else the configured vision.person_*_px
     "band_px": 16.0}              # hysteresis band each side of the line, grown with people

Totals count since the agent started, across worker restarts, except the counting figures
from ``background_rebuilds`` on: those are the running worker's (since it started). No
credentials: the source and every error go through ``edge.camera.urls``.
"""

from __future__ import annotations

from typing import Any

from edge.camera.messages import StreamState
from edge.camera.supervisor import WorkerSupervisor
from edge.camera.urls import mask_url
from edge.camera.vision.health import VisionHealth

ONLINE_STATES = frozenset({StreamState.CONNECTING, StreamState.STREAMING,
                           StreamState.RECONNECTING})


def camera_status(supervisor: WorkerSupervisor) -> dict[str, Any]:
    """The camera's own status document."""
    config = supervisor.config
    health = supervisor.health
    last = supervisor.last_report
    totals = supervisor.totals
    skip_ratio = health.skip_ratio if health else 0.0
    return {
        "state": "online" if supervisor.state in ONLINE_STATES else "offline",
        "kind": "camera",
        "stream": supervisor.state.value,
        "source": mask_url(config.url),
        "fps_cap": config.fps,
        "fps_in": health.fps_in if health else 0.0,
        "fps_processed": health.fps_processed if health else 0.0,
        "skip_ratio": skip_ratio,
        "skipping": skip_ratio > 0,
        "lagging": health.lagging if health else False,
        "frames_in": totals.frames_in,
        "frames_processed": totals.frames_processed,
        "frames_skipped": totals.frames_skipped,
        "frames_lagged": totals.frames_lagged,
        "last_frame_at": supervisor.last_frame_at.isoformat() if supervisor.last_frame_at
        else None,
        "reconnects": totals.reconnects,
        "open_failures": totals.open_failures,
        "drops": totals.drops,
        "worker_restarts": supervisor.restarts,
        "crossings_in": supervisor.crossings_in,
        "crossings_out": supervisor.crossings_out,
        "frame_size": list(last.frame_size) if last and last.frame_size else None,
        "process_ms": last.process_ms if last else None,
        "pipeline_errors": totals.pipeline_errors,
        "snapshots": config.snapshots.enabled,
        "last_error": supervisor.last_error,
        **_vision(last.vision if last is not None else None),
    }


def _vision(vision: VisionHealth | None) -> dict[str, Any]:
    if vision is None:
        return {"background_rebuilds": 0, "lighting_changes": 0, "tracks_lost": 0,
                "merged_crossings": 0, "line_jumps": 0, "person_size_px": None,
                "person_size_learned": False, "band_px": None}
    return {"background_rebuilds": vision.background_rebuilds,
            "lighting_changes": vision.lighting_changes,
            "tracks_lost": vision.tracks_lost,
            "merged_crossings": vision.merged_crossings,
            "line_jumps": vision.line_jumps,
            "person_size_px": [round(vision.person_width_px, 1),
                               round(vision.person_length_px, 1)],
            "person_size_learned": vision.person_size_learned,
            "band_px": vision.band_px}


def camera_health(supervisor: WorkerSupervisor) -> dict[str, Any]:
    """The camera's short line under ``sources`` in the agent's status."""
    status = camera_status(supervisor)
    return {key: status[key] for key in (
        "stream", "fps_in", "fps_processed", "skip_ratio", "lagging", "reconnects",
        "worker_restarts", "crossings_in", "crossings_out", "last_frame_at",
        "background_rebuilds", "lighting_changes", "tracks_lost", "line_jumps")}
