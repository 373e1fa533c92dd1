"""The OpenAPI document, with its security requirements as ``api.security`` checks them.

FastAPI lists each security scheme a route depends on as an alternative of its own, which
would say that the CSRF header alone is enough. What the API checks is: the session cookie
(with the CSRF header on unsafe methods) or an API token. The document says so, and lists
the errors every guarded operation may answer (401, 403) and those of a body (413, 415).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import ErrorResponse
from api.security import SAFE_METHODS, bearer, csrf_header, session_cookie

SESSION = session_cookie.scheme_name
CSRF = csrf_header.scheme_name
TOKEN = bearer.scheme_name

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
_GUARDED_ERRORS = {
    "401": {"description": "Not logged in: no valid session or API token", **_ERROR},
    "403": {"description": "The role may not do this, or the CSRF header is missing", **_ERROR},
}
_BODY_ERRORS = {
    "413": {"description": "The body is larger than the API accepts", **_ERROR},
    "415": {"description": "The body is not of a type the operation reads", **_ERROR},
}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (``/openapi.json``) return the corrected document, once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes)
            app.openapi_schema = describe_security(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_security(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each guarded operation's requirements and errors made exact."""
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            if "requestBody" in operation:
                _add_responses(operation, _BODY_ERRORS)
            names = {name for requirement in operation.get("security", ())
                     for name in requirement}
            if not names:
                continue  # open: login, health
            session: dict[str, list[str]] = {SESSION: []}
            if method.upper() not in SAFE_METHODS:
                session[CSRF] = []
            operation["security"] = [session, {TOKEN: []}]
            _add_responses(operation, _GUARDED_ERRORS)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorResponse" not in schemas:  # every error is this envelope; keep the $refs valid
        schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas["ErrorResponse"] = schema
    return document


def _add_responses(operation: dict[str, Any], errors: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, response in errors.items():
        responses.setdefault(status, response)
