"""Camera tooling: the synthetic doorway video renderer (``hardware.camera.render``)."""
