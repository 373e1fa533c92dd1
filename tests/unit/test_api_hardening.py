"""The API's input guard, security headers, settings and OpenAPI document (no services needed).

The served API is tested in tests/integration/test_api_hardening.py; here are the pure
parts: which bodies, paths and queries the guard refuses and what it says, the body limit
of each path, the CSP of the docs page, and what the settings accept.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from api.app import create_app
from api.docs import docs_policy
from api.middleware import (
    CONTENT_SECURITY_POLICY,
    INT64_MAX,
    INT64_MIN,
    InvalidRequest,
    RequestGuard,
    check_json_body,
    check_path_and_query,
)
from api.security import PUBLIC_ROUTES, api_operations, check_every_route_is_guarded
from api.server import start_in_thread
from linli.errors import ConfigError, ServiceError
from linli.settings import Settings, load_settings

DUMMY_DB = "postgresql://linli@127.0.0.1:1/none"  # create_app connects only in its lifespan


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(load_settings(None, database_url=DUMMY_DB))


def refused(body: bytes) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        check_json_body(body)
    return caught.value


@pytest.mark.parametrize(("body", "field", "words"), [
    (b'{"note": "a\\u0000b"}', "note", "NUL"),
    (b'{"a\\u0000": 1}', "a\x00", "NUL"),
    (b'{"items": [{"note": "ok"}, {"note": "\\u0000"}]}', "items.1.note", "NUL"),
    (b'{"note": "\\ud800"}', "note", "lone surrogate"),
    (b'{"id": 9223372036854775808}', "id", "out of range"),
    (b'{"id": -9223372036854775809}', "id", "out of range"),
    (b'{"ids": [1, 100000000000000000000000000000]}', "ids.1", "out of range"),
    (b'{"x": NaN}', "body", "NaN"),
    (b'{"x": -Infinity}', "body", "-Infinity"),
    (b'{"x": 1e400}', "body", "out of range"),
    (b'{"note": ', "body", "not valid JSON"),
    (b'\xff\xfe\xfd', "body", "UTF-8"),
    (b'[' * 50_000 + b']' * 50_000, "body", "nested too deeply"),
])
def test_json_the_database_cannot_hold_is_refused_with_its_place(
        body: bytes, field: str, words: str) -> None:
    error = refused(body).error
    assert error.location == "body"
    assert error.field == field
    assert words in error.message


@pytest.mark.parametrize("body", [
    b"", b"  ", b"{}", b"null", b'{"note": "\\\\u0000 is fine as text"}',
    b'{"id": 9223372036854775807, "low": -9223372036854775808, "x": 1.5e300, "ok": true}',
    '{"note": "安全无事"}'.encode(),
])
def test_json_the_database_holds_passes(body: bytes) -> None:
    check_json_body(body)


def scope(path: str, query: bytes = b"") -> dict[str, Any]:
    return {"type": "http", "path": path, "query_string": query}


@pytest.mark.parametrize(("path", "query", "location", "field"), [
    ("/api/v1/alerts/\x00", b"", "path", "path"),
    ("/api/v1/events", b"community=ju%00xin", "query", "community"),
    ("/api/v1/events", b"limit=5&building=%00", "query", "building"),
    ("/api/v1/events", b"x%00y=1", "query", "x\\x00y"),
    ("/api/v1/events", b"raw=\x00", "query", "raw"),
])
def test_nul_in_the_path_or_query_is_refused(path: str, query: bytes, location: str,
                                             field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_path_and_query(scope(path, query))
    assert (caught.value.error.location, caught.value.error.field) == (location, field)


@pytest.mark.parametrize("query", [b"", b"community=juxin", b"note=%2500", b"q=100%25"])
def test_ordinary_queries_pass(query: bytes) -> None:
    check_path_and_query(scope("/api/v1/events", query))


def test_body_limits_by_route_template() -> None:
    async def nothing(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    guard = RequestGuard(nothing, max_body_bytes=1000, max_body_bytes_by_path={
        "/api/v1/alerts/{alert_id}/photos": 6_000_000, "/api/v1/big": 5000})
    assert guard.limit_for("/api/v1/alerts/12/photos") == 6_000_000
    assert guard.limit_for("/api/v1/alerts/12/photos/") == 6_000_000
    assert guard.limit_for("/api/v1/alerts/12/13/photos") == 1000  # one segment only
    assert guard.limit_for("/api/v1/alerts/12/photosx") == 1000
    assert guard.limit_for("/api/v1/alerts") == 1000
    assert guard.limit_for("/api/v1/big") == 5000


def test_the_photo_route_may_take_a_photo_by_default() -> None:
    api = Settings().api
    assert api.max_body_bytes == 64 * 1024
    assert api.max_body_bytes_by_path["/api/v1/alerts/{alert_id}/photos"] >= 6 * 1024 * 1024


def test_the_docs_page_allows_its_own_inline_script_only() -> None:
    html = "<html><script src='/x.js'></script><script>\nconst ui = 1;\n</script></html>"
    digest = base64.b64encode(hashlib.sha256(b"\nconst ui = 1;\n").digest()).decode()
    policy = docs_policy(html)
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in re.search(r"script-src[^;]*", policy)[0]  # type: ignore[index]


def test_the_ui_policy_allows_nothing_inline_and_no_framing() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["script-src"] == "'self'"


@pytest.mark.parametrize("origins", [["*"], ["https://*.example.org"], ["example.org"],
                                     ["https://example.org/app"], ["ftp://example.org"]])
def test_cors_origins_must_be_origins(origins: list[str]) -> None:
    with pytest.raises(ConfigError, match="cors_origins"):
        load_settings(None, api={"cors_origins": origins})


def test_settings_of_tls_and_body_limits(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls_key"):
        load_settings(None, api={"tls_cert": str(tmp_path / "cert.pem")})
    with pytest.raises(ConfigError, match="max_body_bytes_by_path"):
        load_settings(None, api={"max_body_bytes_by_path": {"photos": 10_000}})
    api = load_settings(None, api={"cors_origins": ["https://ops.example.org:8443"],
                                   "max_body_bytes": 4096}).api
    assert api.cors_origins == ["https://ops.example.org:8443"]
    assert api.max_body_bytes == 4096


def test_a_bad_certificate_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_text("not a key")
    settings = load_settings(None, database_url=DUMMY_DB, api={
        "tls_cert": str(tmp_path / "cert.pem"), "tls_key": str(tmp_path / "key.pem")})
    with pytest.raises(ServiceError, match="TLS certificate"):
        start_in_thread(settings, host="127.0.0.1", port=0)


def test_an_unguarded_route_in_an_included_router_stops_the_start() -> None:
    inner = APIRouter(prefix="/things")

    @inner.get("/{thing}")
    async def open_thing(thing: str) -> str:
        return thing

    outer = APIRouter(prefix="/api/v1")
    outer.include_router(inner)
    app = FastAPI()
    app.include_router(outer)
    assert [path for _, path, _ in api_operations(app.routes)] == ["/api/v1/things/{thing}"]
    with pytest.raises(RuntimeError, match=r"GET /api/v1/things/\{thing\}"):
        check_every_route_is_guarded(app.routes)


def integer_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The integer schemas in a parameter's schema (``anyOf`` for optional ones)."""
    options = schema.get("anyOf", [schema])
    return [option for option in options if option.get("type") == "integer"]


