"""An incremental parser of ``multipart/*`` bodies as access terminals stream them.

Terminals keep one HTTP response open for hours and write a part per event:
``--boundary``, a few header lines, a blank line, the body. What they write is not always
what the RFC says, so this parser:

- finds parts by their **boundaries**, never by ``Content-Length`` (Hikvision declares a
  few bytes more than it sends; trusting it would swallow the next part's start);
- accepts CRLF or bare LF line ends, and transport padding after a boundary;
- hands a part over as soon as its body is complete — a terminal writes the *next*
  boundary only with the next event, so waiting for it would delay every event until the
  next heartbeat. Whether a body is complete is the vendor's call (``complete``: a JSON
  object that parses, an XML root that closed, ``Heartbeat``); bytes that arrive after a
  completed body and before the next boundary form another body with the same headers;
- caps what it holds: a part larger than ``max_part_bytes`` or a header block larger
  than ``max_header_bytes`` is reported (``BadPart``) and skipped up to the next
  boundary, so a hostile or broken device cannot make the agent buffer without end;
- never raises on input: anything it cannot make sense of comes out as a ``BadPart``
  with an operator-readable reason and the first bytes of what was wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, auto

__all__ = ["BadPart", "BodyComplete", "MultipartReader", "Part", "boundary_of"]

RAW_KEPT = 512
"""Bytes of a bad part kept for the rejects file."""
DELIMITER_LINE_MAX = 256
"""A boundary line longer than this (padding included) is not a boundary line."""

BodyComplete = Callable[[Mapping[str, str], bytes], bool]
"""``complete(headers, body)``: True when ``body`` (trailing whitespace removed) is a whole
body, so the part can be handed over before the next boundary arrives."""

_BOUNDARY = re.compile(r'boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;,"]{1,200}))', re.IGNORECASE)


def boundary_of(content_type: str) -> str | None:
    """The ``boundary`` parameter of a ``Content-Type`` header value, or None."""
    match = _BOUNDARY.search(content_type or "")
    if match is None:
        return None
    return match.group(1) or match.group(2)


@dataclass(frozen=True, slots=True)
class Part:
    """One complete part: lower-cased header names, body without trailing whitespace."""

    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``application/json``)."""
        return media_type(self.headers)


@dataclass(frozen=True, slots=True)
class BadPart:
    """Bytes that did not make a part, and why (``raw`` holds the first bytes)."""

    reason: str
    raw: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        """The media type of the part it belonged to, when its headers were read."""
        return media_type(self.headers)


