"""An optional person detector: an installer-supplied ONNX model run by ONNX Runtime.

    vision:
      detector: dnn
      model: /var/lib/linli/models/person.onnx
      dnn_layout: yolov8          # or yolox
      dnn_confidence: 0.5

Needs the ``dnn`` extra (``pip install 'linli[dnn]'``: ``onnxruntime``, MIT). No model ships
with Linli: the installer supplies one whose licence suits the site.

**Two layouts are supported**, named by ``vision.dnn_layout`` (a model file does not say
which it is: both have one ``[1, 3, H, W]`` input and one three-dimensional output):

``yolov8`` (the default): the YOLOv8 detection export (Ultralytics ``yolo export
format=onnx``, and models that copy its head).

* input: ``[1, 3, H, W]`` float32, RGB, values 0..1; H and W are read from the model (640
  when they are dynamic). The frame is *letterboxed* into it: scaled to fit keeping its
  aspect ratio, centred, the borders grey (114), as the model was trained.
* output: the first tensor, ``[1, 4 + C, N]`` float32: for each of N candidate boxes, its
  centre x, centre y, width and height in input pixels, then the scores of the C classes
  (already 0..1; no separate objectness).

``yolox``: the YOLOX export (Megvii ``tools/export_onnx.py``, as the released
``yolox_nano.onnx`` … files, Apache-2.0), the raw head without ``--decode_in_inference``.

* input: ``[1, 3, H, W]`` float32, **BGR, values 0..255** (no normalisation); the frame is
  letterboxed into the *top-left* corner, the rest grey (114), as YOLOX trains.
* output: ``[1, N, 5 + C]`` float32, one row per grid cell of strides 8, 16 and 32 (N =
  the cells of the three grids, 3549 for a 416 input): x and y offsets in the cell, log
  width and log height in strides, objectness, then the C class scores. A box is
  ``((x + column) * stride, (y + row) * stride, exp(w) * stride, exp(h) * stride)``; its
  person score is objectness times the person class's score.

In both the person class is 0 (COCO order); a model with a single class (C = 1, people
only) works too. Boxes of the person class scoring at least ``dnn_confidence`` go through
non-maximum suppression (``cv2.dnn.NMSBoxes``, IoU 0.45) and come out as :class:`Detection` s
in the processing frame's pixels, the box's centre as the person's point. Each detection is
one person (``count`` 1): the network tells people apart, the blob splitting does not apply.

The pipeline calls a detector only when something moves, so the network costs CPU only
while people are in view. It sees the processing frame (``vision.process_width`` wide,
320 by default): raise that for small people and a larger model input (416, 640).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from edge.camera.vision.detection import Detection
from linli.errors import ConfigError

Layout = Literal["yolov8", "yolox"]

DEFAULT_INPUT = 640
"""Input side assumed when the model's input size is dynamic."""
NMS_IOU = 0.45
"""Boxes overlapping a better one by more than this (intersection over union) are dropped."""
PAD_VALUE = 114
PERSON = 0
YOLOX_STRIDES = (8, 16, 32)
EXPECTED = {"yolov8": "[1, 4 + classes, boxes]", "yolox": "[1, grid cells, 5 + classes]"}


