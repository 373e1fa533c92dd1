"""OpenAPI documentation at ``/docs`` without a CDN.

FastAPI's default page loads Swagger UI from a CDN, which machines without internet
cannot reach. When the ``fastapi-offline`` package is installed, its copy of Swagger UI
(version 5, which reads the OpenAPI 3.1 that FastAPI writes) is served from here instead;
otherwise FastAPI's default page is kept.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.middleware import CONTENT_SECURITY_POLICY

DOCS_URL = "/docs"
ASSETS_URL = "/docs-assets"


def offline_assets() -> Path | None:
    """The folder holding Swagger UI's files, when fastapi-offline is installed."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").exists() else None


def install_offline_docs(app: FastAPI, assets: Path) -> None:
    """Serve ``/docs`` with Swagger UI from ``assets`` (create the app with docs_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
    )
    html = bytes(page.body).decode()
    headers = {"Content-Security-Policy": docs_policy(html), "Cache-Control": "no-cache"}

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)


def docs_policy(html: str) -> str:
    """The page's Content-Security-Policy: the UI's own (``api.middleware``), plus the
    page's inline start-up script by its hash and the inline styles Swagger UI sets."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (CONTENT_SECURITY_POLICY
            .replace("script-src 'self'", f"script-src 'self' {hashes}")
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
