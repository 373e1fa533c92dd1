"""``linli camera snapshot|count``: the installer tools on a live MJPEG stream and a clip."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from edge.camera import cli
from hardware.camera.render import GroundTruth
from linli.errors import ConfigError
from linli.settings import load_settings
from tests.integration.test_camera_agent import rendered_clip
from tests.integration.test_camera_streams import LINE, PASSWORD, MjpegCamera


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GroundTruth]:
    return rendered_clip(tmp_path_factory, "tailgating", seed=1, frames=205)


@pytest.fixture
def camera_stream() -> Iterator[MjpegCamera]:
    camera = MjpegCamera()
    yield camera
    camera.close()


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    # ``count`` installs SIGTERM/SIGINT handlers as the real command does; give pytest back its own
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def write_agent(tmp_path: Path, *cameras: dict[str, Any]) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump({"community": "juxin", "building": "b01",
                                    "sources": [{"type": "camera", **c} for c in cameras]}))
    return path


def linli_camera(*argv: str) -> int:
    """``linli camera ARGV…`` through the subcommand's own parser and ``run``."""
    parser = argparse.ArgumentParser(prog="linli")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["camera", *argv])
    code: int = args.run(args, load_settings(None))
    return code


def test_snapshot_draws_the_line_on_a_live_frame(tmp_path: Path, camera_stream: MjpegCamera,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = write_agent(tmp_path, {"device": "b01-u1-cam", "url": camera_stream.url(),
                                    "counting": LINE})
    out = tmp_path / "preview" / "cam.png"
    assert linli_camera("snapshot", "--config", str(config), "--device", "b01-u1-cam",
                        "--out", str(out)) == 0
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape == (240, 320, 3)
    on_line = picture[120, 10:310]
    yellow = (on_line[:, 2] > 200) & (on_line[:, 1] > 200) & (on_line[:, 0] < 80)
    assert yellow.mean() > 0.9  # the counting line, drawn across the frame at y = 120
    assert np.abs(picture[40:80, 10:60].astype(int) - 100).max() < 20  # the frame itself
    printed = capsys.readouterr().out
    assert str(out) in printed and "320x240" in printed
    assert PASSWORD not in printed and "admin:***@" in printed


def test_count_prints_the_crossings_of_a_clip(tmp_path: Path, clip: tuple[Path, GroundTruth],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path, truth = clip
    config = write_agent(tmp_path, {"device": "b01-u1-cam", "url": str(path), "fps": truth.fps,
                                    "file_pace": "fast", "counting": truth.counting.model_dump()})
    assert linli_camera("count", "--config", str(config), "--device", "b01-u1-cam",
                        "--seconds", "30") == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2].startswith(
        f"b01-u1-cam: in {truth.total('in')}, out {truth.total('out')} in ")
    assert f"{truth.frames} frames read, {truth.frames} processed, 0 skipped" in printed[-2]
    assert printed[-1].startswith("health: background rebuilds 0, lighting changes 0, ")
    assert "person 60 px along the line x 90 px across at the line" in printed[-1]
    assert "band 18 px each side of the line" in printed[-1]  # a fifth of 90 px
    assert ", line jumps " in printed[-1]
    crossings = [line.split() for line in printed[:-2] if " x" in line and "confidence" in line]
    assert len(crossings) == len(truth.crossings)
    # a file's crossings: at their frame number and position in the file, in time order
    frames = [int(words[1]) for words in crossings]
    assert frames == sorted(frames)
    for words, true in zip(crossings, truth.crossings, strict=True):
        assert words[0] == "frame" and words[3] == true.direction
        assert abs(int(words[1]) - true.frame) <= truth.fps  # within a second
        assert float(words[2].rstrip("s")) == pytest.approx(int(words[1]) / truth.fps, abs=0.03)


def test_count_counts_a_clip_shorter_than_the_first_backgrounds_window(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str]) -> None:
    # 1.5 s: the pipeline still holds every frame back for its first background when the
    # file ends; the worker flushes them, so the crossing at ~0.6 s is counted
    path, truth = rendered_clip(tmp_path_factory, "present_at_start", seed=0, frames=30)
    assert truth.frames / truth.fps < 2.0 and [c.direction for c in truth.crossings] == ["out"]
    config = write_agent(tmp_path, {"device": "b01-u1-cam", "url": str(path), "fps": truth.fps,
                                    "file_pace": "fast", "counting": truth.counting.model_dump()})
    assert linli_camera("count", "--config", str(config), "--device", "b01-u1-cam",
                        "--seconds", "30") == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2].startswith("b01-u1-cam: in 0, out 1 in "), printed


