"""The installer's console in a real browser: a device seen on the wire is adopted from a
profile and its next event appears live in its test panel; a camera's counting line is
moved with the keyboard and saved into its settings."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage, log_in, screenshot
from tests.browser.test_pages import tiny_png
from tests.integration.test_api_installer import publish_event
from tests.integration.test_api_seed import COMMUNITY, Db


def _console(open_page: OpenPage) -> Page:
    page = open_page("/installer/")
    log_in(page, "inst-1")
    expect(page).to_have_url("/installer/")
    return page


def _choose_profile(page: Page, label: str) -> None:
    page.locator("[data-test=adopt-profile]").click()
    page.locator(".el-select-dropdown__item:visible", has_text=label).first.click()


def test_installer_adopts_a_device_and_sees_its_test_event(
        open_page: OpenPage, users: dict[str, str], seeded: Db, db_url: str) -> None:
    publish_event(db_url, "b01", "b01-new-door")  # a terminal nobody has set up yet
    page = _console(open_page)
    expect(page.locator("[data-test=unregistered-b01-new-door]")).to_be_visible()

    page.locator("[data-test=adopt-b01-new-door]").click()
    _choose_profile(page, "hikvision-ds-k1t (DS-K1T341AM")
    page.locator("[data-test=adopt-name]").fill("1栋新门禁")
    page.locator("[data-test=adopt-host]").fill("192.0.2.10")
    page.locator("[data-test=adopt-password]").fill("terminal-s3cret-pw")
    screenshot(page, "installer-adopt")
    page.locator("[data-test=adopt-save]").click()
    expect(page.locator("[data-test=adopt-form]")).to_be_hidden()
    expect(page.locator("[data-test=unregistered-b01-new-door]")).to_have_count(0)
    row = seeded.execute("SELECT registered, name FROM devices WHERE community = %s AND"
                         " id = 'b01-new-door'", (COMMUNITY,)).fetchone()
    assert row == {"registered": True, "name": "1栋新门禁"}

    page.locator("[data-test=test-b01-new-door]").click()
    events = page.locator("[data-test=test-panel] [data-test=test-event]")
    expect(events).to_have_count(1)  # the event it was seen with
    publish_event(db_url, "b01", "b01-new-door", kind="exit_button", direction=None)
    expect(events).to_have_count(2)
    expect(events.first).to_have_text("出门按钮")
    screenshot(page, "installer-test")


def test_installer_places_a_cameras_counting_line(
        open_page: OpenPage, users: dict[str, str], seeded: Db, db_url: str) -> None:
    publish_event(db_url, "b01", "b01-cam", source="camera")
    page = _console(open_page)
    page.locator("[data-test=adopt-b01-cam]").click()
    _choose_profile(page, "generic-camera")
    page.locator("[data-test=adopt-url]").fill("rtsp://admin:campw@192.0.2.20/live")
    page.locator("[data-test=adopt-save]").click()
    expect(page.locator("[data-test=adopt-form]")).to_be_hidden()

    page.locator("[data-test=camera-b01-cam]").click()
    page.locator("[data-test=frame-file]").set_input_files(
        files=[{"name": "frame.png", "mimeType": "image/png", "buffer": tiny_png()}])
    handle = page.locator("[data-test=handle-a]")
    handle.focus()
    for _ in range(5):
        handle.press("Shift+ArrowRight")
    handle.press("ArrowUp")
    corner = page.locator("[data-test=person-corner]")
    corner.focus()
    corner.press("Shift+ArrowRight")
    expect(page.locator("[data-test=line-coords]")).to_have_text("90, 239 → 600, 240")
    expect(page.locator("[data-test=person-size]")).to_contain_text("70 × 90")
    page.locator("[data-test=camera-save]").click()
    expect(page.locator("[data-test=camera-error]")).to_have_count(0)
    screenshot(page, "installer-camera")
    stored = seeded.execute("SELECT settings FROM installed_devices WHERE device = 'b01-cam'"
                            ).fetchone()
    assert stored is not None
    page.wait_for_timeout(0)
    for _ in range(50):
        stored = seeded.execute("SELECT settings FROM installed_devices WHERE device ="
                                " 'b01-cam'").fetchone()
        assert stored is not None
        if stored["settings"].get("vision"):
            break
        page.wait_for_timeout(100)
    settings = stored["settings"]
    assert settings["counting"]["line"] == {"a": [90, 239], "b": [600, 240], "in_side": "below"}
    assert settings["vision"] == {"person_width_px": 70, "person_length_px": 90}
    assert settings["url"] == "rtsp://admin:campw@192.0.2.20/live"  # kept, never sent back
    frame = seeded.execute("SELECT content_type FROM device_frames WHERE device = 'b01-cam'"
                           ).fetchone()
    assert frame == {"content_type": "image/png"}


def test_installer_reads_a_devices_problems_in_their_own_words(
        open_page: OpenPage, users: dict[str, str], seeded: Db, db_url: str) -> None:
    publish_event(db_url, "b01", "b01-tz-door")
    # Sources report problems by code (a terminal with its English log text, an agent bare).
    seeded.execute("UPDATE devices SET status = %s::jsonb WHERE community = %s AND"
                   " id = 'b01-tz-door'",
                   ('{"state": "online", "problems": [{"code": "zone_mismatch", "message":'
                    ' "terminal says TimeZone=7"}, "spool_full", {"code": "new_code"}]}',
                    COMMUNITY))
    page = _console(open_page)
    expect(page.locator("[data-test=problem-b01-tz-door-zone_mismatch]")).to_have_text(
        "设备时区与配置不一致")
    expect(page.locator("[data-test=problem-b01-tz-door-zone_mismatch]")).to_have_attribute(
        "title", "terminal says TimeZone=7")
    expect(page.locator("[data-test=problem-b01-tz-door-spool_full]")).to_have_text("网关缓存已满")
    # a code the UI does not know yet shows as itself rather than as nothing
    expect(page.locator("[data-test=problem-b01-tz-door-new_code]")).to_have_text("new_code")
