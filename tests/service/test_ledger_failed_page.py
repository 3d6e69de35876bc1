"""The counter page when the ledger has failed (issue 15 item 5): a real full disk (a 3 MB tmpfs),
the service on uvicorn on 127.0.0.1, and headless Chromium looking at what the clerk sees."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sync.testing import ThreadServer
from tests.service.conftest import face_decision, scan_result, txn_body

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "quay-cam-do-2026"



def _fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 65536):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def test_counter_shows_a_red_banner_when_the_ledger_failed(small_disk, tmp_path):
    import httpx
    from argon2 import PasswordHasher
    from playwright.sync_api import sync_playwright

    from verifier.api.app import create_app
    from verifier.config import Config
    from verifier.users import UserStore

    cfg = Config().with_overrides(service__data_dir=str(small_disk / "data"))
    users = UserStore(cfg.data_dir, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app = create_app(cfg, demo=True, users=users, announce=lambda m: None, start_sync=False)
    svc = app.state.svc
    one_time = svc.users.add("hoa", "clerk")["password"]
    svc.users.change_password("hoa", one_time, PASSWORD)
    token = svc.users.issue_token("hoa")
    server = ThreadServer(app).start()  # uvicorn in a thread on a free loopback port
    try:
        base = server.url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="vi-VN", bypass_csp=True)
            page.goto(base + "/login")
            page.fill("#login-name", "hoa")
            page.fill("#login-password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url(re.compile(r".*/counter$"))
            page.wait_for_function("document.querySelector('#reader-status').textContent !== '…'")
            assert page.is_hidden("#ledger-banner")  # a healthy ledger: no banner

            scan = svc.scans.add_finished(scan_result(), b"", user="hoa")
            scan.face = face_decision()
            _fill(small_disk)
            r = httpx.post(base + "/api/v1/transactions", headers={"Authorization": f"Bearer {token}"},
                           json=txn_body(scan.id, notes="x" * 1900), timeout=30)
            assert r.status_code == 500 and "Sổ cái" in r.json()["error"]["message"], r.text

            page.reload()
            banner = page.locator("#ledger-banner")
            banner.wait_for(state="visible")
            text = banner.inner_text()
            assert "Sổ cái ghi thất bại" in text and "khởi động lại" in text
            box = banner.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768  # above the fold
            browser.close()
    finally:
        server.stop()
        svc.close()