def test_count_says_when_no_frame_came(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = write_agent(tmp_path, {"device": "b01-u1-cam", "url": str(tmp_path / "gone.avi"),
                                    "counting": LINE, "reconnect_min_s": 0.1})
    assert linli_camera("count", "--config", str(config), "--device", "b01-u1-cam",
                        "--seconds", "0.5") == 1
    assert "gone.avi not found" in capsys.readouterr().out


def test_configuration_mistakes_name_the_field_or_the_device(tmp_path: Path) -> None:
    config = write_agent(tmp_path, {"device": "b01-u1-cam", "url": "0", "counting": LINE})
    with pytest.raises(ConfigError, match=r"no camera source with device 'b01-u9-cam' "
                                          r"\(cameras: b01-u1-cam\)"):
        linli_camera("snapshot", "--config", str(config), "--device", "b01-u9-cam")
    broken = write_agent(tmp_path, {"device": "b01-u1-cam", "url": "ftp://x/y", "counting": LINE})
    with pytest.raises(ConfigError, match=r"sources\.0\.camera\.url: .*unsupported url scheme"):
        linli_camera("count", "--config", str(broken), "--device", "b01-u1-cam", "--seconds", "1")


def test_calibrate_watches_a_live_stream_for_the_seconds_asked(
        tmp_path: Path, camera_stream: MjpegCamera, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_LOCALE", "en")
    config = write_agent(tmp_path, {"device": "b01-u1-cam", "url": camera_stream.url(),
                                    "fps": 5, "counting": LINE})
    out = tmp_path / "cal.png"
    assert linli_camera("calibrate", "--config", str(config), "--device", "b01-u1-cam",
                        "--seconds", "1.5", "--out", str(out)) == 0
    printed = capsys.readouterr().out
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape == (240, 320, 3)
    # nobody walks in front of this camera: nothing to measure, and it says so
    assert "too few single-person tracks" in printed and "the line was rarely crossed" in printed
    assert "the configured cap is 5" in printed
    assert PASSWORD not in printed and "admin:***@" in printed


def test_calibrate_reads_a_clip_instead_of_the_url(tmp_path: Path, clip: tuple[Path, GroundTruth],
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINLI_LOCALE", raising=False)
    path, truth = clip
    config = write_agent(tmp_path, {"device": "b01-u1-cam", "url": "rtsp://10.0.0.9/stream",
                                    "counting": truth.counting.model_dump()})
    assert linli_camera("calibrate", "--config", str(config), "--device", "b01-u1-cam",
                        "--file", str(path), "--out", str(tmp_path / "c.png")) == 0
    printed = capsys.readouterr().out  # in Chinese unless LINLI_LOCALE says otherwise
    assert f"读取 {truth.frames} 帧" in printed and "person_width_px" in printed
    with pytest.raises(ConfigError, match="no such file"):
        linli_camera("calibrate", "--config", str(config), "--device", "b01-u1-cam",
                     "--file", str(tmp_path / "absent.avi"))
    with pytest.raises(SystemExit):  # one source: the stream for N seconds, or a clip
        linli_camera("calibrate", "--config", str(config), "--device", "b01-u1-cam",
                     "--file", str(path), "--seconds", "3")
