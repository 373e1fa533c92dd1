"""Process life: a stop event set by SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def install_stop_handlers() -> threading.Event:
    """Return an event that SIGTERM or SIGINT sets; services loop until it is set."""
    stop = threading.Event()

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop
