"""The UI in a real browser: each role's pages, the closed loop across the control room
and a grid worker's phone, and a database outage shown on an open page."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib

import psycopg
import pytest
from playwright.sync_api import Page, expect
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.browser.conftest import PHONE, OpenPage, log_in, screenshot
from tests.integration.test_api_seed import Db, insert_alert

HOME = {"admin": "/", "ctl-1": "/", "aud-1": "/", "w-01": "/m/", "inst-1": "/installer/"}


def tiny_png() -> bytes:
    """A valid 1×1 PNG (the server checks a photo by its bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def g1_alert(db: Db, title: str = "张桂英 今日未出现") -> int:
    """A new open alert about r-0001 in grid g1 (w-01's), building b01."""
    alert_id = insert_alert(db, title=title, raised_at=dt.datetime.now(dt.UTC))
    db.execute("UPDATE alerts SET grid = 'g1', building = 'b01' WHERE id = %s", (alert_id,))
    return alert_id


@pytest.mark.parametrize("username", list(HOME))
def test_each_role_logs_in_to_its_own_page(open_page: OpenPage, users: dict[str, str],
                                           username: str) -> None:
    page = open_page("/")
    expect(page).to_have_url("/login?next=/")
    screenshot(page, "login")
    log_in(page, username)
    expect(page).to_have_url(HOME[username])
    expect(page.locator("body")).to_contain_text("退出登录")
    if users[username] == "installer":
        expect(page.locator("[data-test=devices]")).to_contain_text("1栋1单元门禁")
        expect(page.locator("[data-test=devices] .el-tag", has_text="离线")).to_be_visible()
        screenshot(page, "installer")
    page.get_by_role("button", name=re.compile(r"^(English|EN)$")).click()
    expect(page.locator("body")).to_contain_text("Log out")


def test_the_closed_loop_across_the_control_room_and_a_phone(
        open_page: OpenPage, users: dict[str, str], seeded: Db) -> None:
    room = open_page("/")
    log_in(room, "ctl-1")
    expect(room.locator("[data-test=queue]")).to_contain_text("暂无待处理告警")

    # Raised by the rules (here: written into the database): it shows up by itself.
    alert_id = g1_alert(seeded)
    item = room.locator(f"[data-alert='{alert_id}']")
    expect(item).to_be_visible(timeout=20_000)
    expect(room.locator("[data-test=announce]")).to_contain_text("张桂英 今日未出现")
    item.click()
    expect(room).to_have_url(f"/?alert={alert_id}")
    detail = room.locator("[data-test=detail]")
    expect(detail).to_contain_text("触发告警")
    room.select_option("#worker", "w-01")
    room.locator("[data-test=dispatch-form] button[type=submit]").click()
    expect(room.locator("[data-test=assignee]")).to_contain_text("王芳")
    room.locator("[data-test=resident-card] button").click()
    expect(room.locator("[data-test=resident-card] a[href='tel:13900000009']")).to_be_visible()
    screenshot(room, "control-room")

    # The worker opens the push's link on a phone, logs in and lands on the alert.
    [link] = seeded.execute("SELECT token FROM alert_links WHERE alert_id = %s",
                            (alert_id,)).fetchall()
    phone = open_page(f"/go/{link['token']}", viewport=PHONE)
    log_in(phone, "w-01")
    expect(phone).to_have_url(f"/m/alerts/{alert_id}")
    expect(phone.locator("[data-test=contacts] a[href='tel:13800000001']")).to_be_visible()
    expect(phone.locator("[data-test=contacts] a[href='tel:13900000009']")).to_be_visible()
    screenshot(phone, "phone-alert")
    phone.locator("[data-test=acknowledge]").click()
    form = phone.locator("[data-test=feedback-form]")
    expect(form).to_be_visible()
    form.get_by_label("安全无事").check()
    phone.fill("#note", "已上门，老人在家休息")
    phone.set_input_files("#photo", files=[{"name": "door.png", "mimeType": "image/png",
                                            "buffer": tiny_png()}])
    expect(form).to_contain_text("已上传 1 张照片")
    screenshot(phone, "phone-feedback")
    form.locator("button[type=submit]").click()
    expect(phone.locator("[data-test=status]")).to_contain_text("已解决")

    # Back in the control room: the feedback arrives; accept it and archive.
    review = room.locator("[data-test=review-form]")
    expect(review).to_be_visible(timeout=20_000)
    expect(detail).to_contain_text("安全无事")
    review.get_by_role("button", name="通过").click()
    expect(detail).to_contain_text("考核通过")
    room.locator("[data-test=archive-form] button[type=submit]").click()
    expect(detail).to_contain_text("已归档")
    expect(item).to_have_count(0)
    row = seeded.execute("SELECT status, outcome, review FROM alerts WHERE id = %s",
                         (alert_id,)).fetchone()
    assert row == {"status": "archived", "outcome": "safe", "review": "accepted"}


def test_the_phone_lists_my_alerts(open_page: OpenPage, users: dict[str, str],
                                   seeded: Db) -> None:
    alert_id = g1_alert(seeded, "李建国 门禁异常")
    phone = open_page("/m/", viewport=PHONE)
    log_in(phone, "w-01")
    expect(phone.locator(f"[data-alert='{alert_id}']")).to_contain_text("李建国 门禁异常")
    screenshot(phone, "phone-list")


def test_a_push_link_on_a_phone_sized_screen_opens_the_phone_page(
        open_page: OpenPage, users: dict[str, str], seeded: Db) -> None:
    alert_id = g1_alert(seeded)
    page = open_page(f"/?alert={alert_id}", viewport=PHONE)
    log_in(page, "ctl-1")
    expect(page).to_have_url(f"/m/alerts/{alert_id}")
    # By keyboard alone: Tab to the acknowledge button, Enter, then an outcome with Space.
    assert tab_to(page, "[data-test=acknowledge]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-test=feedback-form]")).to_be_visible()
    assert tab_to(page, "input[name=outcome]")
    page.keyboard.press("Space")
    expect(page.locator("input[name=outcome]").first).to_be_checked()


def tab_to(page: Page, selector: str, most: int = 30) -> bool:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return True
    return False


def test_a_database_outage_shows_on_an_open_page(open_page: OpenPage, users: dict[str, str],
                                                 db_url: str) -> None:
    room: Page = open_page("/")
    log_in(room, "ctl-1")
    expect(room.locator("[data-test=queue]")).to_be_visible()
    name = conninfo_to_dict(db_url)["dbname"]
    # The API's database refuses connections and loses the ones it had: an outage.
    with psycopg.connect(make_conninfo(db_url, dbname="postgres"), autocommit=True) as server:
        server.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            server.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = %s", (name,))
            expect(room.locator("[data-test=db-down]")).to_be_visible(timeout=30_000)
            screenshot(room, "database-down")
        finally:
            server.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    expect(room.locator("[data-test=db-down]")).to_have_count(0, timeout=30_000)
