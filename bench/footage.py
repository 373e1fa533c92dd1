"""Real-footage evaluation set for the people counter: clips, hand-labelled truth, scoring.

Each clip is a video file from a public repository whose licence allows the use, pinned to
repository, commit, path and sha256 (:data:`CLIPS`). The videos are not part of this
repository: ``python -m bench.footage fetch`` puts them in ``var/footage/`` (git-ignored)
from a local copy of each source repository's git directory (``--mirror DIR``: a folder
holding ``owner+name/repo`` git directories, as the search tool's ``fetch`` lays them out),
or from a folder of already-extracted files (``--from DIR``, else ``../shared/samples/footage/``
when present), and checks every sha256. With
neither it prints where each clip comes from, so it can be fetched by hand with
``git clone`` and ``git show COMMIT:PATH``.

The truth of each clip, labelled by hand frame by frame, is ``tests/data/footage/<clip>.json``;
a second counting line on the same clip (another installation: independent crossings) is
another file, ``<clip>_<where>.json``, whose ``"name"`` tells it apart in the results::

    {"clip": "...", "fps": 25.0, "frame_size": [960, 540],
     "name": "...",                          # optional, default the clip's name
     "line": {"a": [x, y], "b": [x, y], "in_side": "below"},
     "crossings": [{"frame": 57, "direction": "in"}, ...],
     "person_px": {"width": 40, "length": 40},   # measured by hand; a hint, not a default
                                             # (width along the line, length across it)
     "notes": "...", "labeller": "...",
     "last_frame": 640}                      # optional: truth covers frames 0..last_frame only

``frame`` is the 0-based frame index at which the person's centre is on the line.
:func:`score_clip` runs a fresh :class:`CountingPipeline` over the clip with only the line
and in-side configured (``sized=True`` adds the hand-measured person size) at every frame or
every ``every``-th frame, and scores it with the same matching as the rendered scenarios
(``hardware.camera.score``).

    python -m bench.footage fetch [--mirror /work/.mirror] [--from DIR]
    python -m bench.footage list
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import cv2

from edge.camera.vision.config import CountingSpec, LineSpec, VisionParams
from edge.camera.vision.detectors import make_detector
from edge.camera.vision.pipeline import CountingPipeline
from hardware.camera.render import TrueCrossing
from hardware.camera.score import Score, score

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "footage"
TRUTH = ROOT / "tests" / "data" / "footage"
SHARED = ROOT.parent / "shared" / "samples" / "footage"
"""Where the team keeps copies of the clip files (beside the repository, like the other samples)."""


@dataclass(frozen=True)
class Clip:
    """One pinned video file of a public repository."""

    name: str
    repo: str
    commit: str
    path: str
    sha256: str
    licence: str
    note: str
    deb: str | None = None
    """``package=version`` of a Debian package shipping the same file (fetched with
    ``apt-get download`` when the repository snapshots lack it, e.g. files of 4 MiB and more)."""
    deb_path: str | None = None
    """The file's path inside that package."""

    @property
    def file(self) -> Path:
        """Where the clip lives once fetched."""
        return CACHE / f"{self.name}{Path(self.path).suffix}"

    def source(self) -> str:
        """Where to get it by hand."""
        where = f"github.com/{self.repo} @ {self.commit}: {self.path}"
        if self.deb is not None:
            where += f", or Debian package {self.deb}: {self.deb_path}"
        return where


CLIPS: tuple[Clip, ...] = (
    Clip("concourse_overhead", "Jenin-Immanuel/people-counter-opencv",
         "ba9ec983a3e664c917e3bb7888fdd3f68a5e25b9", "video2.mp4",
         "1965bb543f414e991bb8bf3fa17f4cd757c5eb5a266aa96d92901eb265b7f850", "MIT",
         "960x540 25 fps, 341 frames; high overhead view of a station concourse, greyscale, "
         "people walking both ways, groups"),
    Clip("walkway_oblique", "opencv/opencv",
         "0dd31c3bba49e26298458ce2e18969a31dbd7df8", "samples/data/vtest.avi",
         "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
         "PETS 2009 (University of Reading), redistributed in OpenCV's samples and Debian main",
         "768x576 10 fps, 795 frames; oblique outdoor view of a campus path junction, people "
         "walking both ways singly and in groups (PETS 2009 S2, view 1)",
         deb="opencv-doc=4.6.0+dfsg-12",
         deb_path="usr/share/doc/opencv-doc/examples/data/vtest.avi"),
    Clip("street_elevated", "theAIGuysCode/yolov4-deepsort",
         "24e675f59d556e13c680df125918ec031c4bd683", "data/video/test.mp4",
         "1ee4f08b14d0b79d62c33081b9085f9ff7e739e022a537faeb390ca1b398d489",
         "repository GPL-3.0; the clip's origin is not stated there: the scene is the Oxford "
         "Town Centre sequence (Benfold and Reid, CVPR 2011; University of Oxford, research "
         "use) re-encoded at 30 fps, so treat it as research-use only",
         "1920x1080 30 fps, 302 frames; elevated view down a pedestrian shopping street "
         "(Cornmarket Street, Oxford), people walking and pushing bicycles both ways"),
)
"""Excluded on purpose: every clip of intel-iot-devkit/sample-videos and of
koba/overhead-camera-people-counter (the reviewers' held-out set); clips whose repository has
no licence; stock footage carrying a stock agency's watermark whatever the repository's
licence says."""


@dataclass(frozen=True)
class Truth:
    """A clip's hand-labelled crossings and the counting line an installer would draw."""

    clip: str
    fps: float
    frame_size: tuple[int, int]
    counting: CountingSpec
    crossings: tuple[TrueCrossing, ...]
    person_px: tuple[float, float] | None
    """Hand-measured person width along the counting line and length across it (pixels of
    ``frame_size``, the meaning of ``VisionParams.person_width_px``/``person_length_px``:
    for a vertical line the width is a standing person's height), or None."""
    labeller: str
    notes: str
    last_frame: int | None = None
    """Truth covers frames 0..last_frame only (the rest is not labelled, so not counted)."""
    name: str = ""
    """What results call it: the clip, or a line variant on it (one clip, several lines)."""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.clip)


def load_truth(path: Path) -> Truth:
    """Read and check one truth file (a bad file raises ValueError naming the problem)."""
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    fps = float(raw["fps"])
    width, height = (int(v) for v in raw["frame_size"])
    line = LineSpec(**raw["line"])
    counting = CountingSpec(frame_size=(width, height), line=line)
    crossings: list[TrueCrossing] = []
    last = -1
    for i, c in enumerate(raw["crossings"]):
        frame, direction = int(c["frame"]), c["direction"]
        if direction not in ("in", "out"):
            raise ValueError(f"{path.name}: crossing {i}: direction {direction!r}")
        if frame < last:
            raise ValueError(f"{path.name}: crossings must be in frame order (crossing {i})")
        last = frame
        crossings.append(TrueCrossing(frame, frame / fps, _direction(direction), i))
    size = raw.get("person_px")
    person = (float(size["width"]), float(size["length"])) if size else None
    until = raw.get("last_frame")
    last_frame = None if until is None else int(until)
    if last_frame is not None and crossings and crossings[-1].frame > last_frame:
        raise ValueError(f"{path.name}: a crossing after last_frame {last_frame}")
    return Truth(str(raw["clip"]), fps, (width, height), counting, tuple(crossings), person,
                 str(raw["labeller"]), str(raw.get("notes", "")), last_frame,
                 str(raw.get("name") or ""))


def _direction(value: str) -> Literal["in", "out"]:
    return "in" if value == "in" else "out"


def truths() -> list[Truth]:
    """Every truth file, by file name (a clip's line variants follow the clip)."""
    return [load_truth(p) for p in sorted(TRUTH.glob("*.json"))]


def clip_named(name: str) -> Clip:
    """The pinned clip of that name."""
    for c in CLIPS:
        if c.name == name:
            return c
    raise KeyError(name)


@dataclass(frozen=True)
class ClipResult:
    """One clip counted once."""

    name: str
    every: int
    sized: bool
    score: Score
    frames: int
    cpu_s: float


def resized(truth: Truth, size: tuple[int, int]) -> Truth:
    """``truth`` for frames resized to ``size``: line, frame size and measured person size
    scaled per axis (crossing frames and times stay)."""
    fx, fy = size[0] / truth.frame_size[0], size[1] / truth.frame_size[1]
    line = truth.counting.line
    assert line is not None  # the footage truth files all have a line
    counting = CountingSpec(frame_size=size, line=LineSpec(
        a=(line.a[0] * fx, line.a[1] * fy), b=(line.b[0] * fx, line.b[1] * fy),
        in_side=line.in_side))
    person = truth.person_px
    if person is not None:
        # width is along the line, length across it
        ax, ay = _axis(line.a, line.b)
        along = math.hypot(ax * fx, ay * fy)
        across = math.hypot(ay * fx, ax * fy)
        person = (person[0] * along, person[1] * across)
    return replace(truth, frame_size=size, counting=counting, person_px=person)


def _axis(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Unit vector from ``a`` to ``b``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    norm = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    return dx / norm, dy / norm


def score_clip(truth: Truth, every: int = 1, sized: bool = False,
               size: tuple[int, int] | None = None,
               vision: dict[str, Any] | None = None) -> ClipResult:
    """Count the clip with a fresh pipeline (line and in-side only, unless ``sized``); with
    ``size``, on frames resized to it (not timed) and the truth scaled (:func:`resized`);
    ``vision``: other :class:`VisionParams` fields (e.g. ``detector: dnn``, its ``model``)."""
    counted = truth if size is None else resized(truth, size)
    fields = dict(vision or {})
    if sized and counted.person_px is not None:
        fields["person_width_px"], fields["person_length_px"] = counted.person_px
    params = VisionParams(**fields)
    pipeline = CountingPipeline(counted.counting, params, make_detector(params))
    capture = cv2.VideoCapture(str(clip_named(truth.clip).file))
    found = []
    processed = 0
    cpu = 0.0
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok or (truth.last_frame is not None and index > truth.last_frame):
                break
            if index % every == 0:
                if size is not None:
                    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                start = time.process_time()  # decoding is not timed: a camera decodes anyway
                found.extend(pipeline.process(frame, index / truth.fps))
                cpu += time.process_time() - start
                processed += 1
            index += 1
        found.extend(pipeline.flush())
    finally:
        capture.release()
    return ClipResult(truth.name, every, sized, score(found, truth.crossings), processed, cpu)


def available() -> list[Truth]:
    """Truth files whose clip is fetched and intact."""
    return [t for t in truths() if _intact(clip_named(t.clip))]


def _intact(clip: Clip) -> bool:
    return clip.file.is_file() and _sha256(clip.file) == clip.sha256


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(mirror: Path | None, folder: Path | None) -> int:
    """Put every clip in the cache; the number still missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    missing = 0
    for clip in CLIPS:
        if not _intact(clip):
            _fetch_one(clip, mirror, folder)
        if not _intact(clip) and SHARED.is_dir():
            _fetch_one(clip, None, SHARED)
        if _intact(clip):
            print(f"ok       {clip.name}: {clip.file.relative_to(ROOT)} ({clip.licence})")
        else:
            missing += 1
            clip.file.unlink(missing_ok=True)
            print(f"MISSING  {clip.name}: get {clip.source()} (sha256 {clip.sha256})")
    return missing


def _fetch_one(clip: Clip, mirror: Path | None, folder: Path | None) -> None:
    if folder is not None:
        for candidate in (folder / clip.file.name, folder / Path(clip.path).name):
            if candidate.is_file() and _sha256(candidate) == clip.sha256:
                shutil.copyfile(candidate, clip.file)
                return
    if mirror is not None:
        base = mirror / clip.repo.replace("/", "+") / "repo"
        for git_dir in (base / ".git", base):
            if not git_dir.is_dir():
                continue
            shown = subprocess.run(
                ["git", f"--git-dir={git_dir}", "show", f"{clip.commit}:{clip.path}"],
                capture_output=True, check=False)
            if shown.returncode == 0:
                clip.file.write_bytes(shown.stdout)
                return
    if clip.deb is not None and clip.deb_path is not None and shutil.which("apt-get"):
        _from_deb(clip, clip.deb, clip.deb_path)


def _from_deb(clip: Clip, deb: str, member: str) -> None:
    """Extract the clip from the pinned Debian package (the sha256 is checked by the caller)."""
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(["apt-get", "download", deb], cwd=tmp, capture_output=True,
                             check=False)
        packages = list(Path(tmp).glob("*.deb"))
        if got.returncode != 0 or not packages:
            return
        tree = Path(tmp) / "tree"
        if subprocess.run(["dpkg-deb", "-x", str(packages[0]), str(tree)],
                          capture_output=True, check=False).returncode == 0:
            source = tree / member
            if source.is_file():
                shutil.copyfile(source, clip.file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("fetch", help="put the clips in var/footage/, checking sha256")
    get.add_argument("--mirror", type=Path, help="folder of owner+name/repo git directories")
    get.add_argument("--from", dest="folder", type=Path, help="folder of the clip files")
    sub.add_parser("list", help="clips, licences and their truth")
    args = parser.parse_args()
    if args.command == "fetch":
        sys.exit(1 if fetch(args.mirror, args.folder) else 0)
    for truth in truths():
        clip = clip_named(truth.clip)
        ins = sum(1 for c in truth.crossings if c.direction == "in")
        print(f"{truth.name}: {clip.source()} [{clip.licence}] truth in/out "
              f"{ins}/{len(truth.crossings) - ins}, {'fetched' if _intact(clip) else 'not fetched'}")


if __name__ == "__main__":
    main()
