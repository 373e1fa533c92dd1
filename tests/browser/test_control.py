"""The control room in a real browser: the place tree and the site plan coloured by the
alerts and devices of each building, live; occupancy and watched residents; the grid
figures; history and search; the wall screen at 1920×1080."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage, log_in, screenshot
from tests.integration.test_api_seed import Db, insert_alert

WALL = {"width": 1920, "height": 1080}


def alert_in(db: Db, building: str, title: str, *, severity: str = "warning",
             subject: str = "r-0001", status: str = "open",
             raised_at: dt.datetime | None = None) -> int:
    alert_id = insert_alert(db, title=title, subject=subject, status=status, grid="g1",
                            building=building, raised_at=raised_at or dt.datetime.now(dt.UTC))
    db.execute("UPDATE alerts SET severity = %s WHERE id = %s", (severity, alert_id))
    return alert_id


def control_room(open_page: OpenPage, path: str = "/", **kwargs: object) -> Page:
    page = open_page(path, **kwargs)
    log_in(page, "ctl-1")
    expect(page.locator("[data-test=plan]")).to_be_visible()
    return page


def test_tree_and_plan_colour_each_place_by_its_worst_problem_live(
        open_page: OpenPage, users: dict[str, str], seeded: Db) -> None:
    # b01: a critical alert about r-0001 (who lives in its unit u1); b02: a door offline.
    alert_in(seeded, "b01", "张桂英 跌倒报警", severity="critical")
    room = control_room(open_page)
    tree = room.locator("[data-test=places]")
    b01, b02 = tree.locator("[data-place='b:b01']"), tree.locator("[data-place='b:b02']")
    expect(b01).to_have_attribute("data-status", "critical")
    expect(b01).to_contain_text("紧急告警")  # a word beside the colour
    expect(tree.locator("[data-place='u:b01:u1']")).to_have_attribute("data-status", "critical")
    expect(b02).to_have_attribute("data-status", "device")
    expect(b02).to_contain_text("1 台设备离线")
    expect(tree.locator("[data-place='g:g1']")).to_have_attribute("data-status", "critical")
    expect(room.locator("[data-test=legend]").first).to_contain_text("设备离线")
    plan = room.locator("[data-test=plan]")
    expect(plan.locator("[data-building=b01]")).to_have_attribute("data-status", "critical")
    expect(plan.locator("[data-building=b02]")).to_have_attribute("data-status", "device")

    # A new alert in b02 recolours it on the open page, through the stream.
    alert_in(seeded, "b02", "2栋 门长时间未关", subject="b02-u1-door")
    expect(plan.locator("[data-building=b02]")).to_have_attribute("data-status", "alert",
                                                                   timeout=20_000)
    expect(b02).to_have_attribute("data-status", "alert")
    screenshot(room, "control-status")

    # A building on the plan is a button: it narrows the queue to its alerts (and back).
    queue = room.locator("[data-test=queue]")
    expect(queue.locator("[data-alert]")).to_have_count(2)
    plan.locator("[data-building=b02]").click()
    expect(room.locator("[data-test=queue-filter]")).to_contain_text("2栋")
    expect(queue.locator("[data-alert]")).to_have_count(1)
    expect(queue).to_contain_text("2栋 门长时间未关")
    screenshot(room, "control-plan")
    plan.locator("[data-building=b02]").focus()
    room.keyboard.press("Enter")  # by keyboard too
    expect(room.locator("[data-test=queue-filter]")).to_have_count(0)
    expect(queue.locator("[data-alert]")).to_have_count(2)


def test_occupancy_and_watched_residents(open_page: OpenPage, users: dict[str, str],
                                         seeded: Db) -> None:
    now = dt.datetime.now(dt.UTC)
    seeded.execute("INSERT INTO resident_signals (community, resident, last_door_at,"
                   " last_door_direction, first_signal_at) VALUES ('juxin', 'r-0001', %s,"
                   " 'out', %s)", (now - dt.timedelta(hours=1), now - dt.timedelta(days=3)))
    seeded.execute("INSERT INTO absences (community, resident, starts_at, ends_at, created_by)"
                   " VALUES ('juxin', 'r-0002', %s, %s, 'ctl-1')",
                   (now - dt.timedelta(hours=2), now + dt.timedelta(days=1)))
    room = control_room(open_page)
    panel = room.locator("[data-test=occupancy]")
    tiles = panel.locator("[data-test=watch-counts]")
    expect(tiles.locator(".w-out")).to_contain_text("1外出")
    expect(tiles.locator(".w-home")).to_contain_text("0在家")
    table = panel.locator("[data-test=occupancy-table]")
    # Columns: building, home, out, away, silent, unknown.
    expect(table.locator("tr.total td")).to_have_text(["0", "1", "1", "0", "0"])
    expect(table.locator("[data-building-row=b02] td")).to_have_text(["0", "0", "1", "0", "0"])
    expect(panel).to_contain_text("张桂英 · 外出")
    screenshot(room, "control-occupancy")


def test_grid_figures_are_drawn_per_grid(open_page: OpenPage, users: dict[str, str],
                                         seeded: Db) -> None:
    alert_in(seeded, "b01", "张桂英 今日未出现")
    # Closed within the month: acknowledged after 10 min, on-site feedback after 15.
    closed = alert_in(seeded, "b02", "李建国 今日未出现", subject="r-0002",
                      raised_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20))
    seeded.execute(
        "UPDATE alerts SET status = 'archived', assignee = 'w-01', escalate_at = NULL,"
        " acknowledged_at = raised_at + interval '10 min', acknowledged_by = 'w-01',"
        " resolved_at = raised_at + interval '15 min', resolved_by = 'w-01', outcome = 'safe',"
        " archived_at = raised_at + interval '16 min', archived_by = 'ctl-1' WHERE id = %s",
        (closed,))
    room = control_room(open_page)
    figures = room.locator("[data-test=figures]")
    expect(figures.locator("canvas")).to_be_visible()
    row = figures.locator("table tbody tr", has_text="第一网格")
    # Median minutes to acknowledge and to close, 化解率, 办结率, on time (%), alerts.
    expect(row.locator("td")).to_have_text(["10", "15", "50", "50", "100", "2"])
    expect(figures.locator("[role=img]")).to_have_attribute(
        "aria-label", re.compile(r"共 \d+ 个网格、[1-9]\d* 条告警"))
    screenshot(room, "control-figures")


def test_history_finds_an_archived_alert_and_opens_its_timeline(
        open_page: OpenPage, users: dict[str, str], seeded: Db) -> None:
    days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    wanted = alert_in(seeded, "b01", "王秀兰 今日未出现", status="archived", raised_at=days_ago)
    alert_in(seeded, "b02", "2栋 门被强行打开", subject="b02-u1-door", status="archived",
             raised_at=days_ago)
    alert_in(seeded, "b01", "张桂英 今日未出现", status="open")
    room = control_room(open_page)
    room.locator("[data-test=history-link]").click()
    expect(room).to_have_url("/history")
    rows = room.locator("[data-test=history] [data-history]")
    expect(rows).to_have_count(2)  # the closed ones only
    room.fill("#h-text", "王秀兰")
    room.locator("[data-test=history-form] button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-history", str(wanted))
    room.fill("#h-text", "")
    room.select_option("#h-place", "b:b02")
    room.locator("[data-test=history-form] button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2栋 门被强行打开")
    room.select_option("#h-place", "")
    room.fill("#h-text", "王秀兰")
    room.locator("[data-test=history-form] button[type=submit]").click()
    rows.first.get_by_role("button").click()
    detail = room.locator("[data-test=detail]")
    expect(detail).to_contain_text("王秀兰 今日未出现")
    expect(detail.locator("[data-test=timeline]")).to_contain_text("触发告警")
    expect(detail.locator(".el-tag", has_text="已归档")).to_be_visible()
    expect(detail.locator(".el-zoom-in-center-enter-active")).to_have_count(0)  # tags drawn
    screenshot(room, "control-history")


def test_wall_screen_at_1920_by_1080(open_page: OpenPage, users: dict[str, str],
                                     seeded: Db) -> None:
    alert_in(seeded, "b01", "张桂英 今日未出现")
    room = control_room(open_page, "/?screen=wall", viewport=WALL)
    expect(room).to_have_url("/?screen=wall")
    expect(room.locator("[data-test=room]")).to_have_attribute("data-screen", "wall")
    plan = room.locator("[data-test=plan]")
    expect(plan.locator("[data-building=b01]")).to_have_attribute("data-status", "alert")
    expect(room.locator("[data-test=queue]")).to_contain_text("张桂英 今日未出现")
    expect(room.locator("[data-test=occupancy]")).to_be_visible()
    expect(room.locator("[data-test=trends]")).to_be_visible()
    # Nothing to edit on the wall, and everything within the one screen.
    expect(room.locator("[data-test=detail], [data-test=dispatch-form]")).to_have_count(0)
    expect(room.get_by_role("button", name="退出登录")).to_have_count(0)
    for part in ("plan", "queue", "occupancy", "trends"):
        box = room.locator(f"[data-test={part}]").bounding_box()
        assert box is not None and box["y"] + min(box["height"], 200) <= WALL["height"], part
    title_size = room.locator("[data-test=queue] .title").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)")
    assert title_size >= 20
    # A new alert arrives through the stream.
    alert_in(seeded, "b02", "2栋 门长时间未关", subject="b02-u1-door")
    expect(room.locator("[data-test=queue]")).to_contain_text("2栋 门长时间未关", timeout=20_000)
    expect(plan.locator("[data-building=b02]")).to_have_attribute("data-status", "alert")
    assert room.evaluate("document.documentElement.scrollHeight") <= WALL["height"]
    screenshot(room, "control-wall")
    # W leaves and enters the wall screen.
    room.keyboard.press("w")
    expect(room.locator("[data-test=room]")).to_have_attribute("data-screen", "desk")
    expect(room).to_have_url("/")
    room.keyboard.press("w")
    expect(room.locator("[data-test=room]")).to_have_attribute("data-screen", "wall")
