"""The reports page's cash fund forms in headless Chromium (Debian's /usr/bin/chromium) against the service on
uvicorn on 127.0.0.1: a manager's fund deposit, confirmed in a dialog, turns the end-of-day balance from the
impossible -29.850.000 ₫ into the right positive amount; a clerk-style count with a difference needs its
explanation. A screenshot is kept at /tmp/shots/reports-fund.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import login, new_page
from tests.service.pawn_reports_ledger import early_today

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOT = Path("/tmp/shots/reports-fund.png")


def test_fund_deposit_makes_the_end_of_day_balance_right(live_app, chromium, monkeypatch):
    from playwright.sync_api import expect

    shop = live_app(start_sync=False)
    svc = shop.svc
    manager = shop.person("lan", "manager")
    early_today(svc.book, monkeypatch)  # then the real clock again for the entries the page records
    base = shop.serve().url
    page = new_page(chromium, (1366, 900))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, manager)
    page.wait_for_url(re.compile(r".*/counter$"))
    page.goto(base + "/reports")
    # without the shop's own cash the book is below zero: the problem the fund solves
    assert page.inner_text("#closing-balance") == "-29.850.000 ₫"
    # a typo is caught before anything is sent
    page.fill("#fund-amount", "50tr")
    page.fill("#fund-reason", "Chủ cửa hàng nộp quỹ đầu ngày")
    page.click("#fund-go")
    expect(page.locator("#cash-error")).to_contain_text("Số tiền phải là số nguyên dương")
    assert not page.locator("#cash-dialog").is_visible()
    # the deposit, confirmed in the dialog
    page.select_option("#fund-kind", "in:owner")
    page.fill("#fund-amount", "50.000.000")
    page.click("#fund-go")
    dialog = page.locator("#cash-dialog")
    dialog.wait_for(state="visible")
    assert "Nhập quỹ" in page.inner_text("#cash-dialog-title")
    assert page.inner_text("#cash-dialog-amount") == "50.000.000 ₫"
    assert page.inner_text("#cash-dialog-after") == "20.150.000 ₫"
    page.click("#cash-confirm")
    page.locator("#cash-done").wait_for(state="visible")
    closing = page.locator("#closing-balance")
    expect(closing).to_have_text("20.150.000 ₫")  # 50.000.000 − 32.000.000 lent + 2.150.000 received
    assert closing.is_visible()
    assert page.inner_text("#total-fund_in_vnd") == "50.000.000 ₫"
    assert page.inner_text("#cash-balance") == "20.150.000 ₫"
    # a count with a difference: explained, recorded, listed with its difference
    page.fill("#count-amount", "20.100.000")
    page.click("#count-go")
    dialog.wait_for(state="visible")
    assert page.inner_text("#cash-dialog-diff") == "-50.000 ₫"
    assert page.locator("#cash-confirm").is_disabled()  # a difference needs its explanation
    page.click("#cash-cancel")
    page.fill("#count-note", "Thối nhầm cho khách 50.000 ₫")
    page.click("#count-go")
    dialog.wait_for(state="visible")
    page.click("#cash-confirm")
    page.locator("#day-counts").wait_for(state="visible")
    row = page.inner_text("#day-counts tbody tr")
    assert "20.100.000 ₫" in row and "-50.000 ₫" in row and "Thối nhầm cho khách" in row
    assert "(giờ Việt Nam)" in row
    expect(closing).to_have_text("20.150.000 ₫")  # a count moves no cash
    page.locator("#day-stock").scroll_into_view_if_needed()
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT), full_page=True)
    assert errors == []
    entries = svc.ledger.entries(0, 100)
    assert [e.payload["type"] for e in entries[-2:]] == ["cash_fund", "cash_count"]
