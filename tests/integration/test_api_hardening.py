"""The served API refuses bad input with the JSON envelope, sends security headers, keeps
CORS off unless configured, answers anonymous callers 401, and serves HTTPS.

Real uvicorn, real PostgreSQL (fixtures of tests/integration/conftest.py); HTTPS with a
certificate made by deploy/tls/make-cert.sh, the script the compose file runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.middleware import CONTENT_SECURITY_POLICY
from api.security import PUBLIC_ROUTES, api_operations
from api.server import ApiServer
from linli.settings import load_settings
from tests.accounts import add_user, login
from tests.integration.conftest import StartApi
from tests.integration.test_api_seed import COMMUNITY, Db, assert_error, insert_alert

ROOT = Path(__file__).resolve().parents[2]


def refused(response: httpx.Response, location: str, field: str) -> None:
    error = assert_error(response, 422, "validation_error")
    assert {"location": location, "field": field} == {
        k: error["fields"][0][k] for k in ("location", "field")}, error


def test_nul_anywhere_is_a_422_naming_the_field(seeded: Db, control: httpx.Client) -> None:
    alert = insert_alert(seeded)
    refused(control.get("/api/v1/events", params={"community": "ju\x00xin"}),
            "query", "community")
    refused(control.get("/api/v1/alerts?status=open&rule=%00"), "query", "rule")
    refused(control.get(f"/api/v1/communities/{COMMUNITY}/residents/r-00%0001/timeline"),
            "path", "path")
    refused(control.post(f"/api/v1/alerts/{alert}/acknowledge", json={"note": "看\x00过"}),
            "body", "note")
    refused(control.post(f"/api/v1/alerts/{alert}/review", json={"note\x00": "x"}),
            "body", "note\x00")
    refused(control.post(f"/api/v1/alerts/{alert}/review", content=b'{"note": "\\ud800"}',
                         headers={"Content-Type": "application/json"}), "body", "note")
    # nothing of it was stored
    assert seeded.execute("SELECT status FROM alerts WHERE id = %s",
                          (alert,)).fetchone() == {"status": "open"}


def test_nul_in_any_route_never_reaches_it(seeded: Db, control: httpx.Client,
                                           server: ApiServer) -> None:
    app = create_app(load_settings(None, database_url="postgresql://unused"))
    for method, template, _ in api_operations(app.routes):
        if not template.startswith("/api/"):
            continue  # pages for people (/go/ links, the UI) answer with their own pages
        path = re.sub(r"\{[^}]+\}", "1", template)
        response = control.request(method, path, params={"q": "a\x00"})
        refused(response, "query", "q")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            response = control.request(method, path, json={"any": ["\x00"]})
            refused(response, "body", "any.0")


def test_numbers_beyond_64_bits_are_a_422(seeded: Db, control: httpx.Client) -> None:
    alert = insert_alert(seeded)
    cursor = base64.urlsafe_b64encode(
        json.dumps(["2026-01-01T00:00:00+00:00", 2**70]).encode()).decode().rstrip("=")
    refused(control.get("/api/v1/alerts", params={"cursor": cursor}), "query", "cursor")
    refused(control.get("/api/v1/events", params={"limit": 2**64}), "query", "limit")
    refused(control.get(f"/api/v1/alerts/{2**63}"), "path", "alert_id")
    refused(control.post(f"/api/v1/alerts/{alert}/acknowledge",
                         content=b'{"note": "x", "n": 18446744073709551617}',
                         headers={"Content-Type": "application/json"}), "body", "n")
    refused(control.post(f"/api/v1/alerts/{alert}/acknowledge", content=b'{"note": NaN}',
                         headers={"Content-Type": "application/json"}), "body", "body")


def test_bad_json_and_wrong_content_types(seeded: Db, control: httpx.Client) -> None:
    alert = insert_alert(seeded)
    url = f"/api/v1/alerts/{alert}/acknowledge"
    error = assert_error(control.post(url, content=b'{"note": ',
                                      headers={"Content-Type": "application/json"}),
                         422, "validation_error")
    assert "not valid JSON" in error["message"]
    error = assert_error(control.post(url, content=b'{"note": "x"}',
                                      headers={"Content-Type": "text/plain"}),
                         415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert_error(control.post(url, content=b"note=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 422, "validation_error")
    assert control.post(url, json={"note": "到场"}).status_code == 200


def test_bodies_over_the_limit_are_a_413(seeded: Db, control: httpx.Client) -> None:
    alert = insert_alert(seeded)
    url = f"/api/v1/alerts/{alert}/acknowledge"
    big = json.dumps({"note": "x" * 70_000}).encode()
    error = assert_error(control.post(url, content=big,
                                      headers={"Content-Type": "application/json"}),
                         413, "payload_too_large")
    assert "65536" in error["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"note": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    assert_error(control.post(url, content=chunks(),
                              headers={"Content-Type": "application/json"}),
                 413, "payload_too_large")
    assert_error(control.post(url, content=(b"x" * 1000 for _ in range(100)),
                              headers={"Content-Type": "application/octet-stream"}),
                 413, "payload_too_large")
    assert control.post(url, json={"note": "到场"}).status_code == 200  # still served
    # a photo may be larger (api.max_body_bytes_by_path), up to its own limit
    photo = f"/api/v1/alerts/{alert}/photos"
    jpeg = {"Content-Type": "image/jpeg"}
    response = control.post(photo, content=b"\xff\xd8\xff" + b"\0" * 100_000, headers=jpeg)
    assert response.status_code == 201, response.text
    assert_error(control.post(photo, content=b"\xff\xd8\xff" + b"\0" * (7 << 20),
                              headers=jpeg), 413, "payload_too_large")
    # answers that come before the body was read still reach a client that is sending it
    assert_error(control.post(photo, content=b"\xff\xd8\xff" + b"\0" * (5 << 20) + b"\0",
                              headers=jpeg), 413, "payload_too_large")  # the route's own limit
    with httpx.Client(base_url=str(control.base_url), timeout=10) as anonymous:
        assert_error(anonymous.post(photo, content=b"\xff\xd8\xff" + b"\0" * (4 << 20),
                                    headers=jpeg), 401, "unauthorized")


def test_a_route_may_take_more_than_the_default(seeded: Db, start_api: StartApi,
                                                db_url: str) -> None:
    _, client = start_api(database_url=db_url, api={
        "max_body_bytes": 2048,
        "max_body_bytes_by_path": {"/api/v1/alerts/{alert_id}/review": 8192}})
    add_user(seeded, "ctl-1", "control_room", community=COMMUNITY)
    login(client, "ctl-1")
    alert = insert_alert(seeded)
    body = {"note": "x" * 3000}
    assert_error(client.post(f"/api/v1/alerts/{alert}/acknowledge", json=body),
                 413, "payload_too_large")
    # the same note is read on review, where the model refuses it as too long
    error = assert_error(client.post(f"/api/v1/alerts/{alert}/review",
                                     json={"decision": "accepted", **body}),
                         422, "validation_error")
    assert error["fields"][0]["field"] == "note"


def docs_script_hash(html: str) -> str:
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    return base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


def test_every_response_carries_the_security_headers(server: ApiServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        responses = {path: client.get(path) for path in (
            "/", "/favicon.svg", "/health", "/openapi.json", "/api/v1/alerts",
            "/api/v1/nothing", "/nothing", "/docs", "/go/no-such-link-0123456789")}
        responses["POST /api/v1/auth/login"] = client.post(
            "/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password"})
    for name, response in responses.items():
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert headers["x-frame-options"] == "DENY", name
        assert "camera=(self)" in headers["permissions-policy"], name
        assert "frame-ancestors 'none'" in headers["content-security-policy"], name
        assert "strict-transport-security" not in headers, f"{name}: HSTS over plain HTTP"
        if name.startswith(("/api/", "POST /api/")):
            assert headers["cache-control"] == "no-store", name
    assert responses["/"].headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expired = responses["/go/no-such-link-0123456789"]  # its own policy: one inline style
    assert "style-src 'unsafe-inline'" in expired.headers["content-security-policy"]
    assert "script" not in expired.headers["content-security-policy"]
    docs = responses["/docs"]
    assert docs.status_code == 200
    assert f"'sha256-{docs_script_hash(docs.text)}'" in docs.headers["content-security-policy"]
    assert "/docs-assets/swagger-ui-bundle.js" in docs.text  # served here, not from a CDN
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def preflight(client: httpx.Client, origin: str) -> httpx.Response:
    return client.options("/api/v1/alerts", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-csrf-token"})


def test_cors_is_off_unless_origins_are_configured(db_url: str, server: ApiServer,
                                                   start_api: StartApi) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert "access-control-allow-origin" not in preflight(
            client, "https://ops.example.org").headers
        assert "access-control-allow-origin" not in client.get(
            "/health", headers={"Origin": "https://ops.example.org"}).headers
    _, client = start_api(database_url=db_url, api={"cors_origins": ["https://ops.example.org"]})
    allowed = preflight(client, "https://ops.example.org")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://ops.example.org"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in allowed.headers["access-control-allow-headers"].lower()
    assert allowed.headers["x-frame-options"] == "DENY"
    other = preflight(client, "https://evil.example.org")
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    response = client.get("/health", headers={"Origin": "https://ops.example.org"})
    assert response.headers["access-control-allow-origin"] == "https://ops.example.org"


def test_anonymous_callers_get_401_on_every_api_route_but_login(server: ApiServer) -> None:
    app = create_app(load_settings(None, database_url="postgresql://unused"))
    checked = []
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for method, template, _ in api_operations(app.routes):
            if not template.startswith("/api/") or (method, template) in PUBLIC_ROUTES:
                continue
            path = re.sub(r"\{[^}]+\}", "1", template)
            for headers in ({}, {"Authorization": "Bearer not-a-token"},
                            {"Cookie": "linli_session=forged; linli_csrf=forged",
                             "X-CSRF-Token": "forged"}):
                response = client.request(method, path, headers=headers,
                                          json={} if method != "GET" else None)
                assert_error(response, 401, "unauthorized")
            checked.append(f"{method} {template}")
        assert client.get("/health").status_code in (200, 503)
        assert client.post("/api/v1/auth/login", json={
            "username": "nobody", "password": "wrong-password"}).status_code == 401
    assert len(checked) > 10


@pytest.fixture(name="certificate")
def certificate_fixture(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate with")
    env = {"PATH": os.environ["PATH"], "TLS_DIR": str(tmp_path), "TLS_NAMES": "127.0.0.1"}
    subprocess.run(["sh", str(ROOT / "deploy/tls/make-cert.sh")], env=env, check=True,
                   timeout=60, capture_output=True)
    return tmp_path / "cert.pem", tmp_path / "key.pem"


def test_https_login_sets_secure_cookies(db: Db, db_url: str, start_api: StartApi,
                                         certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server, _ = start_api(database_url=db_url, api={"tls_cert": str(cert), "tls_key": str(key)})
    assert server.url.startswith("https://127.0.0.1:")
    add_user(db, "admin", "admin")
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=server.url, verify=trust, timeout=10) as client:
        response = client.post("/api/v1/auth/login", json={"username": "admin",
                                                            "password": "correct-horse-42"})
        assert response.status_code == 200, response.text
        cookies = response.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("linli_session="))
        assert "Secure" in session and "HttpOnly" in session
        assert all("Secure" in c for c in cookies)
        assert response.headers["strict-transport-security"].startswith("max-age=")
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        assert client.get("/api/v1/auth/me").json()["username"] == "admin"
    plain = server.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError), httpx.Client(timeout=5) as client:
        client.get(f"{plain}/health")  # no plain HTTP on the TLS port

