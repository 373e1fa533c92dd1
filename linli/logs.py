"""Logging set-up with credentials scrubbed from every record."""

from __future__ import annotations

import logging
import re
import sys

_URL_SECRET = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<secret>[^@/\s]+)@",
                         re.IGNORECASE)
_KEY_SECRET = re.compile(r"(?P<key>(?:password|passwd|token|secret|access_key)=)[^&\s]+",
                         re.IGNORECASE)


def redact(text: str) -> str:
    """Remove passwords and tokens from URLs and ``key=value`` pairs in ``text``."""
    text = _URL_SECRET.sub(r"\g<scheme>\g<user>:***@", text)
    return _KEY_SECRET.sub(r"\g<key>***", text)


class RedactingFilter(logging.Filter):
    """Scrubs secrets from the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(level: str = "INFO", *, name: str = "linli") -> None:
    """Log to stderr, one line per record, prefixed with the service's name."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("apscheduler", "httpx", "uvicorn.access", "urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
