"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, against a served
API on a seeded database, with the built UI (``./dev test`` builds ``web/`` first).

Every page is watched: a Content-Security-Policy violation or an uncaught script error in
the console fails the test. Screenshots go to ``var/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

import api
from api.server import ApiServer
from tests.accounts import PASSWORD, add_user
from tests.integration.conftest import (  # noqa: F401 (fixtures)
    seeded_fixture,
    server_fixture,
    start_api_fixture,
)
from tests.integration.test_api_seed import COMMUNITY, Db

CHROMIUM = Path("/usr/bin/chromium")
UI_INDEX = Path(api.__file__).resolve().parent / "ui" / "index.html"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
USERS = {
    "admin": ("admin", {}),
    "ctl-1": ("control_room", {"community": COMMUNITY, "display_name": "值班员"}),
    "w-01": ("grid_worker", {"community": COMMUNITY, "worker": "w-01", "display_name": "王芳"}),
    "inst-1": ("installer", {"community": COMMUNITY, "display_name": "安装员"}),
    "aud-1": ("auditor", {"community": COMMUNITY, "display_name": "审计员"}),
}

OpenPage = Callable[..., Page]


@pytest.fixture(name="browser", scope="package")
def browser_fixture() -> Iterator[Browser]:
    """Headless Chromium from Debian (never a downloaded one). Package-scoped: Playwright's
    sync API runs an event loop in this thread while it is open, which would refuse the
    ``asyncio.run`` of later tests."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk")
    if not UI_INDEX.is_file():
        pytest.fail(f"the web UI is not built ({UI_INDEX} missing): run ./dev test, which builds"
                    " web/ first, or `npm ci && npm run build` in web/")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(name="users")
def users_fixture(seeded: Db) -> dict[str, str]:
    """One account per role in the seeded community; username → role."""
    for username, (role, extra) in USERS.items():
        add_user(seeded, username, role, **extra)
    return {username: role for username, (role, _) in USERS.items()}


@pytest.fixture(name="open_page")
def open_page_fixture(browser: Browser, server: ApiServer) -> Iterator[OpenPage]:
    """``open_page(path, viewport=DESKTOP)``: a page in a fresh context (own cookies)."""
    problems: list[str] = []
    contexts = []

    def open_page(path: str = "/", viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(base_url=server.url, viewport=viewport or DESKTOP,  # type: ignore[arg-type]
                                      locale="zh-CN", timezone_id="Europe/London")
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
        page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, problems


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in on the login page the app has sent ``page`` to."""
    expect(page.locator("#username")).to_be_visible()
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for a person to look at (var/screenshots/NAME.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
