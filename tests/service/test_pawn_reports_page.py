"""The reports page in headless Chromium (Debian's /usr/bin/chromium) against the service on uvicorn on 127.0.0.1:
a manager sees today's totals in Vietnamese, in the viewport; a screenshot is kept at /tmp/shots/reports.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import login, new_page
from tests.service.pawn_reports_ledger import early_today

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOT = Path("/tmp/shots/reports.png")


def test_reports_page_shows_todays_totals(live_app, chromium, monkeypatch):
    shop = live_app(start_sync=False)
    manager = shop.person("lan", "manager")
    early_today(shop.svc.book, monkeypatch)  # then the real clock again for the page's own access-log writes
    base = shop.serve().url
    page = new_page(chromium)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, manager)
    page.wait_for_url(re.compile(r".*/counter$"))
    page.click("#nav-reports")
    page.wait_for_url(re.compile(r".*/reports$"))
    totals = page.locator("#day-totals")
    totals.wait_for(state="visible")
    assert page.inner_text("#day-report h2").startswith("Báo cáo cuối ngày")
    assert page.inner_text("#total-new") == "2"
    assert page.inner_text("#total-out") == "32.000.000 ₫"  # two loans
    assert page.inner_text("#total-in") == f"{2_150_000:,} ₫".replace(",", ".")  # fees and the principal repaid
    assert page.inner_text("#open-principal") == "30.000.000 ₫"
    assert "Điện thoại: 1" in page.inner_text("#items-in-store") and "Xe máy: 1" in page.inner_text("#items-in-store")
    box = totals.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["x"] + box["width"] <= 1366
    assert page.locator("#by-clerk").is_visible()
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT))
    # the period links follow the dates chosen
    page.fill("#period-from", "2026-01-01")
    page.dispatch_event("#period-from", "change")
    href = page.get_attribute('p[data-report="register"] a[data-format="xlsx"]', "href")
    assert href.startswith("/api/v1/reports/register?from=2026-01-01&to=")
    # the customer search leads to the file
    page.fill("#c-name", "Nguyễn Văn An")
    page.click("#c-go")
    page.locator("#c-results a").first.click()
    page.wait_for_url(re.compile(r".*/customers/[0-9a-f]{32}$"))
    assert "Nguyễn Văn An" in page.inner_text("#person h2")
    page.fill("#note-text", "Khách hẹn chuộc cuối tuần")
    page.click("#note-save")
    page.locator("#note-list li").first.wait_for(state="visible")
    assert "Khách hẹn chuộc cuối tuần" in page.inner_text("#note-list")
    assert "(giờ Việt Nam)" in page.inner_text("#note-list")
    assert errors == []
