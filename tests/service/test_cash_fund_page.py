"""The reports page's cash fund forms in headless Chromium (Debian's /usr/bin/chromium) against the service on
uvicorn on 127.0.0.1: a manager's fund deposit, confirmed in a dialog, turns the end-of-day balance from the
impossible -29.850.000 ₫ into the right positive amount; a clerk-style count with a difference needs its
explanation. A screenshot is kept at /tmp/shots/reports-fund.png."""

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
SHOT = Path("/tmp/shots/reports-fund.png")



def test_fund_deposit_makes_the_end_of_day_balance_right(tmp_path, monkeypatch):
    from argon2 import PasswordHasher
    from playwright.sync_api import expect, sync_playwright

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
    monkeypatch.undo()  # the real clock again for the entries the page records
    server = ThreadServer(app).start()  # uvicorn in a thread on a free loopback port
    try:
        base = server.url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="vi-VN")
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/login")
            page.fill("#login-name", "lan")
            page.fill("#login-password", PASSWORD)
            page.click("#login-submit")
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
            browser.close()
        entries = svc.ledger.entries(0, 100)
        assert [e.payload["type"] for e in entries[-2:]] == ["cash_fund", "cash_count"]
    finally:
        server.stop()
        svc.close()
