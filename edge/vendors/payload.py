"""Careful decoding of what terminals send: text, JSON, XML, times, numbers.

Everything here raises ``BadPayload`` with an operator-readable reason instead of letting
``UnicodeDecodeError``, ``RecursionError`` (JSON nested thousands deep) or a ``TypeError``
from a field of the wrong type escape into the source loop.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["BadPayload", "as_int", "as_text", "epoch_time", "load_json", "load_xml", "local_name",
           "parse_device_time", "utf8"]

MAX_TEXT_FIELD = 256
"""Longer identifiers (person, reader, door) are not what a terminal sends."""


class BadPayload(ValueError):
    """A payload that cannot become a record; the message is the reason kept aside."""


def utf8(body: bytes, what: str = "payload") -> str:
    """``body`` as UTF-8 text (a BOM is dropped); BadPayload names the bad byte."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"{what} is not UTF-8 (byte {exc.start}: "
                         f"{body[exc.start:exc.start + 1]!r})") from exc


def load_json(body: bytes | str, what: str = "payload") -> Any:
    """Parse JSON text; BadPayload when it is not valid (or absurdly deep) JSON."""
    text = utf8(body, what) if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise BadPayload(f"{what} is nested too deeply") from exc
    except ValueError as exc:
        raise BadPayload(f"{what} is not valid JSON: {exc}") from exc


def load_xml(body: bytes, what: str = "XML") -> ET.Element:
    """Parse an XML document; BadPayload when it is not well-formed, and for any document
    type declaration (no entity a device sends can be trusted to stay small)."""
    text = utf8(body, what)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise BadPayload("XML with a document type declaration is refused")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise BadPayload(f"{what} is not well-formed XML: {exc}") from exc


def local_name(tag: str) -> str:
    """An element's tag without its namespace (``{http://www.hikvision.com/…}x`` → ``x``)."""
    return tag.rsplit("}", 1)[-1]


def as_int(value: Any, what: str) -> int | None:
    """An integer field that devices send as a number or as digits; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadPayload(f"{what} must be a number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise BadPayload(f"{what} must be a number, not {str(value)[:40]!r}")


def as_text(value: Any, what: str) -> str | None:
    """A short identifier sent as text or a number; None when absent or blank."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise BadPayload(f"{what} must be text, not {type(value).__name__}")
    value = value.strip()
    if len(value) > MAX_TEXT_FIELD:
        raise BadPayload(f"{what} is {len(value)} characters long")
    return value or None


def parse_device_time(value: Any, zone: ZoneInfo, what: str = "time") -> dt.datetime:
    """An ISO 8601 device time; one without an offset is in the device's ``zone``."""
    if not isinstance(value, str) or not 10 < len(value) < 40:
        raise BadPayload(f"bad {what} {str(value)[:40]!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload(f"bad {what} {value!r}: {exc}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def epoch_time(value: Any, what: str = "UTC") -> dt.datetime:
    """A device time sent as seconds since the epoch (number or digits)."""
    seconds = as_int(value, what)
    if seconds is None or not 0 < seconds < 4_102_444_800:  # before 2100
        raise BadPayload(f"bad {what} {str(value)[:40]!r}")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
