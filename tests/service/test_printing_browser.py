"""Printing in headless Chromium against ``chipid serve`` on 127.0.0.1 (issue 18): the counter's setup banner
until a manager fills /settings, the contract print page (two copies) and a receipt at 1366x768 (A5 preview
in the viewport, 80 mm a 72 mm column). Screenshots for the coordinator go to /tmp/shots/."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.browser import DESKTOP, login, new_page
from verifier.vn_words import vnd_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/shots")


def _contract(base: str, token: str) -> dict:
    """A contract recorded through the API as an integrator does it: read the demo card, face, contract."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=60) as c:
        scan = c.post("/api/v1/scans", json={}).json()["id"]
        deadline = time.monotonic() + 60
        while (state := c.get(f"/api/v1/scans/{scan}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["status"] == "done", state
        face = c.post(f"/api/v1/scans/{scan}/face", json={"consent": True, "camera": True})
        assert face.status_code == 200, face.text
        r = c.post("/api/v1/transactions", json={
            "scan_id": scan, "valuation_vnd": 15_000_000, "loan_vnd": 10_500_000, "interest_rate_year_pct": 18.0, "term_days": 30,
            "items": [{"description": "Điện thoại iPhone 13 128GB", "category": "phone", "serial": "F2LXK0ABCD12"},
                      {"description": "Nhẫn vàng 18K 2 chỉ", "category": "jewelry", "condition": "Mới"}],
            "pawner_phone": "0912 345 678"})
        assert r.status_code == 201, r.text
        return r.json()


def _login(browser, base: str, user: dict, size=DESKTOP):
    page = new_page(browser, size, bypass_csp=True)
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, base, user, next_path="/counter")
    page.wait_for_url(f"{base}/counter")
    return page, errors


def _visible_in_viewport(page, selector: str, size) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None and page.is_visible(selector), selector
    assert 0 <= box["y"] and box["y"] + box["height"] <= size[1], (selector, box)
    assert 0 <= box["x"] and box["x"] + box["width"] <= size[0], (selector, box)


def test_banner_settings_contract_and_receipts(live_server, chromium):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.base
    manager = live_server.add_user("quanly", "manager")
    erp = live_server.add_user("erp", "integrator")
    created = _contract(base, erp["token"])

    # the banner on the counter while the shop profile is the "(chưa cấu hình)" default
    page, errors = _login(chromium, base, manager)
    assert page.is_visible("#setup-banner")
    page.click("#setup-banner-link")
    page.wait_for_url(f"{base}/settings")
    assert page.is_visible("#settings-unconfigured")
    page.fill("#shop-name", "Cầm đồ Phú Quý")
    page.fill("#shop-address", "12 Lê Lợi, Phường Bến Nghé, Quận 1")
    page.fill("#shop-license", "0123/GCN-ANTT")
    page.fill("#shop-representative", "Trần Thị Bích")
    page.fill("#shop-phone", "0901 234 567")
    page.fill("#shop-province", "TP. Hồ Chí Minh")
    page.select_option("#shop-printer_layout", "a5")
    page.click("#settings-save")
    page.wait_for_selector("#settings-saved")
    assert page.locator("#settings-unconfigured").count() == 0  # configured now
    page.goto(f"{base}/counter")
    assert page.locator("#setup-banner").count() == 0  # configured: the banner is gone

    # the contract page: two copies, the shop from its profile, amounts in words
    page.goto(f"{base}/contracts/{created['id']}/print")
    copies = page.locator("article.contract-copy")
    assert copies.count() == 2
    loan_words = "Bằng chữ: " + vnd_words(10_500_000, capital=True)
    for i, label in enumerate(("Bản 1: Cửa hàng giữ", "Bản 2: Khách hàng giữ")):
        text = copies.nth(i).inner_text()
        for needed in (label, "Cầm đồ Phú Quý", "Trần Thị Bích", "0123/GCN-ANTT", "0912 345 678", loan_words,
                       "Nhẫn vàng 18K 2 chỉ", "Điều 7. Đồng ý xử lý dữ liệu cá nhân", "TP. Hồ Chí Minh, ngày "):
            assert needed in text, (label, needed)
    assert page.is_visible("#contract-copy-1 .place-date")
    page.screenshot(path=str(SHOTS / "contract.png"), full_page=True)

    # a receipt, A5 preview: seen whole at 1366x768 without scrolling
    page.goto(f"{base}/api/v1/transactions/{created['id']}/receipts/{created['seq']}?layout=a5")
    _visible_in_viewport(page, "#receipt", DESKTOP)
    assert page.inner_text("#receipt-title") == "PHIẾU CHI"
    assert page.inner_text("#receipt-shop") == "Cầm đồ Phú Quý"
    assert loan_words in page.inner_text("#receipt")
    assert "(giờ Việt Nam)" in page.inner_text("#receipt-time")
    page.screenshot(path=str(SHOTS / "receipt_a5.png"))
    # the layout switch: 80 mm is one 72 mm column
    page.select_option("#receipt-layout", "80mm")
    page.wait_for_url(lambda url: "layout=80mm" in url)
    width_px = page.locator("#receipt").bounding_box()["width"]
    assert abs(width_px - 72 / 25.4 * 96) < 2, width_px
    assert loan_words in page.inner_text("#receipt")
    page.locator("#receipt").screenshot(path=str(SHOTS / "receipt_80mm.png"))
    assert errors == []
