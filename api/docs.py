"""OpenAPI documentation at ``/docs`` without a CDN.

FastAPI's default page loads Swagger UI from a CDN, which machines without internet
cannot reach. When the ``fastapi-offline`` package is installed, its copy of Swagger UI
(version 5, which reads the OpenAPI 3.1 that FastAPI writes) is served from here instead;
otherwise FastAPI's default page is kept.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

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
    title = f"{app.title} - Swagger UI"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )
