"""The grid worker's "my residents" on a phone: today's state of each watched resident in
their grids, the ones needing a visit first; the resident's page with one-tap calls, their
open alert and 外出报备, which turns the state to away."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, OpenPage, log_in, screenshot
from tests.browser.test_pages import tab_to
from tests.integration.test_api_seed import Db, insert_alert


def seed_states(db: Db) -> int:
    """张桂英 (r-0001) went out an hour ago; 王秀兰 (r-0003, also elderly and alone, in grid
    g1) has an open silence alert. Returns that alert's id."""
    now = dt.datetime.now(dt.UTC)
    db.execute("INSERT INTO resident_signals (community, resident, last_door_at,"
               " last_door_direction, first_signal_at) VALUES ('juxin', 'r-0001', %s,"
               " 'out', %s)", (now - dt.timedelta(hours=1), now - dt.timedelta(days=3)))
    db.execute("INSERT INTO residents (community, id, name, household, phone, is_elderly,"
               " lives_alone, care_level, emergency_contacts) VALUES ('juxin', 'r-0003',"
               " '王秀兰', 'h-b02-202', '13800000003', true, true, 2, '[]')")
    return insert_alert(db, subject="r-0003", title="王秀兰 今日未出现", grid="g1",
                        building="b02", raised_at=now - dt.timedelta(hours=2))


def test_my_residents_with_todays_state_and_an_absence(open_page: OpenPage,
                                                       users: dict[str, str],
                                                       seeded: Db) -> None:
    silent_alert = seed_states(seeded)
    phone = open_page("/m/", viewport=PHONE)
    log_in(phone, "w-01")
    expect(phone).to_have_url("/m/")
    phone.locator("[data-test=tab-residents]").click()
    expect(phone).to_have_url("/m/residents")

    cells = phone.locator("[data-test=residents] [data-resident]")
    # The silent one first, then the one who is out; 李建国 is not watched.
    expect(cells).to_have_count(2)
    expect(cells.nth(0)).to_have_attribute("data-resident", "r-0003")
    expect(cells.nth(0).locator("[data-test=state]")).to_have_text("无动静")
    expect(cells.nth(0)).to_contain_text(f"#{silent_alert}")
    mine = phone.locator("[data-resident=r-0001]")
    expect(mine).to_contain_text("张桂英")
    expect(mine).to_contain_text("1栋 1单元 101")
    expect(mine.locator("[data-test=state]")).to_have_text("外出")
    expect(mine).to_contain_text("出门")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "phone-residents")

    # By keyboard: Tab to the resident, Enter opens the card.
    assert tab_to(phone, "[data-resident=r-0001]")
    phone.keyboard.press("Enter")
    expect(phone).to_have_url("/m/residents/r-0001")
    card = phone.locator("[data-test=resident]")
    expect(card).to_contain_text("张桂英")
    expect(card.locator("[data-test=state]")).to_have_text("外出")
    expect(phone.locator("[data-test=contacts] a[href='tel:13800000001']")).to_be_visible()
    expect(phone.locator("[data-test=contacts] a[href='tel:13900000009']")).to_contain_text("李明")
    expect(phone.locator("[data-test=open-alert]")).to_have_count(0)

    # 外出报备 until tomorrow at 18:00, typed as the community's (Asia/Shanghai) wall clock
    # while the phone itself runs on London time.
    tomorrow = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=1)
    form = phone.locator("[data-test=absence-form]")
    form.get_by_label("预计返回时间").fill(f"{tomorrow.isoformat()}T18:00")
    form.get_by_label("事由").fill("去女儿家住一晚")
    form.locator("button[type=submit]").click()
    expect(form).to_contain_text("外出报备已登记")
    expect(card.locator("[data-test=state]")).to_have_text("报备外出")
    expect(card).to_contain_text(f"{tomorrow.month:02d}/{tomorrow.day:02d} 18:00")
    screenshot(phone, "phone-resident")
    row = seeded.execute("SELECT ends_at, reason, created_by FROM absences"
                         " WHERE resident = 'r-0001'").fetchone()
    assert row is not None
    assert row["ends_at"] == dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, 18,
                                         tzinfo=ZoneInfo("Asia/Shanghai"))
    assert (row["reason"], row["created_by"]) == ("去女儿家住一晚", "w-01")

    # Back on the list the state is the new one; the silent resident's card links the alert.
    phone.locator(".van-nav-bar__left").click()
    expect(phone).to_have_url("/m/residents")
    expect(mine.locator("[data-test=state]")).to_have_text("报备外出")
    cells.nth(0).click()
    expect(phone).to_have_url("/m/residents/r-0003")
    phone.locator("[data-test=open-alert]").click()
    expect(phone).to_have_url(f"/m/alerts/{silent_alert}")
