"""Pure ASGI middleware in front of every route: input limits and security headers.

    RequestGuard      refuses, before any route or the database sees it:
                      - a NUL character in the path or the query of an ``/api/`` route
                        (422: PostgreSQL text cannot hold one);
                      - a body over the size limit (413; the limit is ``api.max_body_bytes``
                        or a per-route exception from ``api.max_body_bytes_by_path``; the
                        rest of the body is read and dropped first, so that the client,
                        still sending, gets the answer and not a reset connection);
                      - a JSON body that is not JSON, holds a NUL character or a lone
                        surrogate in a string, or a number the database cannot store
                        (an integer beyond 64 bits, NaN, an infinity) (422).
    SecurityHeaders   adds the Content-Security-Policy, frame-ancestors, Referrer-Policy,
                      nosniff, Permissions-Policy and, over HTTPS, Strict-Transport-Security
                      headers to every response; ``Cache-Control: no-store`` to the API's
                      (they carry personal data).

Both answer with the JSON error envelope of ``api.errors``. CORS is Starlette's own
middleware, installed by ``app.create_app`` only when ``api.cors_origins`` lists origins.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import FieldError, error_response

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DRAIN_MAX_BYTES = 16 * 1024 * 1024
"""Past this, the rest of a refused body is not read: the connection is just closed."""
_NUL = "\x00"

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # data: for icons inlined in style sheets; blob: for a photo shown before it is sent
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
"""The UI loads its script, styles and data from this server only, and nothing inline."""

PERMISSIONS_POLICY = ("camera=(self), geolocation=(self), microphone=(), payment=(), usb=(), "
                      "serial=(), midi=()")
"""A grid worker's page may take a photo and a position; nothing may use the rest."""

HSTS = "max-age=31536000"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body without a length outgrows its limit.

    An HTTPException, so that FastAPI passes it on while it reads a body and the error
    handlers of ``api.errors`` render it as the JSON envelope.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class InvalidRequest(Exception):
    """Input the guard refuses: a 422 with the field at fault."""

    def __init__(self, location: str, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.error = FieldError(field=field, location=location, message=message)


def _path_pattern(template: str) -> re.Pattern[str]:
    """``/api/v1/alerts/{alert_id}/photos`` → a regex where ``{…}`` is one path segment."""
    parts = re.split(r"\{[^/{}]*\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + "/?")


class RequestGuard:
    """Refuse NUL characters, oversized bodies and JSON the database cannot hold."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 max_body_bytes_by_path: Mapping[str, int] | None = None,
                 api_prefix: str = "/api/") -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.api_prefix = api_prefix
        self._limits = [(_path_pattern(path), limit)
                        for path, limit in (max_body_bytes_by_path or {}).items()]

    def limit_for(self, path: str) -> int:
        """The body limit of ``path``: a per-route exception, or the default."""
        for pattern, limit in self._limits:
            if pattern.fullmatch(path):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = Headers(scope=scope)
        length = _content_length(headers)
        body = _Body(receive, limit,
                     sent=bool(length) or "chunked" in headers.get("transfer-encoding", ""),
                     drain=headers.get("expect", "").lower() != "100-continue")
        try:
            # Only the API's: the pages outside it (a push's /go/ link, the UI, /docs) answer
            # people with pages of their own, and take nothing from the path to the database.
            if scope["path"].startswith(self.api_prefix):
                check_path_and_query(scope)
        except InvalidRequest as exc:
            await body.drain()
            await _refuse(scope, receive, send, exc)
            return
        if length is not None and length > limit:
            if length <= DRAIN_MAX_BYTES:
                await body.drain()
            await _too_large(scope, receive, send, limit)
            return
        if scope["method"] in _BODY_METHODS and _is_json(headers.get("content-type")):
            try:
                check_json_body(await body.read())
            except BodyTooLarge:
                await body.drain()
                await _too_large(scope, receive, send, limit)
                return
            except InvalidRequest as exc:
                await _refuse(scope, receive, send, exc)
                return
        await self.app(scope, body.receive, body.send_after(send))


class _Body:
    """The request's body as the app reads it: counted against its limit (BodyTooLarge past
    it), buffered when the guard reads it first, and read to its end before an answer that
    does not wait for it (a 413, a 401): a server that closes while the client still sends
    makes the client see a reset connection instead of the answer."""

    def __init__(self, receive: Receive, limit: int, *, sent: bool, drain: bool) -> None:
        self._receive = receive
        self.limit = limit
        self.size = 0
        self.complete = not sent
        """True once the whole body has arrived (at once when the request has none)."""
        self._may_drain = drain
        self._buffered: bytes | None = None

    async def receive(self) -> Message:
        if self._buffered is not None:
            body, self._buffered = self._buffered, None
            return {"type": "http.request", "body": body, "more_body": False}
        message = await self._receive()
        if message["type"] != "http.request":
            self.complete = True  # the client went away
            return message
        self.size += len(message.get("body", b""))
        self.complete = not message.get("more_body", False)
        if self.size > self.limit:
            raise BodyTooLarge(self.limit)
        return message

    async def read(self) -> bytes:
        """The whole body (BodyTooLarge past the limit), given again to the app."""
        if self.complete:
            return b""  # the request has no body
        chunks = []
        while not self.complete:
            message = await self.receive()
            chunks.append(message.get("body", b""))
        self._buffered = b"".join(chunks)
        return self._buffered

    async def drain(self) -> None:
        """Read and drop what is left of the body, up to DRAIN_MAX_BYTES."""
        budget = DRAIN_MAX_BYTES
        while self._may_drain and not self.complete and budget > 0:
            message = await self._receive()
            if message["type"] != "http.request":
                break
            budget -= len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        self.complete = True

    def send_after(self, send: Send) -> Send:
        """``send``, reading the rest of the body first when the app answers before that."""

        async def send_after_body(message: Message) -> None:
            if message["type"] == "http.response.start" and not self.complete:
                await self.drain()
            await send(message)

        return send_after_body


def check_path_and_query(scope: Scope) -> None:
    """InvalidRequest for a NUL character (raw or ``%00``) in the path or the query."""
    if _NUL in scope["path"]:
        raise InvalidRequest("path", "path", "must not contain a NUL character (%00)")
    query = scope.get("query_string", b"")
    if b"\x00" in query or b"%00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if _NUL in name or _NUL in value:
                raise InvalidRequest("query", name.replace(_NUL, "\\x00"),
                                     "must not contain a NUL character (%00)")


def check_json_body(body: bytes) -> None:
    """InvalidRequest unless ``body`` (if any) is JSON whose values the database can store."""
    if not body.strip():
        return  # the route decides whether a body is required
    try:
        document = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except InvalidRequest:
        raise
    except UnicodeDecodeError as exc:
        raise InvalidRequest("body", "body", "is not JSON in UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InvalidRequest("body", "body", f"is not valid JSON: {exc.msg} at line "
                                             f"{exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise InvalidRequest("body", "body", "is nested too deeply") from exc
    for where, value in _leaves(document):
        if isinstance(value, str):
            if _NUL in value:
                raise InvalidRequest("body", where, "must not contain a NUL character (\\u0000)")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidRequest("body", where, "is not valid Unicode (a lone surrogate)") \
                    from exc
        elif isinstance(value, int) and not isinstance(value, bool) and not (
                INT64_MIN <= value <= INT64_MAX):
            raise InvalidRequest("body", where, "is out of range (a 64-bit integer at most)")


def _no_constant(name: str) -> Any:
    raise InvalidRequest("body", "body", f"is not valid JSON: {name} is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidRequest("body", "body", f"the number {text[:40]} is out of range")
    return value


def _leaves(document: Any) -> Iterator[tuple[str, Any]]:
    """Every key and scalar of a JSON document with its dotted place, without recursion."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                place = f"{where}.{key}" if where else str(key)
                yield place, key
                stack.append((place, item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{index}" if where else str(index), item)
                         for index, item in enumerate(value))
        else:
            yield where or "body", value


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def _content_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses such a request before it gets here


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: InvalidRequest) -> None:
    response = error_response(422, "validation_error", str(exc), fields=[exc.error])
    await response(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = error_response(413, "payload_too_large",
                              f"the request body is larger than {limit} bytes",
                              headers={"Connection": "close"})
    await response(scope, receive, send)


class SecurityHeaders:
    """Add the security headers to every response (a route's own CSP is kept)."""

    def __init__(self, app: ASGIApp, *, api_prefix: str = "/api/") -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        api = scope["path"].startswith(self.api_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                # no-referrer: a push's link carries a signed token in its URL
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if api:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