def test_every_integer_parameter_is_bounded_to_64_bits(app: FastAPI) -> None:
    document = app.openapi()
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for schema in integer_schemas(parameter["schema"]):
                    low = schema.get("minimum", schema.get("exclusiveMinimum"))
                    high = schema.get("maximum", schema.get("exclusiveMaximum"))
                    if low is None or high is None or low < INT64_MIN or high > INT64_MAX:
                        unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    assert not unbounded, "give these Path/Query(ge=…, le=2**63 - 1): " + ", ".join(unbounded)


def test_the_openapi_document_says_how_to_authenticate(app: FastAPI) -> None:
    document = json.loads(json.dumps(app.openapi()))
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {**schemes["session"], "type": "apiKey", "in": "cookie",
                                  "name": "linli_session"}
    assert schemes["csrf"] == {**schemes["csrf"], "type": "apiKey", "in": "header",
                               "name": "X-CSRF-Token"}
    assert schemes["token"] == {**schemes["token"], "type": "http", "scheme": "bearer"}
    seen = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/api/") or (method.upper(), path) in PUBLIC_ROUTES:
                assert "security" not in operation, f"{method} {path} is open"
                continue
            seen += 1
            session = {"session": []} if method == "get" else {"session": [], "csrf": []}
            assert operation["security"] == [session, {"token": []}], f"{method} {path}"
            assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
    assert seen > 10