def media_type(headers: Mapping[str, str]) -> str:
    """``type/subtype`` of a part's ``Content-Type``, lower-cased; empty when absent."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


class _State(Enum):
    PREAMBLE = auto()   # before the first boundary, or after a closing one
    HEADERS = auto()    # after a boundary line, before the blank line
    BODY = auto()       # inside a body
    AFTER = auto()      # a body was handed over early; the next boundary has not come yet
    DISCARD = auto()    # skipping an oversized or broken part up to the next boundary


_NEED_MORE = object()


class MultipartReader:
    """Feed it the bytes of one multipart body as they arrive; it returns what completed."""

    def __init__(self, boundary: str | bytes, *, max_part_bytes: int = 64 * 1024,
                 max_header_bytes: int = 8 * 1024, complete: BodyComplete | None = None) -> None:
        token = boundary.encode("latin-1") if isinstance(boundary, str) else boundary
        if not token:
            raise ValueError("empty multipart boundary")
        self._delimiter = b"--" + token
        self._max_part = max_part_bytes
        self._max_header = max_header_bytes
        self._complete = complete
        self._state = _State.PREAMBLE
        self._buf = bytearray()
        self._scan = 0
        self._headers: dict[str, str] = {}
        self._garbage = bytearray()
        self._out: list[Part | BadPart] = []

    def feed(self, data: bytes) -> list[Part | BadPart]:
        """Parse ``data`` (any slice of the stream); the parts and bad parts it completed."""
        self._buf += data
        while self._step():
            pass
        out, self._out = self._out, []
        return out

    def finish(self) -> list[Part | BadPart]:
        """The stream ended: a complete last body still comes out; a cut one is a BadPart."""
        if self._state is _State.BODY and self._buf.strip():
            body = bytes(self._buf).rstrip()
            if self._complete is not None and self._complete(self._headers, body):
                self._out.append(Part(dict(self._headers), body))
            else:
                self._bad(f"the stream ended inside a part ({len(self._buf)} bytes received)",
                          self._buf)
        elif self._state is _State.HEADERS and self._buf.strip():
            self._bad("the stream ended inside a part's headers", self._buf)
        elif self._state is _State.PREAMBLE:
            self._garbage += self._buf
        self._flush_garbage()
        self._state, self._buf, self._scan = _State.PREAMBLE, bytearray(), 0
        out, self._out = self._out, []
        return out

    # -- one step of the state machine; True when it made progress ---------------------

    def _step(self) -> bool:
        if self._state is _State.PREAMBLE:
            return self._seek_first()
        if self._state is _State.HEADERS:
            return self._read_headers()
        if self._state is _State.AFTER:
            return self._after_body()
        return self._read_body(discard=self._state is _State.DISCARD)

    def _seek_first(self) -> bool:
        at = self._buf.find(self._delimiter)
        while at >= 0:
            found = self._delimiter_line(at)
            if found is _NEED_MORE:
                break
            if found is not None:
                self._garbage += self._buf[:at]
                self._flush_garbage()
                return self._enter(found)
            at = self._buf.find(self._delimiter, at + 1)
        # keep only what may still be the start of a boundary
        keep = len(self._delimiter) + DELIMITER_LINE_MAX
        if at < 0 and len(self._buf) > keep:
            self._garbage += self._buf[:-keep]
            del self._buf[:-keep]
            if len(self._garbage) > self._max_part:
                self._flush_garbage()
        return False

    def _read_headers(self) -> bool:
        end, skip = _blank_line(self._buf)
        if end < 0:
            if len(self._buf) > self._max_header:
                self._bad(f"part headers longer than {self._max_header} bytes", self._buf)
                self._state, self._scan = _State.DISCARD, 0
                return True
            return False
        block, rest = bytes(self._buf[:end]), self._buf[end + skip:]
        self._buf = bytearray(rest)
        try:
            self._headers = _parse_headers(block)
        except ValueError as exc:
            self._bad(str(exc), block)
            self._state, self._scan = _State.DISCARD, 0
            return True
        self._state, self._scan = _State.BODY, 0
        return True

    def _read_body(self, *, discard: bool) -> bool:
        at = self._find_line_delimiter()
        while at >= 0:
            body_end = at - 1 if at > 0 else 0
            found = self._delimiter_line(at)
            if found is _NEED_MORE:
                self._scan = max(0, body_end)
                return False
            if found is not None:
                if not discard:
                    self._emit(self._buf[:body_end])
                return self._enter(found)
            self._scan = at + 1
            at = self._find_line_delimiter()
        self._scan = max(0, len(self._buf) - len(self._delimiter) - 1)
        if discard:
            keep = len(self._delimiter) + 1
            if len(self._buf) > keep:
                del self._buf[:-keep]
                self._scan = 0
            return False
        if len(self._buf) > self._max_part:
            self._too_large(self._buf)
            self._state = _State.DISCARD
            return True
        if self._complete is not None and self._buf.strip():
            body = bytes(self._buf).rstrip()
            if self._complete(self._headers, body):
                self._out.append(Part(dict(self._headers), body))
                self._buf.clear()
                self._state, self._scan = _State.AFTER, 0
                return True
        return False

    def _after_body(self) -> bool:
        start = len(self._buf) - len(self._buf.lstrip())
        del self._buf[:start]
        if not self._buf:
            return False
        head = bytes(self._buf[:len(self._delimiter)])
        if self._delimiter.startswith(head) and len(head) < len(self._delimiter):
            return False
        if head == self._delimiter:
            found = self._delimiter_line(0)
            if found is _NEED_MORE:
                return False
            if found is not None:
                return self._enter(found)
        # more body after a complete one: another body under the same headers
        self._state, self._scan = _State.BODY, 0
        return True

    # -- helpers ---------------------------------------------------------------------------

    def _find_line_delimiter(self) -> int:
        """Index of a delimiter that starts a line at or after the scan position, or -1."""
        if self._scan == 0 and self._buf.startswith(self._delimiter):
            return 0
        at = self._buf.find(b"\n" + self._delimiter, self._scan)
        return at + 1 if at >= 0 else -1

    def _delimiter_line(self, at: int) -> object:
        """For a delimiter at ``at``: ("close"|"part", end of its line), None when it is no
        delimiter after all, or _NEED_MORE when the line is not complete yet."""
        after = at + len(self._delimiter)
        if len(self._buf) <= after:
            return _NEED_MORE
        if self._buf[after:after + 1] == b"-":
            if len(self._buf) < after + 2:
                return _NEED_MORE
            return ("close", after + 2) if self._buf[after + 1:after + 2] == b"-" else None
        eol = self._buf.find(b"\n", after, after + DELIMITER_LINE_MAX)
        if eol < 0:
            return _NEED_MORE if len(self._buf) - after < DELIMITER_LINE_MAX else None
        if self._buf[after:eol].strip():
            return None
        return ("part", eol + 1)

    def _enter(self, found: object) -> bool:
        assert isinstance(found, tuple)
        kind, end = found
        del self._buf[:end]
        self._scan = 0
        self._headers = {}
        self._state = _State.PREAMBLE if kind == "close" else _State.HEADERS
        return True

    def _emit(self, body: bytes | bytearray) -> None:
        if len(body) > self._max_part:
            self._too_large(body)
            return
        stripped = bytes(body).rstrip()
        if stripped or self._headers:
            self._out.append(Part(dict(self._headers), stripped))

    def _too_large(self, body: bytes | bytearray) -> None:
        # the same first bytes whether the part was cut at the cap or seen whole
        self._bad(f"part larger than {self._max_part} bytes; skipped to the next boundary",
                  body[:self._max_part])

    def _bad(self, reason: str, raw: bytes | bytearray) -> None:
        self._out.append(BadPart(reason, bytes(raw[:RAW_KEPT]), dict(self._headers)))

    def _flush_garbage(self) -> None:
        if self._garbage.strip():
            self._out.append(BadPart(f"{len(self._garbage)} bytes outside any part",
                                     bytes(self._garbage[:RAW_KEPT])))
        self._garbage.clear()


def _blank_line(buf: bytearray) -> tuple[int, int]:
    """Where the header block ends and how long the blank line is; (-1, 0) if not yet."""
    if buf.startswith(b"\r\n"):
        return 0, 2
    if buf.startswith(b"\n"):
        return 0, 1
    candidates = [(at, 3) for at in (buf.find(b"\n\r\n"),) if at >= 0]
    candidates += [(at, 2) for at in (buf.find(b"\n\n"),) if at >= 0]
    if not candidates:
        return -1, 0
    at, length = min(candidates)
    return at, length


def _parse_headers(block: bytes) -> dict[str, str]:
    """``Name: value`` lines → {lower-cased name: value}; ValueError names a bad line."""
    headers: dict[str, str] = {}
    for raw in block.split(b"\n"):
        line = raw.rstrip(b"\r").decode("latin-1")
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or any(c in name for c in " \t\x00"):
            raise ValueError(f"malformed part header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers
