"""Which person detector a camera uses (``vision.detector``).

The pipeline builds the motion blob detector itself (it needs the counting line's axis), so
``motion`` gives None here; ``dnn`` loads the installer's ONNX model. Imported lazily: an
agent without the ``dnn`` extra never imports onnxruntime.
"""

from __future__ import annotations

from edge.camera.vision.config import VisionParams
from edge.camera.vision.detection import Detector


def make_detector(params: VisionParams) -> Detector | None:
    """The detector ``params`` ask for; None for the pipeline's default (motion blobs).

    Raises :class:`linli.errors.ConfigError` when ``dnn`` cannot run (no onnxruntime, no
    model file, a model of another layout).
    """
    if params.detector == "motion":
        return None
    from edge.camera.vision.dnn import DnnDetector

    assert params.model is not None  # VisionParams refuses dnn without a model
    return DnnDetector(params.model, confidence=params.dnn_confidence, layout=params.dnn_layout)
