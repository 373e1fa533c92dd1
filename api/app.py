"""The FastAPI application: ``create_app(settings)``.

The connection pool and the broker probe are made in the lifespan, from the settings
given to the factory, so importing this module reads no configuration and opens nothing.
Routes: ``/health``; ``/api/v1/...`` (auth, events, residents, alerts, devices, dead
letters, communities, the live stream), each behind a login and scoped to the caller's place
(``api.security``); ``/go/{token}``, the links in pushes; ``/docs``; the web UI (built from
``web/`` into ``api/ui/``): the control room at ``/``, the grid worker's phone at ``/m/``,
the installer's console at ``/installer/``, login at ``/login``, hashed files under
``/assets``.
In front of them (``api.middleware``): security headers, CORS when ``api.cors_origins`` lists
origins, and the guard that refuses oversized bodies and input the database cannot hold.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.types import Scope

from api import queries
from api.alerts.views import router as alerts_router
from api.alerts.views import workers_router
from api.audit_log.views import router as audit_log_router
from api.auth.views import router as auth_router
from api.communities.views import router as communities_router
from api.dead_letters.views import router as dead_letters_router
from api.deps import ApiState, Conn, Pool
from api.devices.views import router as devices_router
from api.docs import DOCS_URL, install_offline_docs, offline_assets
from api.errors import install_error_handlers
from api.events.views import router as events_router
from api.figures.views import router as figures_router
from api.health.probe import BrokerProbe
from api.health.views import router as health_router
from api.installer.views import router as installer_router
from api.links.views import router as links_router
from api.live.hub import LiveHub
from api.live.service import health_note
from api.live.views import router as live_router
from api.middleware import RequestGuard, SecurityHeaders
from api.notifications.views import router as notifications_router
from api.openapi import install_openapi
from api.places.views import router as places_router
from api.residents.views import router as residents_router
from api.security import CSRF_HEADER, check_every_route_is_guarded
from linli import __version__
from linli.settings import ApiSettings, Settings

log = logging.getLogger(__name__)

UI_DIR = Path(__file__).resolve().parent / "ui"
"""The built web UI (``npm run build`` in ``web/``; ``./dev`` builds it when its sources change)."""
UI_PAGES = ("/", "/login")
"""Where the single-page UI starts; below ``/m/`` and ``/installer/`` every path is its too."""
LONG_CACHE = "public, max-age=31536000, immutable"
NOT_BUILT_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>界面未构建 · UI not built</title></head>
<body><h1>界面未构建</h1><p>请运行 <code>./dev demo</code>（或在 web/ 中运行 npm ci 和 npm run build）。</p>
<p lang="en">The web UI is not built: run <code>./dev demo</code> (or npm ci and npm run build
in web/).</p></body></html>
"""
POOL_MIN_SIZE = 1
POOL_MAX_SIZE = 10
STATEMENT_TIMEOUT = "15s"
"""No API query should run longer; a runaway one must not hold a pooled connection."""


def create_app(settings: Settings, *, health_cache_s: float = 5.0,
               stream_recheck_s: float = 60.0) -> FastAPI:
    """The API and UI for ``settings``; needs ``settings.database_url``.

    ``health_cache_s`` is how long a broker check result is reused by ``/health``;
    ``stream_recheck_s`` how often a live stream checks its session or token still stands.
    """
    database_url = settings.require_database_url()
    mqtt_url = settings.mqtt_url.get_secret_value() if settings.mqtt_url else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, ApiState]]:
        pool = _make_pool(database_url)
        # Not waiting: the API starts (and /health says why) while the database is down.
        await pool.open(wait=False)
        broker = BrokerProbe(mqtt_url, cache_s=health_cache_s)
        live = LiveHub(database_url, partial(health_note, pool=pool, broker=broker),
                       recheck_s=stream_recheck_s)
        live.start()
        app.state.live = live  # ended first at server shutdown (api.server)
        try:
            yield {"linli": ApiState(settings=settings, pool=pool, broker=broker, live=live)}
        finally:
            await live.stop()
            await pool.close()

    assets = offline_assets()
    app = FastAPI(
        title="Linli API",
        version=__version__,
        description="Linli (邻里): events, residents, alerts and devices of smart communities.",
        lifespan=lifespan,
        docs_url=None if assets else DOCS_URL,
        redoc_url=None,
    )
    if assets:
        install_offline_docs(app, assets)
    install_error_handlers(app)
    install_openapi(app)
    _install_middleware(app, settings.api)
    app.include_router(health_router)
    app.include_router(_api_v1())
    app.include_router(links_router)
    _install_ui(app)
    check_every_route_is_guarded(app.routes)
    return app


def _install_middleware(app: FastAPI, api: ApiSettings) -> None:
    # add_middleware puts each one outside the ones before: security headers go on every
    # answer, CORS's included; the guard runs before any route.
    app.add_middleware(RequestGuard, max_body_bytes=api.max_body_bytes,
                       max_body_bytes_by_path=api.max_body_bytes_by_path)
    if api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=api.cors_origins,
                           allow_credentials=True,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", CSRF_HEADER])
    app.add_middleware(SecurityHeaders)


def _api_v1() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    for domain in (auth_router, events_router, residents_router, alerts_router, devices_router,
                   dead_letters_router, communities_router, workers_router, places_router,
                   live_router, installer_router):
        router.include_router(domain)
    # Reporting: the month's figures, the delivery log, the audit log.
    for domain in (figures_router, notifications_router, audit_log_router):
        router.include_router(domain)
    return router


def _make_pool(database_url: str) -> Pool:
    async def configure(conn: Conn) -> None:
        await conn.execute(queries.CONFIGURE_SESSION, {"statement_timeout": STATEMENT_TIMEOUT})

    return AsyncConnectionPool(
        database_url,
        connection_class=AsyncConnection[DictRow],
        # prepare_threshold=None: every query is planned with its actual values, which
        # the optional-filter statements rely on.
        kwargs={"row_factory": dict_row, "autocommit": True, "prepare_threshold": None,
                "application_name": "linli-api"},
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        open=False,
        configure=configure,
        check=AsyncConnectionPool.check_connection,
        name="linli-api",
    )


class _HashedFiles(StaticFiles):
    """The UI's files: their names carry a hash of their content, so they never change."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = LONG_CACHE
        return response


def _install_ui(app: FastAPI) -> None:
    index = UI_DIR / "index.html"
    if not index.is_file():
        log.warning("the web UI is not built (%s missing): / answers a page saying so", index)
    # check_dir=False: the API still starts without a built UI (its pages then say so).
    app.mount("/assets", _HashedFiles(directory=UI_DIR / "assets", check_dir=False), name="assets")

    async def page() -> Response:
        # index.html names the current hashed files: it is checked again on every load.
        if not index.is_file():
            return HTMLResponse(NOT_BUILT_PAGE, status_code=503, headers={"Cache-Control": "no-store"})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    for path in UI_PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    for prefix in ("/m", "/installer"):
        app.add_api_route(prefix + "/{rest:path}", page, methods=["GET"], include_in_schema=False)

    @app.get("/favicon.svg", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(UI_DIR / "favicon.svg", headers={"Cache-Control": "public, max-age=86400"})
