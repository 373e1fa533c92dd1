"""Errors of the HTTP API and the handlers that render every error as the same JSON.

    ApiError            an error with an HTTP status and a stable ``code``
    ├── NotFound        404 not_found: the alert, resident or community does not exist
    ├── Conflict        409 conflict: the change is not allowed in the current state
    ├── PayloadTooLarge 413 payload_too_large: an upload over its limit
    ├── UnsupportedMediaType 415 unsupported_media_type: an upload of a type not taken
    └── InvalidInput    422 validation_error: input the models accept but we cannot use

A database that does not answer (pool timeout, lost connection) is 503
database_unavailable; anything unexpected is 500 internal_error, logged with its traceback.
A body too large is 413 payload_too_large, one sent as text to a route that reads JSON 415
unsupported_media_type; NUL characters and numbers the database cannot hold are refused
before any route by ``api.middleware`` (422), and a value the database still refuses is a
422 here too.

Every response that is not a success looks like
``{"error": {"code": "...", "message": "...", "fields": [...]}}`` (``fields`` only for
validation errors). Messages are English, for programs; the UI translates codes.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "unavailable",
}


_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


class FieldError(BaseModel):
    """One invalid input: where it was (query, path, body) and what is wrong."""

    field: str
    location: str
    message: str


class ErrorDetail(BaseModel):
    """A stable ``code`` for programs, an English ``message`` for people."""

    code: str
    message: str
    fields: list[FieldError] | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Not found"},
    422: {"model": ErrorResponse, "description": "Invalid input"},
}
"""OpenAPI ``responses`` for routes that may answer 404 or 422."""


class ApiError(Exception):
    """An error the API reports on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class NotFound(ApiError):
    """The thing named in the path does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    """The thing's current state does not allow the change."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    """An upload larger than its limit (e.g. a photo over 5 MB)."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    """An upload whose type, declared or found in its bytes, is not one the route takes."""

    status_code = 415
    code = "unsupported_media_type"


class InvalidInput(ApiError):
    """Input that passed the models but cannot be used (e.g. a foreign cursor)."""

    status_code = 422
    code = "validation_error"

    @classmethod
    def for_field(cls, field: str, location: str, message: str) -> InvalidInput:
        """An error about one field, e.g. a cursor that is not ours."""
        return cls(f"{field}: {message}", fields=[FieldError(field=field, location=location,
                                                              message=message)])


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    fields: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON error envelope."""
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, fields=fields))
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status_code, headers=headers
    )


def validation_fields(errors: Any) -> list[FieldError]:
    """FastAPI's validation errors as FieldErrors: ``("query", "limit")`` → limit in query."""
    fields = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "request"
        field = ".".join(loc[1:]) or location
        fields.append(FieldError(field=field, location=location, message=str(err.get("msg"))))
    return fields


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, fields=exc.fields)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media and not media.endswith("json") and media not in _FORM_TYPES and any(
            tuple(err.get("loc", ())) == ("body",) for err in exc.errors()):
        # A body sent as text or a form to a route that reads JSON: not parsed at all.
        return error_response(415, "unsupported_media_type",
                              f"send the body as application/json, not {media}")
    fields = validation_fields(exc.errors())
    message = "; ".join(f"{f.field}: {f.message}" for f in fields[:5]) or "invalid request"
    return error_response(422, "validation_error", message, fields=fields)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES_BY_STATUS.get(exc.status_code, "http_error")
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no such resource: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, message, headers=headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # The reason goes to the log only: it may name hosts the caller need not know.
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path,
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return error_response(503, "database_unavailable", "the database is unavailable; retry later")


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # Raised for a value the database cannot hold (a NUL character in text, a number out
    # of range): the caller's input, so a 422 with the reason, never a 500.
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.info("refused input for %s %s: %s", request.method, request.url.path, reason)
    return error_response(422, "validation_error", f"a value cannot be stored: {reason}")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, including unknown routes and validation, the JSON envelope."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(psycopg.OperationalError, _database_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected_error)
