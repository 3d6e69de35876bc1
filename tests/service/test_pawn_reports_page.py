"""The reports page in headless Chromium (Debian's /usr/bin/chromium) against the service on uvicorn on 127.0.0.1:
a manager sees today's totals in Vietnamese, in the viewport; a screenshot is kept at /tmp/shots/reports.png."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from sync.testing import ThreadServer
from tests.service.pawn_reports_ledger import Shop, local
from verifier.local_time import VN_TZ

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "quan-ly-cua-hang-2026"
SHOT = Path("/tmp/shots/reports.png")



def test_reports_page_shows_todays_totals(tmp_path, monkeypatch):
    from argon2 import PasswordHasher
    from playwright.sync_api import sync_playwright

    from verifier.api.app import create_app
    from verifier.config import Config
    from verifier.users import UserStore

    cfg = Config().with_overrides(service__data_dir=str(tmp_path / "data"))
    users = UserStore(cfg.data_dir, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app = create_app(cfg, demo=True, users=users, announce=lambda m: None, start_sync=False)
    svc = app.state.svc
    one_time = svc.users.add("lan", "manager")["password"]
    svc.users.change_password("lan", one_time, PASSWORD)
    today = datetime.now(VN_TZ).date().isoformat()
    shop = Shop(svc.book, monkeypatch)
    a = shop.contract(local(f"{today} 00:05"), "an", ("phone", "ring"), loan=12_000_000, fees=150_000, clerk="hoa")
    shop.contract(local(f"{today} 00:10"), "binh", ("bike",), loan=20_000_000, clerk="lan")
    shop.event(a, "partial_payment", local(f"{today} 00:20"), amount_vnd=2_000_000, clerk="hoa")
    monkeypatch.undo()  # the real clock again for the page's own access-log writes
    server = ThreadServer(app).start()  # uvicorn in a thread on a free loopback port
    try:
        base = server.url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="vi-VN")
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/login")
            page.fill("#login-name", "lan")
            page.fill("#login-password", PASSWORD)
            page.click("#login-submit")
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
            browser.close()
    finally:
        server.stop()
        svc.close()
