"""``linli camera …``: installer tools for the cameras of an agent configuration.

    linli camera snapshot --config AGENT.yaml --device CAM [--out frame.png]
        grab one frame and write it as a PNG with the counting line (or zone), its
        hysteresis band and an arrow towards the "in" side drawn on it
    linli camera count --config AGENT.yaml --device CAM --seconds N
        run the camera's real worker for N seconds (or until its file ends), print each
        crossing and the in/out totals, then what may have made the counts wrong (background
        rebuilds, lighting changes, lost tracks) and the person size counted with; no
        broker, no database. A file's crossings are printed in time order once it is done,
        at their frame number and position in the file (unless the camera sets
        ``start_time``: then at start_time + position); a stream's as they come
    linli camera calibrate --config AGENT.yaml --device CAM [--seconds N | --file CLIP]
                           [--out FILE.png]
        watch the camera (or a clip of it) with the motion pipeline and propose person
        sizes, check the line, the frame rate and the lighting (``edge.camera.calibrate``)

Neither tool publishes anything. A snapshot is a raw frame for the installer's eyes, written
only where ``--out`` says.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linli.errors import ConfigError, ServiceError
from linli.settings import Settings

CALIBRATE_S = 180.0
"""Default watch of a live stream: a few minutes, enough people for robust sizes."""

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from edge.camera.config import CameraSource
    from edge.camera.messages import CrossingReport
    from edge.camera.vision.health import VisionHealth


def add_parser(subparsers: Any) -> None:
    """Register the ``camera`` subcommand and its tools."""
    parser = subparsers.add_parser(
        "camera", help="installer tools for cameras (snapshot, count, calibrate)",
        description="Check a camera of an agent configuration: see its counting line on a "
                    "live frame, or count crossings for a while.")
    tools = parser.add_subparsers(dest="camera_tool", required=True, metavar="TOOL")
    snapshot = tools.add_parser("snapshot", help="write one frame with the counting line drawn")
    _common(snapshot)
    snapshot.add_argument("--out", type=Path, metavar="FILE.png",
                          help="where to write the PNG (default: DEVICE.png)")
    count = tools.add_parser("count", help="count crossings for a few seconds")
    _common(count)
    count.add_argument("--seconds", type=float, required=True, metavar="N",
                       help="how long to count (a video file may end sooner)")
    calibrate = tools.add_parser(
        "calibrate", help="propose person sizes and check the line from a clip or the stream")
    _common(calibrate)
    source = calibrate.add_mutually_exclusive_group()
    source.add_argument("--seconds", type=float, metavar="N",
                        help=f"watch the live stream this long (default {CALIBRATE_S:g}); "
                             "with a file url: at most this much of it")
    source.add_argument("--file", type=Path, metavar="CLIP",
                        help="a recorded clip of this camera instead of its url")
    calibrate.add_argument("--out", type=Path, metavar="FILE.png",
                           help="where to write the picture (default: DEVICE-calibrate.png)")
    parser.set_defaults(run=run)


def _common(parser: argparse.ArgumentParser) -> None:
    # dest differs from the top-level --config (the settings file), which it would overwrite
    parser.add_argument("--config", dest="agent_config", type=Path, metavar="AGENT.yaml",
                        help="agent configuration (default: settings edge.config)")
    parser.add_argument("--device", required=True, metavar="CAM",
                        help="device id of a camera source in the configuration")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen tool."""
    from edge.config import agent_config_path

    camera = find_camera(agent_config_path(args.agent_config, settings), args.device)
    if args.camera_tool == "snapshot":
        return snapshot(camera, args.out or Path(f"{camera.device}.png"))
    if args.camera_tool == "calibrate":
        if args.seconds is not None and args.seconds <= 0:
            raise ConfigError("--seconds must be positive")
        return calibrate(camera, args.file, args.seconds,
                         args.out or Path(f"{camera.device}-calibrate.png"), settings.locale)
    if args.seconds <= 0:
        raise ConfigError("--seconds must be positive")
    return count(camera, args.seconds)


def find_camera(path: Path, device: str) -> CameraSource:
    """The camera source ``device`` of the agent configuration at ``path``."""
    from edge.camera.config import CameraSource
    from edge.config import load_agent_config

    config = load_agent_config(path)
    cameras = [s for s in config.sources if isinstance(s, CameraSource)]
    for camera in cameras:
        if camera.device == device:
            return camera
    known = ", ".join(c.device for c in cameras) or "none"
    raise ConfigError(f"{path}: no camera source with device {device!r} (cameras: {known})")


def snapshot(camera: CameraSource, out: Path) -> int:
    """Grab a frame, draw the counting geometry on it, write it to ``out``."""
    import cv2

    from edge.camera.capture import Capture, CaptureError, configure_ffmpeg
    from edge.camera.vision.pipeline import CountingPipeline

    configure_ffmpeg(camera)
    try:
        capture = Capture(camera)
        try:
            image = capture.read_one()
        finally:
            capture.release()
    except CaptureError as exc:
        raise ServiceError(str(exc)) from None
    drawn = CountingPipeline(camera.counting, camera.vision).draw_overlay(image)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), drawn):
        raise ServiceError(f"could not write {out} (is it a .png path?)")
    height, width = image.shape[:2]
    print(f"{out}: {width}x{height} frame from {capture.describe()}; the arrow points to "
          f"the 'in' side")
    fw, fh = camera.counting.frame_size
    if (width, height) != (fw, fh):
        print(f"note: counting.frame_size is {fw}x{fh}; the line's coordinates are scaled "
              f"to this {width}x{height} frame")
    return 0


