"""What a Hikvision terminal sends, read into records, heartbeats and pictures.

Three shapes carry the same access-control record:

- the ``alertStream`` parts: a JSON envelope (``eventType: AccessControllerEvent``,
  ``dateTime``, and an ``AccessControllerEvent`` object with ``majorEventType``,
  ``subEventType``, ``serialNo``, ``currentEvent``…), or the same in XML on older
  firmware; heartbeats are XML ``EventNotificationAlert`` parts (``videoloss``,
  ``heartBeat``) and pictures are ``image/jpeg`` parts (dropped: snapshots are not kept);
- the HTTP push: ``multipart/form-data`` with the envelope in an ``event_log`` (or
  ``AccessControllerEvent``) field and the picture in another, or a bare JSON body;
- the ``AcsEvent`` search answer: flat ``InfoList`` items spelled ``major``, ``minor``,
  ``time``.

Nothing here raises anything but ``BadPayload``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.vendors.multipart import BadPart, MultipartReader, Part, boundary_of, media_type
from edge.vendors.payload import BadPayload, as_int, load_json, load_xml, local_name

__all__ = ["AcsRecord", "Heartbeat", "Picture", "SearchPage", "body_complete", "push_parts",
           "read_envelope", "read_part", "read_search_page"]

_XML_ROOT = re.compile(rb"^\s*(?:<\?[^>]{0,200}\?>\s*)?<([A-Za-z_][\w.:-]{0,100})")
SEARCH_STATUSES = ("MORE", "OK", "NO MATCH")


@dataclass(frozen=True, slots=True)
class AcsRecord:
    """One access-control record, whichever way it came."""

    major: int
    minor: int
    time: Any
    serial: int | None
    live: bool | None
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A part that only says the terminal is alive (or reports a non-access event)."""

    event_type: str


@dataclass(frozen=True, slots=True)
class Picture:
    """An image part, dropped unread."""

    size: int


Notice = AcsRecord | Heartbeat | Picture


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One answer of ``POST /ISAPI/AccessControl/AcsEvent``."""

    status: str
    items: list[Mapping[str, Any]]
    total: int | None


def read_part(part: Part) -> Notice:
    """The notice one stream or push part carries."""
    kind, body = part.content_type, part.body
    if kind.startswith("image/") or kind == "application/octet-stream":
        return Picture(len(body))
    if not body:
        raise BadPayload(f"empty {kind or 'untyped'} part")
    if "json" in kind or (not kind.endswith("xml") and body[:1] in (b"{", b"[")):
        return read_envelope(load_json(body, "JSON part"))
    if kind.endswith("xml") or body.lstrip()[:1] == b"<":
        return _read_xml(body)
    raise BadPayload(f"unexpected part of type {kind or 'unknown'}")


def read_envelope(envelope: Any) -> AcsRecord | Heartbeat:
    """An event notification (stream, push, or XML turned into a mapping)."""
    if not isinstance(envelope, dict):
        raise BadPayload(f"expected a JSON object, got {type(envelope).__name__}")
    event_type = envelope.get("eventType")
    inner = envelope.get("AccessControllerEvent")
    if isinstance(inner, dict):
        time = envelope.get("dateTime") or inner.get("dateTime") or inner.get("time")
        return _record(inner, time)
    if event_type == "AccessControllerEvent":
        raise BadPayload("AccessControllerEvent notification without its object")
    if "major" in envelope or "majorEventType" in envelope:
        return _record(envelope, envelope.get("dateTime") or envelope.get("time"))
    if isinstance(event_type, str) and event_type:
        return Heartbeat(event_type[:64])
    raise BadPayload("neither an event notification nor an access record")


def read_search_page(body: bytes) -> SearchPage:
    """The answer of one AcsEvent search request."""
    payload = load_json(body, "AcsEvent answer")
    if isinstance(payload, dict) and "AcsEvent" not in payload and "statusString" in payload:
        raise BadPayload(f"the device refused the search: {payload.get('statusString')} "
                         f"({payload.get('subStatusCode')})")
    found = payload.get("AcsEvent") if isinstance(payload, dict) else None
    if not isinstance(found, dict):
        raise BadPayload("AcsEvent answer without an AcsEvent object")
    status = found.get("responseStatusStrg")
    if status not in SEARCH_STATUSES:
        raise BadPayload(f"AcsEvent answer with responseStatusStrg {status!r}")
    items = found.get("InfoList") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise BadPayload("AcsEvent InfoList is not a list of objects")
    return SearchPage(str(status), items, as_int(found.get("totalMatches"), "totalMatches"))


def body_complete(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a stream part's body is whole (so it need not wait for the next boundary)."""
    kind = media_type(headers)
    if kind.startswith("image/"):
        return False
    if body.endswith(b"}") and ("json" in kind or body[:1] == b"{"):
        try:
            load_json(body)
        except BadPayload:
            return False
        return True
    if body.endswith(b">") and ("xml" in kind or body.lstrip()[:1] == b"<"):
        root = _XML_ROOT.match(body)
        return root is not None and body.endswith(b"</" + root.group(1) + b">")
    return False


def push_parts(content_type: str, body: bytes, max_part_bytes: int) -> list[Part | BadPart]:
    """The parts of one pushed request: a multipart body's parts, or the body itself."""
    boundary = boundary_of(content_type)
    if boundary is None:
        return [Part({"content-type": content_type}, body.strip())]
    reader = MultipartReader(boundary, max_part_bytes=max_part_bytes)
    return reader.feed(body) + reader.finish()


def _record(fields: Mapping[str, Any], time: Any) -> AcsRecord:
    major = as_int(fields.get("majorEventType", fields.get("major")), "majorEventType")
    minor = as_int(fields.get("subEventType", fields.get("minor")), "subEventType")
    if major is None or minor is None:
        raise BadPayload("access record without majorEventType/subEventType")
    live = fields.get("currentEvent")
    if isinstance(live, str) and live.lower() in ("true", "false"):
        live = live.lower() == "true"
    return AcsRecord(major, minor, time, as_int(fields.get("serialNo"), "serialNo"),
                     live if isinstance(live, bool) else None, fields)


def _read_xml(body: bytes) -> AcsRecord | Heartbeat:
    root = load_xml(body, "XML part")
    children = {local_name(child.tag): child for child in root}
    envelope: dict[str, Any] = {name: (child.text or "").strip()
                                for name, child in children.items() if len(child) == 0}
    acs = children.get("AccessControllerEvent")
    if acs is not None:
        envelope["AccessControllerEvent"] = {local_name(c.tag): (c.text or "").strip() for c in acs}
    if "eventType" not in envelope:
        envelope["eventType"] = local_name(root.tag)
    return read_envelope(envelope)

