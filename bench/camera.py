"""Camera counting benchmark: frames per second of the vision pipeline on this machine.

Renders synthetic 640x480 doorway clips (hardware.camera.render; rendering is not timed),
then times CountingPipeline.process over them, frames already decoded:

* one stream, in this process: frames per CPU second (time.process_time, all threads) — the
  "frames/s per core" figure — and frames per wall second;
* N cameras at once (default 4): N processes, each with its own pipeline on its own clip,
  OpenCV limited to one thread per process; total and per-camera frames/s, CPU seconds.

* real footage (``bench.footage``): every fetched clip with hand-labelled truth, counted with
  only the line and in-side configured, then with the hand-measured person size, at full and
  half frame rate; precision, recall and frames per CPU second per clip, reported apart from
  the rendered scenarios. Clips not fetched are listed and skipped.

* accuracy: every scenario rendered with ``--seeds`` seeds and counted with the default
  parameters, at the clip's frame rate and at every other frame (a camera whose ``fps`` cap
  is half its stream's); in/out counts against the truth, precision and recall per scenario
  and overall (hardware.camera.score).

The load average before and after is printed: other work on the machine makes the figures
noisy. Target: >= 100 frames/s per core for one 640x480 stream; >= 95 % of crossings
counted in the right direction, <= 2 % spurious.

    python -m bench.camera [--cameras 4] [--scenario mixed] [--frames 1200] [--seeds 10]
    python -m bench.camera --real-only        # only the real-footage table
    python -m bench.camera --real-only --size 640x480   # real clips resized to 640x480

    python -m bench.camera --real-only --model var/models/yolox_nano.onnx --layout yolox \\
        --process-width 416                # the real clips with an ONNX person detector

``--model PATH`` counts the real clips with ``vision.detector: dnn`` and that model
(``--layout``, ``--process-width``, ``--dnn-confidence`` set the matching ``vision`` fields;
bench/README.md says which model was tried and where it comes from).

``--size WxH`` resizes every decoded real frame to WxH before the pipeline sees it (decoding
and resizing are not timed: a camera streams at the size it is set to) and scales the truth's
counting line and measured person size with it, as an installer drawing the line on a
snapshot of that size would; the default parameters are then pixels of that size.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench import footage
from edge.camera.vision.config import VisionParams
from edge.camera.vision.pipeline import CountingPipeline
from hardware.camera.catalog import SCENARIOS
from hardware.camera.render import GroundTruth, render
from hardware.camera.score import Score, run, score

Size = tuple[int, int]

CAMERA_CLIPS = ("mixed", "in_out", "side_by_side", "tailgating", "turn_back", "shadows", "lighting",
             "passersby")


@dataclass(frozen=True)
class Timing:
    """One stream's run."""

    camera: int
    frames: int
    cpu_s: float
    wall_s: float
    crossings: int


def clip(name: str, seed: int, count: int) -> tuple[list[np.ndarray], GroundTruth]:
    """``count`` frames of a rendered clip, played again from the start as often as needed."""
    frames, truth = render(name, seed)
    once = list(frames)
    return [once[i % len(once)] for i in range(count)], truth


def time_stream(camera: int, frames: list[np.ndarray], truth: GroundTruth,
                params: VisionParams) -> Timing:
    """Run one pipeline over ``frames`` and time it (process CPU and wall)."""
    pipeline = CountingPipeline(truth.counting, params)
    crossings = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for i, frame in enumerate(frames):
        crossings += len(pipeline.process(frame, i / truth.fps))
    return Timing(camera, len(frames), time.process_time() - cpu, time.perf_counter() - wall,
                  crossings)


def _camera(job: tuple[int, str, int, int, threading.Barrier]) -> Timing:
    camera, name, seed, count, start = job
    cv2.setNumThreads(1)  # one stream per process: no oversubscribed OpenCV thread pools
    frames, truth = clip(name, seed, count)
    start.wait()  # all cameras start together, after rendering
    return time_stream(camera, frames, truth, VisionParams())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--scenario", default="mixed", help="clip of the single-stream run")
    parser.add_argument("--frames", type=int, default=1200, help="frames per stream")
    parser.add_argument("--seeds", type=int, default=10,
                        help="seeds per scenario in the accuracy run (0: skip it)")
    parser.add_argument("--real-only", action="store_true",
                        help="score only the real-footage clips (bench.footage)")
    parser.add_argument("--size", type=_size, default=None, metavar="WxH",
                        help="resize the real clips' frames to WxH (not timed), line scaled")
    parser.add_argument("--model", type=Path, default=None,
                        help="count the real clips with this ONNX person detector (detector: dnn)")
    parser.add_argument("--layout", choices=("yolov8", "yolox"), default="yolov8",
                        help="--model's layout (vision.dnn_layout)")
    parser.add_argument("--process-width", type=int, default=None,
                        help="vision.process_width of the real-footage runs")
    parser.add_argument("--dnn-confidence", type=float, default=None,
                        help="vision.dnn_confidence of --model")
    args = parser.parse_args()
    vision: dict[str, Any] = {}
    if args.process_width is not None:
        vision["process_width"] = args.process_width
    if args.model is not None:
        vision.update(detector="dnn", model=args.model, dnn_layout=args.layout)
        if args.dnn_confidence is not None:
            vision["dnn_confidence"] = args.dnn_confidence
    if args.real_only:
        real(args.size, vision)
        return

    print(f"machine: {os.cpu_count()} cores, OpenCV {cv2.__version__} "
          f"({cv2.getNumThreads()} threads), load average {_load()}")
    frames, truth = clip(args.scenario, 0, args.frames)
    params = VisionParams()
    print(f"clip: {args.scenario} (looped), {len(frames)} frames 640x480 @ {truth.fps:g} fps; "
          f"processing width {params.process_width}")

    single = time_stream(0, frames, truth, params)
    print("\none stream, default OpenCV threads")
    _report([single], single.wall_s)
    cv2.setNumThreads(1)
    single1 = time_stream(0, frames, truth, params)
    print("one stream, OpenCV on 1 thread")
    _report([single1], single1.wall_s)

    print(f"\n{args.cameras} cameras, one process each (OpenCV 1 thread each), load {_load()}")
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(args.cameras)
    jobs = [(i, CAMERA_CLIPS[i % len(CAMERA_CLIPS)], i, args.frames, start)
            for i in range(args.cameras)]
    wall = time.perf_counter()
    with context.Pool(args.cameras) as pool:
        timings = pool.map(_camera, jobs)
    elapsed = max(t.wall_s for t in timings)
    _report(timings, elapsed)
    print(f"(whole run incl. rendering and process start: {time.perf_counter() - wall:.1f} s)")
    if args.seeds > 0:
        accuracy(args.seeds)
    real(args.size, vision)
    print(f"\nload average after: {_load()}")


def _score(job: tuple[str, int, int]) -> tuple[str, int, Score]:
    name, seed, every = job
    cv2.setNumThreads(1)
    frames, truth = render(name, seed)
    return name, every, score(run(frames, truth, every=every), truth.crossings)


def accuracy(seeds: int) -> None:
    """Precision and recall of every scenario over ``seeds`` seeds, at full and half rate."""
    jobs = [(name, seed, every) for every in (1, 2) for name in sorted(SCENARIOS)
            for seed in range(seeds)]
    with multiprocessing.get_context("spawn").Pool() as pool:
        results = pool.map(_score, jobs)
    for every in (1, 2):
        print(f"\naccuracy, {seeds} seeds per scenario, "
              f"{'every frame' if every == 1 else 'every other frame'}")
        total: Score | None = None
        for name in sorted(SCENARIOS):
            scores = [s for n, e, s in results if n == name and e == every]
            summed = sum(scores[1:], scores[0])
            total = summed if total is None else total + summed
            print("  " + summed.line(name))
        assert total is not None
        print("  " + total.line("overall"))


def _size(text: str) -> Size:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if match is None or min(int(match[1]), int(match[2])) < 16:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 640x480, got {text!r}")
    return int(match[1]), int(match[2])


def _real(job: tuple[str, int, bool, Size | None, dict[str, Any]]) -> footage.ClipResult:
    name, every, sized, size, vision = job
    cv2.setNumThreads(1)
    truth = next(t for t in footage.truths() if t.name == name)
    return footage.score_clip(truth, every=every, sized=sized, size=size, vision=vision)


def real(size: Size | None = None, vision: dict[str, Any] | None = None) -> None:
    """Real footage with hand-labelled truth, per clip, apart from the rendered scenarios;
    at each clip's own size, or resized to ``size``; ``vision``: other VisionParams fields."""
    vision = vision or {}
    truths = footage.truths()
    ready = footage.available()
    for truth in truths:
        if truth not in ready:
            print(f"real footage: {truth.name} ({truth.clip}) not fetched (python -m bench.footage fetch)")
    if not ready:
        return
    jobs = [(t.name, every, sized, size, vision) for sized in (False, True) for every in (1, 2)
            for t in ready if not sized or t.person_px is not None]
    with multiprocessing.get_context("spawn").Pool() as pool:
        results = pool.map(_real, jobs)
    where = "native size" if size is None else f"resized to {size[0]}x{size[1]}"
    params = VisionParams(**vision)
    print(f"\nreal footage: detector {params.detector}"
          + (f" ({params.model}, {params.dnn_layout}, confidence {params.dnn_confidence:g})"
             if params.detector == "dnn" else "")
          + f", processing width {params.process_width}")
    for sized in (False, True):
        for every in (1, 2):
            rows = [r for r in results if r.sized == sized and r.every == every]
            if not rows:
                continue
            print(f"\nreal footage ({where}), "
                  f"{'person size measured by hand' if sized else 'line and in-side only'}, "
                  f"{'every frame' if every == 1 else 'every other frame'}")
            for r in rows:
                print(f"  {r.score.line(r.name)}  {r.frames / r.cpu_s:6.1f} frames/CPU-s")
            total = sum((r.score for r in rows[1:]), rows[0].score)
            print("  " + total.line("overall"))


def _report(timings: list[Timing], elapsed: float) -> None:
    for t in timings:
        print(f"  camera {t.camera}: {t.frames} frames, {t.frames / t.wall_s:7.1f} frames/s wall, "
              f"{t.frames / t.cpu_s:7.1f} frames/CPU-s, {t.cpu_s:6.2f} CPU s, "
              f"{t.crossings} crossings")
    if len(timings) > 1:
        frames = sum(t.frames for t in timings)
        cpu = sum(t.cpu_s for t in timings)
        print(f"  total: {frames / elapsed:7.1f} frames/s wall ({frames / elapsed / len(timings):.1f} "
              f"per camera), {frames / cpu:7.1f} frames/CPU-s, {cpu:.2f} CPU s in {elapsed:.2f} s")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
