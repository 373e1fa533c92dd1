"""The optional ONNX person detector, on small models the tests build with ``onnx``: the
documented YOLOv8 and YOLOX layouts, letterboxing, the confidence threshold, NMS, the person class, the
errors an installer sees, and a run of the counting pipeline with it."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import GraphProto, TensorProto, helper, numpy_helper  # noqa: E402

from edge.camera.config import CameraSource  # noqa: E402
from edge.camera.vision.config import VisionParams  # noqa: E402
from edge.camera.vision.detectors import make_detector  # noqa: E402
from edge.camera.vision.dnn import DnnDetector, letterbox, yolox_grid  # noqa: E402
from edge.camera.vision.pipeline import CountingPipeline  # noqa: E402
from hardware.camera.render import _frames, ground_truth  # noqa: E402
from hardware.camera.scenarios import Cast, Scenario  # noqa: E402
from hardware.camera.score import score  # noqa: E402
from linli.errors import ConfigError  # noqa: E402

OPSET = [helper.make_opsetid("", 17)]


def save(graph: GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET)
    model.ir_version = 8  # what every onnxruntime of the last years reads
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def fixed_model(path: Path, rows: np.ndarray, size: tuple[int, int] = (64, 64)) -> Path:
    """A model whose output is ``rows`` ([1, 4 + C, N]) whatever the picture (the input
    still flows into it: times zero)."""
    width, height = size
    nodes = [
        helper.make_node("ReduceSum", ["images", "all"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["rows", "nothing"], ["output0"]),
    ]
    inits = [numpy_helper.from_array(rows.astype(np.float32), "rows"),
             numpy_helper.from_array(np.array([0, 1, 2, 3], np.int64), "all"),
             numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    graph = helper.make_graph(
        nodes, "fixed",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(rows.shape))], inits)
    return save(graph, path)


def columns(*boxes: tuple[float, ...]) -> np.ndarray:
    """Boxes (cx, cy, w, h, class scores...) → the [1, 4 + C, N] layout."""
    return np.array(boxes, np.float32).T[None]


def test_boxes_come_back_in_frame_pixels_through_the_letterbox(tmp_path: Path) -> None:
    # a 320x240 frame in a 64x64 input: scale 0.2, 64x48 centred, 8 px of border above
    model = fixed_model(tmp_path / "m.onnx", columns((32, 32, 20, 16, 0.9, 0.1)))
    detector = DnnDetector(model)
    assert detector.size == (64, 64)
    found = detector.detect(np.full((240, 320, 3), 128, np.uint8), np.zeros((240, 320), np.uint8))
    assert len(found) == 1
    assert found[0].bbox == pytest.approx((110, 80, 100, 80), abs=0.01)
    assert found[0].point == pytest.approx((160, 120), abs=0.01)
    assert found[0].score == pytest.approx(0.9) and found[0].count == 1


def test_threshold_nms_and_person_class_only(tmp_path: Path) -> None:
    rows = columns(
        (20, 20, 10, 12, 0.90, 0.00),   # a person
        (21, 20, 10, 12, 0.80, 0.00),   # the same person again, weaker: suppressed
        (45, 40, 10, 12, 0.60, 0.00),   # another person, apart
        (45, 20, 10, 12, 0.30, 0.00),   # too unsure
        (10, 50, 10, 12, 0.05, 0.95),   # something else (class 1)
    )
    detector = DnnDetector(fixed_model(tmp_path / "m.onnx", rows), confidence=0.5)
    frame = np.zeros((64, 64, 3), np.uint8)  # same size as the input: scale 1, no border
    found = detector.detect(frame, np.zeros((64, 64), np.uint8))
    assert sorted((d.point, d.score) for d in found) == [((20, 20), 0.9), ((45, 40), 0.6)]
    lower = DnnDetector(fixed_model(tmp_path / "m2.onnx", rows), confidence=0.25)
    assert len(lower.detect(frame, frame[:, :, 0])) == 3
    assert DnnDetector(tmp_path / "m.onnx", person_class=1).detect(frame, frame[:, :, 0])[0] \
        .point == (10, 50)


def test_letterbox_is_centred_grey_rgb() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :, 2] = 255  # red in BGR
    tensor, scale, pad = letterbox(frame, (64, 64))
    assert tensor.shape == (1, 3, 64, 64) and tensor.dtype == np.float32
    assert scale == pytest.approx(0.32) and pad == (0.0, 16.0)
    assert tensor[0, 0, 32, 32] == pytest.approx(1.0) and tensor[0, 2, 32, 32] == 0
    assert tensor[0, :, 2, 32] == pytest.approx(114 / 255)


def test_what_an_installer_is_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="needs 'model'"):
        VisionParams(detector="dnn")
    assert make_detector(VisionParams()) is None  # the motion detector stays the default
    with pytest.raises(ConfigError, match="no such file"):
        make_detector(VisionParams(detector="dnn", model=tmp_path / "absent.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a usable ONNX model"):
        DnnDetector(tmp_path / "junk.onnx")
    wrong = fixed_model(tmp_path / "wrong.onnx", np.zeros((1, 4, 8), np.float32))
    with pytest.raises(ConfigError, match=r"\[1, 4 \+ classes, boxes\]"):
        DnnDetector(wrong).detect(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64), np.uint8))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ConfigError, match=r"linli\[dnn\]"):
        DnnDetector(wrong)


def yolox_rows(size: tuple[int, int], classes: int,
               cells: dict[tuple[int, int, int], tuple[float, ...]]) -> np.ndarray:
    """A raw YOLOX head output ([1, cells, 5 + C]) for an input ``size``: every cell empty
    but ``cells`` ((stride, column, row) → x, y, log w, log h, objectness, class scores)."""
    grid, strides = yolox_grid(size)
    rows = np.zeros((len(grid), 5 + classes), np.float32)
    for (stride, column, row), values in cells.items():
        index = next(i for i in range(len(grid)) if strides[i, 0] == stride
                     and tuple(grid[i]) == (column, row))
        rows[index] = values
    return rows[None]


def test_yolox_layout_decodes_the_grid_with_objectness(tmp_path: Path) -> None:
    # 64x64 input: grids of 8x8, 4x4 and 2x2 cells (84 rows), stride 8 first, row-major
    assert yolox_grid((64, 64))[0].shape == (84, 2)
    rows = yolox_rows((64, 64), 2, {
        # stride 8, cell (3, 2), offsets 0.5: centre (28, 20); exp(log 2) * 8 = 16 wide,
        # exp(log 3) * 8 = 24 high; objectness 0.9 x person 0.8
        (8, 3, 2): (0.5, 0.5, np.log(2), np.log(3), 0.9, 0.8, 0.1),
        # sure it is an object, but not a person (0.9 x 0.1)
        (16, 2, 1): (0.0, 0.0, 0.0, 0.0, 0.9, 0.1, 0.95),
        # a person's class score, but no object (0.2 x 0.9)
        (32, 1, 1): (0.0, 0.0, 0.0, 0.0, 0.2, 0.9, 0.0),
    })
    model = fixed_model(tmp_path / "x.onnx", rows)
    detector = DnnDetector(model, confidence=0.5, layout="yolox")
    # a 128x96 frame: scale 0.5 into the input's top-left corner, no padding before it
    found = detector.detect(np.zeros((96, 128, 3), np.uint8), np.zeros((96, 128), np.uint8))
    assert len(found) == 1
    assert found[0].bbox == pytest.approx((40, 16, 32, 48), abs=0.01)
    assert found[0].point == pytest.approx((56, 40), abs=0.01)
    assert found[0].score == pytest.approx(0.72)
    params = VisionParams(detector="dnn", model=model, dnn_layout="yolox",
                          dnn_confidence=0.05)
    built = make_detector(params)
    assert isinstance(built, DnnDetector) and built.layout == "yolox"
    points = sorted(d.point for d in built.detect(np.zeros((64, 64, 3), np.uint8),
                                                  np.zeros((64, 64), np.uint8)))
    assert points == [(28, 20), (32, 16), (32, 32)]  # cell centres x stride, 0.09 and 0.18


def test_yolox_letterbox_is_top_left_bgr_0_255() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, :, 2] = 255  # red in BGR
    tensor, scale, pad = letterbox(frame, (64, 64), "yolox")
    assert tensor.shape == (1, 3, 64, 64) and tensor.dtype == np.float32
    assert scale == pytest.approx(0.32) and pad == (0.0, 0.0)
    assert tensor[0, 2, 10, 10] == 255 and tensor[0, 0, 10, 10] == 0
    assert list(tensor[0, :, 50, 10]) == [114, 114, 114]  # below the picture (32 rows)


def test_yolox_layout_refuses_another_grid(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dnn_layout"):
        VisionParams(detector="dnn", model=tmp_path / "m.onnx", dnn_layout="yolov5")
    # 80 rows are not the 84 cells of a 64x64 input (a decoded or P6 export, another size)
    model = fixed_model(tmp_path / "m.onnx", np.zeros((1, 80, 85), np.float32))
    with pytest.raises(ConfigError, match=r"\[1, grid cells, 5 \+ classes\]"):
        DnnDetector(model, layout="yolox").detect(np.zeros((64, 64, 3), np.uint8),
                                                  np.zeros((64, 64), np.uint8))


def centroid_model(path: Path, empty: np.ndarray, box: tuple[float, float]) -> Path:
    """A one-class model that finds one person: the centroid of what differs from the empty
    scene ``empty`` (a letterboxed [1, 3, H, W] tensor), a box of fixed size ``box`` around
    it, scored by how much differs."""
    _, _, height, width = empty.shape
    xs = np.tile(np.arange(width, dtype=np.float32), (height, 1))[None, None]
    ys = np.tile(np.arange(height, dtype=np.float32)[:, None], (1, width))[None, None]
    consts = {"empty": empty, "xs": xs, "ys": ys, "cut": np.array(0.3, np.float32),
              "gain": np.array(0.05, np.float32), "top": np.array(0.95, np.float32),
              "eps": np.array(1e-3, np.float32), "shape": np.array([1, 1, 1], np.int64),
              "channels": np.array([1], np.int64), "all": np.array([1, 2, 3], np.int64),
              "w": np.full((1, 1, 1), box[0], np.float32),
              "h": np.full((1, 1, 1), box[1], np.float32)}
    nodes = [
        helper.make_node("Sub", ["images", "empty"], ["d3"]),
        helper.make_node("Abs", ["d3"], ["a3"]),
        helper.make_node("ReduceSum", ["a3", "channels"], ["d1"], keepdims=1),
        helper.make_node("Sub", ["d1", "cut"], ["over"]),
        helper.make_node("Relu", ["over"], ["mask"]),
        helper.make_node("ReduceSum", ["mask", "all"], ["mass4"], keepdims=1),
        helper.make_node("Mul", ["mask", "xs"], ["mx"]),
        helper.make_node("Mul", ["mask", "ys"], ["my"]),
        helper.make_node("ReduceSum", ["mx", "all"], ["sx4"], keepdims=1),
        helper.make_node("ReduceSum", ["my", "all"], ["sy4"], keepdims=1),
        helper.make_node("Add", ["mass4", "eps"], ["den4"]),
        helper.make_node("Div", ["sx4", "den4"], ["cx4"]),
        helper.make_node("Div", ["sy4", "den4"], ["cy4"]),
        helper.make_node("Mul", ["mass4", "gain"], ["raw4"]),
        helper.make_node("Min", ["raw4", "top"], ["score4"]),
        *(helper.make_node("Reshape", [f"{name}4", "shape"], [name])
          for name in ("cx", "cy", "score")),
        helper.make_node("Concat", ["cx", "cy", "w", "h", "score"], ["output0"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "centroid",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 5, 1])],
        [numpy_helper.from_array(value, name) for name, value in consts.items()])
    return save(graph, path)


def test_the_pipeline_counts_with_the_dnn_detector(tmp_path: Path) -> None:
    cast = Cast(random.Random("dnn"))
    cast.add(cast.cross(0.0, 200, "in", 160))
    cast.add(cast.cross(4.5, 300, "out", 160))
    built = Scenario("dnn", "two people, one after the other", cast.scene,
                     tuple(cast.walkers), cast.end())
    truth = ground_truth(built, 1)
    frames = list(_frames(built, 1))
    empty = np.median(np.stack(frames[::4]), axis=0).astype(np.uint8)  # people move on
    model = tmp_path / "person.onnx"
    params = VisionParams(detector="dnn", model=model)
    # the pipeline hands the detector 320x240 frames; a 160x128 input halves them
    scene, _, _ = letterbox(cv2.resize(empty, (320, 240), interpolation=cv2.INTER_AREA),
                            (160, 128))
    centroid_model(model, scene, (16.0, 14.0))
    camera = CameraSource.model_validate({
        "device": "cam", "url": "rtsp://10.0.0.9/s",
        "counting": truth.counting.model_dump(), "vision": params.model_dump()})
    detector = make_detector(camera.vision)
    assert isinstance(detector, DnnDetector)
    pipeline = CountingPipeline(camera.counting, camera.vision, detector)
    crossings = [c for i, frame in enumerate(frames) for c in pipeline.process(frame, i / truth.fps)]
    result = score(crossings, truth.crossings)
    assert truth.total("in") == truth.total("out") == 1
    assert result.matched == result.true_total == result.counted_total == 2