class DnnDetector:
    """Person boxes from a YOLOv8- or YOLOX-layout ONNX model (see the module docstring)."""

    def __init__(self, model: Path, confidence: float = 0.5, person_class: int = PERSON,
                 threads: int = 1, layout: Layout = "yolov8") -> None:
        try:
            import onnxruntime
        except ImportError:
            raise ConfigError("vision.detector 'dnn' needs ONNX Runtime: install the dnn "
                              "extra (pip install 'linli[dnn]')") from None
        if not model.is_file():
            raise ConfigError(f"vision.model {model}: no such file (the ONNX person "
                              "detector the installer supplies)")
        options = onnxruntime.SessionOptions()
        # one camera, one worker process: the agent's other cameras need the other cores
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own unexported exception types
            raise ConfigError(f"vision.model {model}: not a usable ONNX model ({exc})") from None
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        shape = inputs[0].shape
        if len(inputs) != 1 or len(shape) != 4 or shape[1] not in (3, "3", None) \
                or not outputs or len(outputs[0].shape) != 3:
            raise ConfigError(f"vision.model {model}: expected a {layout} model (input "
                              f"[1, 3, H, W], output {EXPECTED[layout]}); got input {shape}, "
                              f"output {outputs[0].shape if outputs else None}")
        self._input = inputs[0].name
        self.size = (_side(shape[3]), _side(shape[2]))
        """Model input (width, height)."""
        self.layout: Layout = layout
        self.confidence = confidence
        self.person_class = person_class
        self._model = model
        self._grid = yolox_grid(self.size) if layout == "yolox" else None

    def detect(self, frame: np.ndarray, fg_mask: np.ndarray) -> list[Detection]:
        """People in ``frame`` (BGR uint8), in its pixels; ``fg_mask`` is not used."""
        tensor, scale, pad = letterbox(frame, self.size, self.layout)
        output = np.asarray(self._session.run(None, {self._input: tensor})[0])
        return self.decode(output, scale, pad, (frame.shape[1], frame.shape[0]))

    def decode(self, output: np.ndarray, scale: float, pad: tuple[float, float],
               frame_size: tuple[int, int]) -> list[Detection]:
        """Person detections from the model's output (its layout's shape)."""
        if self.layout == "yolox":
            boxes, scores = self._yolox(output)
        else:
            boxes, scores = self._yolov8(output)
        keep = np.nonzero(scores >= self.confidence)[0]
        if keep.size == 0:
            return []
        return self._people(boxes[keep], scores[keep], scale, pad, frame_size)

    def _wrong(self, output: np.ndarray) -> ConfigError:
        return ConfigError(f"vision.model {self._model}: output {list(output.shape)} is not "
                           f"{EXPECTED[self.layout]} with class {self.person_class} "
                           f"(vision.dnn_layout {self.layout})")

    def _yolov8(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if output.ndim != 3 or output.shape[0] != 1 or output.shape[1] < 5 + self.person_class:
            raise self._wrong(output)
        rows = output[0]
        return rows[:4].T, rows[4 + self.person_class]

    def _yolox(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._grid is not None
        cells, strides = self._grid
        if output.ndim != 3 or output.shape[0] != 1 or output.shape[1] != len(cells) \
                or output.shape[2] < 6 + self.person_class:
            raise self._wrong(output)
        rows = output[0]
        centres = (rows[:, :2] + cells) * strides
        # exp of a raw log-size: large garbage values must not overflow into warnings
        sides = np.exp(np.minimum(rows[:, 2:4], 20.0)) * strides
        return np.hstack((centres, sides)), rows[:, 4] * rows[:, 5 + self.person_class]

    def _people(self, boxes: np.ndarray, scores: np.ndarray, scale: float,
                pad: tuple[float, float], frame_size: tuple[int, int]) -> list[Detection]:
        """``boxes`` (centre x, centre y, width, height in input pixels) above the threshold,
        suppressed and mapped back into the frame."""
        cx, cy, w, h = boxes.T
        width, height = frame_size
        x0 = np.clip((cx - w / 2 - pad[0]) / scale, 0, width)
        y0 = np.clip((cy - h / 2 - pad[1]) / scale, 0, height)
        x1 = np.clip((cx + w / 2 - pad[0]) / scale, 0, width)
        y1 = np.clip((cy + h / 2 - pad[1]) / scale, 0, height)
        rects = [[float(a), float(b), float(c - a), float(d - b)]
                 for a, b, c, d in zip(x0, y0, x1, y1, strict=True)]
        chosen = cv2.dnn.NMSBoxes(rects, [float(s) for s in scores], self.confidence, NMS_IOU)
        found: list[Detection] = []
        for index in np.asarray(chosen, dtype=np.int64).reshape(-1):
            x, y, bw, bh = rects[int(index)]
            if bw < 1 or bh < 1:
                continue  # wholly outside the picture (in the letterbox border)
            found.append(Detection((x, y, bw, bh), (x + bw / 2, y + bh / 2),
                                   round(float(scores[int(index)]), 3)))
        return found


def letterbox(frame: np.ndarray, size: tuple[int, int], layout: Layout = "yolov8"
              ) -> tuple[np.ndarray, float, tuple[float, float]]:
    """``frame`` (BGR) fitted into ``size`` (w, h) keeping its aspect ratio on grey, as the
    ``[1, 3, h, w]`` float tensor ``layout`` wants (yolov8: centred, RGB 0..1; yolox: top-left,
    BGR 0..255); the scale and the (x, y) padding."""
    height, width = frame.shape[:2]
    scale = min(size[0] / width, size[1] / height)
    new_w, new_h = round(width * scale), round(height * scale)
    if layout == "yolox":
        left = top = 0
    else:
        left, top = round((size[0] - new_w) / 2 - 0.1), round((size[1] - new_h) / 2 - 0.1)
    resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = cv2.copyMakeBorder(resized, top, size[1] - new_h - top, left,
                                size[0] - new_w - left, cv2.BORDER_CONSTANT,
                                value=(PAD_VALUE, PAD_VALUE, PAD_VALUE))
    if layout == "yolox":
        tensor = canvas.transpose(2, 0, 1)[None].astype(np.float32)
    else:
        rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
        tensor = rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    return tensor, scale, (float(left), float(top))


def yolox_grid(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The YOLOX head's cells for an input ``size`` (w, h): each row's (column, row) in its
    grid and its stride, in the head's output order (stride 8 first, row-major)."""
    cells: list[np.ndarray] = []
    strides: list[np.ndarray] = []
    for stride in YOLOX_STRIDES:
        columns, rows = np.meshgrid(np.arange(size[0] // stride), np.arange(size[1] // stride))
        cells.append(np.stack((columns, rows), axis=2).reshape(-1, 2))
        strides.append(np.full((cells[-1].shape[0], 1), stride))
    return (np.concatenate(cells).astype(np.float32),
            np.concatenate(strides).astype(np.float32))


def _side(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else DEFAULT_INPUT
