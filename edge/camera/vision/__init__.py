"""Counting people through a doorway from video, on a CPU, with no model weights.

``pipeline.CountingPipeline`` takes frames and yields ``counting.Crossing``; it is configured by
``config.CountingSpec`` and ``config.VisionParams`` and detects through the
``detection.Detector`` protocol (``detection.BlobDetector`` by default). The package itself
imports nothing, so that reading an agent's configuration does not load OpenCV.
"""
