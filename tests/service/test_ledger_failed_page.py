"""The counter page when the ledger has failed (issue 15 item 5): a real full disk (a 3 MB tmpfs),
the service on uvicorn on 127.0.0.1, and headless Chromium looking at what the clerk sees."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser import login, new_page
from tests.service.conftest import face_decision, scan_result, txn_body

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 65536):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def test_counter_shows_a_red_banner_when_the_ledger_failed(small_disk, live_app, chromium):
    import httpx

    from verifier.config import Config

    shop = live_app(Config().with_overrides(service__data_dir=str(small_disk / "data")), start_sync=False)
    svc = shop.svc
    clerk = shop.person("hoa", "clerk")
    token = svc.users.issue_token("hoa")
    base = shop.serve().url
    page = new_page(chromium, bypass_csp=True)
    login(page, base, clerk)
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
