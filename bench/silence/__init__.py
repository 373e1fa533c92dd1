"""The silence benchmark: the silence detectors of ``linli rules replay`` on real and
synthetic homes, with injected incidents (``python -m bench.silence``)."""