def count(camera: CameraSource, seconds: float) -> int:
    """Run the camera for ``seconds`` and print its crossings and totals."""
    from edge.camera.supervisor import STARTUP_S, WorkerSupervisor
    from linli.runtime import install_stop_handlers

    stop = install_stop_handlers()
    is_file = camera.target.is_file
    held: list[CrossingReport] = []
    supervisor = WorkerSupervisor(camera, held.extend if is_file else _print_crossings)
    thread = threading.Thread(target=supervisor.run, args=(stop,), name="camera-count")
    thread.start()
    # the N seconds start when the worker is up (starting it takes a second or two)
    deadline = time.monotonic() + STARTUP_S
    while supervisor.last_report is None and thread.is_alive() and time.monotonic() < deadline:
        stop.wait(0.1)
    started = time.monotonic()
    while thread.is_alive() and time.monotonic() - started < seconds:
        stop.wait(0.2)
    stop.set()
    thread.join()
    if is_file:
        fps = _file_fps(camera)
        for crossing in sorted(held, key=lambda r: (r.position_s or 0.0, r.occurred_at)):
            print(_file_line(camera, crossing, fps))
    totals = supervisor.totals
    print(f"{camera.device}: in {supervisor.crossings_in}, out {supervisor.crossings_out} "
          f"in {time.monotonic() - started:.1f}s ({totals.frames_in} frames read, "
          f"{totals.frames_processed} processed, {totals.frames_skipped} skipped; "
          f"reconnects {totals.reconnects})")
    last = supervisor.last_report
    if last is not None and last.vision is not None:
        print(health_line(last.vision))
    if totals.frames_in == 0:
        print(f"no frame was read: {supervisor.last_error or 'the camera did not answer'}")
        return 1
    return 0


def calibrate(camera: CameraSource, clip: Path | None, seconds: float | None, out: Path,
              locale: str | None) -> int:
    """Watch the camera (or ``clip``), print the proposal and write its picture to ``out``."""
    import cv2

    from edge.camera.calibrate import analyse, background, collect
    from edge.camera.calibrate_report import draw, text_report
    from edge.camera.capture import Capture, CaptureError, configure_ffmpeg
    from linli.runtime import install_stop_handlers

    if clip is not None:
        if not clip.is_file():
            raise ConfigError(f"--file {clip}: no such file")
        camera = camera.model_copy(update={"url": str(clip)})
    is_file = camera.target.is_file
    limit = seconds if seconds is not None else (None if is_file else CALIBRATE_S)
    stop = install_stop_handlers()
    configure_ffmpeg(camera)
    try:
        capture = Capture(camera)
    except CaptureError as exc:
        raise ServiceError(str(exc)) from None
    if not is_file:
        print(f"{camera.device}: watching {capture.describe()} for {limit:g} s; walk through "
              "the line a few times, alone, both ways", flush=True)

    def frames() -> Iterator[tuple[np.ndarray, float]]:
        first: float | None = None
        while not stop.is_set() and capture.grab():
            t = capture.stream_time()
            first = t if first is None else first
            if limit is not None and t - first > limit:
                return
            image = capture.retrieve()
            if image is not None:
                yield image, t

    try:
        observed = collect(frames(), camera.counting, camera.vision, camera.fps)
    finally:
        capture.release()
    if observed.frames_processed == 0:
        print(f"no frame was read from {capture.describe()}")
        return 1
    source_fps = capture.fps if is_file else observed.frames_read / max(observed.wall_s, 1e-6)
    proposal = analyse(observed, camera.vision, camera.fps, source_fps)
    picture = background(observed)
    written: str | None = None
    if picture is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out), draw(proposal, picture)):
            raise ServiceError(f"could not write {out} (is it a .png path?)")
        written = str(out)
    print(text_report(proposal, camera.device, locale, written))
    return 0
def health_line(vision: VisionHealth) -> str:
    """The count's health: what may have made it wrong, and the person size it used."""
    size = (f"person {vision.person_width_px:.0f} px along the line x "
            f"{vision.person_length_px:.0f} px across at the line "
            f"({'learned from the scene' if vision.person_size_learned else 'configured'}), "
            f"band {vision.band_px:.0f} px each side of the line")
    return (f"health: background rebuilds {vision.background_rebuilds}, lighting changes "
            f"{vision.lighting_changes}, tracks lost {vision.tracks_lost}, merged crossings "
            f"{vision.merged_crossings}, line jumps {vision.line_jumps}; {size}")


def _file_fps(camera: CameraSource) -> float:
    import cv2

    from edge.camera.capture import DEFAULT_FILE_FPS

    capture = cv2.VideoCapture(str(camera.target.location))
    try:
        reported = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        capture.release()
    return reported if 0 < reported <= 240 else DEFAULT_FILE_FPS


def _file_line(camera: CameraSource, report: CrossingReport, fps: float) -> str:
    position = report.position_s or 0.0
    if camera.start_time is not None:
        when = report.occurred_at.astimezone(camera.start_time.tzinfo).isoformat(
            timespec="milliseconds")
    else:
        when = f"frame {round(position * fps):>6} {position:9.2f}s"
    return (f"{when} {report.direction:<3} x{report.count} confidence "
            f"{report.confidence:.2f} track {report.track_id}")


def _print_crossings(reports: list[CrossingReport]) -> None:
    for report in reports:
        when = report.occurred_at.astimezone().strftime("%H:%M:%S.%f")[:-3]
        print(f"{when} {report.direction:<3} x{report.count} confidence "
              f"{report.confidence:.2f} track {report.track_id}", flush=True)
