"""Camera source configuration and URL handling: mistakes name their field, secrets stay hidden."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from edge.camera.config import CameraSource
from edge.camera.urls import TargetKind, mask_url, parse_target, scrub
from edge.config import load_agent_config, parse_agent_config
from linli.errors import ConfigError

LINE = {"line": {"a": [0, 240], "b": [640, 240], "in_side": "below"}}

EXAMPLE = """\
community: juxin
building: b01
sources:
  - type: log
    device: b01-u1-door
    path: /var/lib/linli/logs/b01-u1-door.jsonl
  - type: camera
    device: b01-u1-cam
    url: rtsp://admin:Secr3t!@10.0.0.21:554/Streaming/Channels/102
    fps: 8
    counting:
      frame_size: [640, 480]
      line: {a: [0, 240], b: [640, 240], in_side: below}
    snapshots: {enabled: true, dir: /var/lib/linli/snapshots, keep_days: 3}
  - type: camera
    device: b01-u2-cam
    url: 0
    counting:
      zone: {polygon: [[100, 100], [500, 100], [500, 400], [100, 400]], in_side: inside}
"""


def camera(**values: Any) -> dict[str, Any]:
    return {"type": "camera", "device": "b01-cam", "url": "rtsp://cam.local/stream",
            "counting": LINE, **values}


def agent(*sources: dict[str, Any]) -> dict[str, Any]:
    return {"community": "juxin", "building": "b01", "sources": list(sources)}


def error_of(source: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_agent_config(agent(source))
    return str(caught.value)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    config = load_agent_config(path)
    door, cam, usb = config.sources
    assert door.type == "log"
    assert isinstance(cam, CameraSource) and isinstance(usb, CameraSource)
    assert cam.target.kind is TargetKind.STREAM and cam.fps == 8
    assert cam.snapshots.enabled and cam.snapshots.keep_days == 3
    assert cam.snapshots.blur_faces and cam.snapshots.blur_region == "person"
    assert usb.url == "0" and usb.target.kind is TargetKind.DEVICE and usb.target.location == 0
    assert usb.vision.process_width > 0  # defaults when absent


@pytest.mark.parametrize(("values", "where", "says"), [
    ({"url": "rtsp://admin:pw@/x"}, "sources.0.camera.url", "has no host"),
    ({"url": "ftp://cam/x"}, "sources.0.camera.url", "unsupported url scheme"),
    ({"url": ""}, "sources.0.camera.url", "empty"),
    ({"fps": 0}, "sources.0.camera.fps", "greater than 0"),
    ({"counting": {}}, "sources.0.camera.counting", "line"),
    ({"snapshots": {"keep_days": 0}}, "sources.0.camera.snapshots.keep_days", "greater"),
    ({"snapshots": {"blur_region": "face"}}, "sources.0.camera.snapshots.blur_region", "person"),
    ({"fsp": 5}, "sources.0.camera.fsp", "Extra inputs"),
    ({"device": "Cam 1"}, "sources.0.camera.device", "device"),
    ({"reconnect_min_s": 60, "reconnect_max_s": 10}, "sources.0.camera", "reconnect_min_s"),
    ({"loop": True}, "sources.0.camera", "loop: applies to video files only"),
    ({"file_pace": "fast"}, "sources.0.camera", "file_pace"),
])
def test_mistakes_name_their_field(values: dict[str, Any], where: str, says: str) -> None:
    message = error_of(camera(**values))
    assert f"{where}:" in message
    assert says in message


def test_errors_never_show_the_stream_password() -> None:
    message = error_of(camera(url="rtsp://admin:Secr3t@/Streaming/1"))
    assert "Secr3t" not in message and "admin:***@" in message


def test_file_options_apply_to_files(tmp_path: Path) -> None:
    start = "2026-11-22T08:00:00+08:00"
    config = parse_agent_config(agent(camera(url=str(tmp_path / "clip.avi"), loop=True,
                                             file_pace="fast", start_time=start)))
    (source,) = config.sources
    assert isinstance(source, CameraSource)
    assert source.target.is_file and source.loop
    assert source.start_time == dt.datetime.fromisoformat(start)


def test_two_cameras_cannot_share_a_device() -> None:
    with pytest.raises(ConfigError, match="same device"):
        parse_agent_config(agent(camera(), camera(url="0")))


@pytest.mark.parametrize(("url", "kind", "location"), [
    ("rtsp://10.0.0.5/ch1", TargetKind.STREAM, "rtsp://10.0.0.5/ch1"),
    ("HTTP://cam:8080/video.mjpg", TargetKind.STREAM, "HTTP://cam:8080/video.mjpg"),
    ("2", TargetKind.DEVICE, 2),
    ("/dev/video1", TargetKind.DEVICE, "/dev/video1"),
    ("file:///data/clip%201.avi", TargetKind.FILE, "/data/clip 1.avi"),
    ("clips/entrance.mp4", TargetKind.FILE, "clips/entrance.mp4"),
])
def test_what_a_url_names(url: str, kind: TargetKind, location: str | int) -> None:
    target = parse_target(url)
    assert (target.kind, target.location) == (kind, location)


@pytest.mark.parametrize(("url", "masked"), [
    ("rtsp://admin:12345@10.0.0.5:554/Streaming/Channels/101",
     "rtsp://admin:***@10.0.0.5:554/Streaming/Channels/101"),
    ("rtsp://admin:p@ss:w0rd@cam/live", "rtsp://admin:***@cam/live"),
    ("http://cam/snap.cgi?user=admin&pwd=hunter2&res=1",
     "http://cam/snap.cgi?user=admin&pwd=***&res=1"),
    ("http://cam/v?token=abc.def&loginpas=x", "http://cam/v?token=***&loginpas=***"),
    ("rtsp://viewer@cam/live", "rtsp://viewer@cam/live"),
    ("/data/clip.avi", "/data/clip.avi"),
    ("0", "0"),
])
def test_mask_url_hides_passwords_and_tokens(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_scrub_hides_the_url_however_a_message_quotes_it() -> None:
    url = "rtsp://admin:Secr3t/x@10.0.0.5/live"
    message = (f"open {url} failed; tcp://10.0.0.5?auth=admin:Secr3t/x refused; "
               "also password=Secr3t%2Fx in the options")
    cleaned = scrub(message, url)
    assert "Secr3t" not in cleaned
    assert "rtsp://admin:***@10.0.0.5/live" in cleaned
