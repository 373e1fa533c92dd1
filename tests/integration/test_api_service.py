"""The API as a service: /health against a real broker and database, the UI page, the
docs, unknown routes, the threaded server and ``linli api`` itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from api.server import start_in_thread
from linli.embedded import EmbeddedMosquitto, free_port
from linli.settings import load_settings
from tests.integration.conftest import StartApi
from tests.integration.test_api_seed import (
    assert_error,
)


def _poll(client: httpx.Client, path: str, status: int, timeout: float = 10.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_health_follows_the_broker(db_url: str, broker: EmbeddedMosquitto,
                                   start_api: StartApi) -> None:
    _, client = start_api(database_url=db_url, mqtt_url=broker.url, health_cache_s=0)

    ok = client.get("/health")
    assert (ok.status_code, ok.json()) == (200, {"status": "ok", "database": "ok",
                                                 "broker": "ok"})

    broker.stop()
    down = _poll(client, "/health", 503)
    assert down.status_code == 503
    body = down.json()
    assert (body["status"], body["database"]) == ("unavailable", "ok")
    assert body["broker"].startswith("error: ")

    broker.start()
    assert _poll(client, "/health", 200).json()["broker"] == "ok"


def test_health_reuses_a_recent_broker_check(db_url: str, broker: EmbeddedMosquitto,
                                            start_api: StartApi) -> None:
    _, client = start_api(database_url=db_url, mqtt_url=broker.url, health_cache_s=60)
    assert client.get("/health").json()["broker"] == "ok"

    broker.stop()

    # Within the cache period a load balancer's polling opens no new connections.
    assert client.get("/health").json()["broker"] == "ok"


def test_health_without_a_broker_configured(api: httpx.Client) -> None:
    response = api.get("/health")
    assert (response.status_code, response.json()) == (
        200, {"status": "ok", "database": "ok", "broker": "not configured"})


def test_database_down_is_503_on_health_and_json_503_on_the_api(start_api: StartApi) -> None:
    _, client = start_api(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/none")

    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["database"].startswith("error: ")
    assert health.json()["broker"] == "not configured"
    assert_error(client.get("/api/v1/events"), 503, "database_unavailable")


def test_ui_pages_are_served_with_long_cached_files(api: httpx.Client) -> None:
    """The built UI (./dev builds web/ first): every page of the single-page app is its
    index.html, never cached; its hashed files are cached for good."""
    for path in ("/", "/login", "/m/", "/m/alerts/12", "/installer/", "/?alert=7"):
        page = api.get(path)
        assert page.status_code == 200, f"{path}: is the UI built? ./dev test builds web/ first"
        assert page.headers["content-type"].startswith("text/html"), path
        assert page.headers["cache-control"] == "no-cache", path
        assert '<html lang="zh-CN">' in page.text
    page = api.get("/").text
    assert "<script>" not in page and "<style" not in page and "https://" not in page
    files = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page)
    assert any(f.endswith(".js") for f in files) and any(f.endswith(".css") for f in files)
    for name in files:
        answer = api.get(name)
        assert answer.status_code == 200, name
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_docs_and_openapi_are_served_without_a_cdn(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    assert "/api/v1/alerts/{alert_id}/feedback" in schema["paths"]
    assert "/api/v1/alerts/{alert_id}/resolve" not in schema["paths"]
    assert "/health" in schema["paths"]
    docs = api.get("/docs")
    assert docs.status_code == 200
    if "/docs-assets/" in docs.text:  # fastapi-offline installed: every asset is local
        assert "https://" not in docs.text
        assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_unknown_routes_and_methods_are_json(api: httpx.Client) -> None:
    error = assert_error(api.get("/api/v1/nothing-here"), 404, "not_found")
    assert "/api/v1/nothing-here" in error["message"]
    assert_error(api.get("/assets/missing.js"), 404, "not_found")
    assert_error(api.delete("/api/v1/events"), 405, "method_not_allowed")


def test_threaded_server_stops_when_its_event_is_set(db_url: str) -> None:
    stop = threading.Event()
    settings = load_settings(None, database_url=db_url)
    server = start_in_thread(settings, host="127.0.0.1", port=0, stop=stop)
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200

    stop.set()

    deadline = time.monotonic() + 10
    while server.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.is_alive()


def test_linli_api_serves_until_sigterm(db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "LINLI_DATABASE_URL": db_url, "LINLI_API__PORT": str(port)}
    env.pop("LINLI_MQTT_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "linli.cli", "api"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        response: dict[str, Any] = {}
        deadline = time.monotonic() + 20
        while not response and time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
            except httpx.TransportError:
                time.sleep(0.1)
        assert response == {"status": "ok", "database": "ok", "broker": "not configured"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate()
    assert f"API and UI on http://127.0.0.1:{port}" in stderr.decode()
