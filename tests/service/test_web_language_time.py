"""Headless Chromium (Debian's /usr/bin/chromium through Playwright, as tests/service/test_web_e2e.py): the pages
show Vietnam local time with its label whatever the browser's own time zone, and a wrong access key at the counter
is one plain Vietnamese sentence with the PACE/BAC detail folded behind "chi tiết" (issue 17 items 4 and 5)."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.browser import login, new_context
from tests.service.conftest import txn_body
from verifier.local_time import local_time
from verifier.messages import CATALOGUE

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def berlin_browser(chromium):
    """A Vietnamese-locale browser whose clock is in Berlin: Vietnam time must not come from the machine's zone."""
    ctx = new_context(chromium, timezone_id="Europe/Berlin", bypass_csp=True)
    ctx.set_default_timeout(30_000)
    return ctx


def _contract_through_the_api(base: str, token: str) -> dict:
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=h, timeout=60) as c:
        scan = c.post("/api/v1/scans", json={}).json()
        deadline = time.monotonic() + 60
        while (s := c.get(f"/api/v1/scans/{scan['id']}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, s
            time.sleep(0.2)
        assert s["status"] == "done", s
        assert c.post(f"/api/v1/scans/{scan['id']}/face", json={"consent": True, "camera": True}).status_code == 200
        r = c.post("/api/v1/transactions", json=txn_body(scan["id"]))
        assert r.status_code == 201, r.text
        return c.get(f"/api/v1/transactions/{r.json()['id']}").json()


def test_local_labelled_times_and_a_plain_wrong_key_sentence(live_server, berlin_browser):
    base = live_server.base
    view = _contract_through_the_api(base, live_server.add_user("quay-api", "integrator")["token"])
    assert view["created_at"].endswith("Z")  # the API stays UTC
    inspector, clerk = live_server.add_user("canbo", "inspector"), live_server.add_user("lan", "clerk")
    page = berlin_browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # inspector page: the contract list shows the local time with its label, as the server formats it
    login(page, base, inspector)
    page.wait_for_url(re.compile(r".*/inspector$"))
    page.wait_for_selector("#results tbody tr")
    row = page.inner_text("#results tbody tr")
    assert local_time(view["created_at"]) in row and "(giờ Việt Nam)" in row, row
    # the browser's formatter near midnight, in a Berlin browser: the next day in Vietnam
    assert page.evaluate("localTime('2026-12-05T18:30:00.000000Z')") == "01:30 06/12/2026 (giờ Việt Nam)"
    assert page.evaluate("localTime('2026-12-05T18:30:00')") == "01:30 06/12/2026 (giờ Việt Nam)"
    page.click("#results tbody tr button.open")
    page.wait_for_selector("#detail-fields")
    page.click("#logout") if page.is_visible("#logout") else page.context.clear_cookies()

    # counter: a wrong CAN is one plain sentence; the detail is folded
    login(page, base, clerk)
    page.wait_for_url(re.compile(r".*/counter$"))
    page.fill("#access-key", "000000")
    page.keyboard.press("F2")
    page.wait_for_function("document.getElementById('scan-progress').dataset.status === 'failed'"
                           " || document.querySelector('#scan-progress details')", timeout=60_000)
    page.wait_for_selector("#scan-progress details.error-detail")
    shown = page.inner_text("#scan-progress")
    assert CATALOGUE["access_key_wrong"][0] in shown, shown
    assert not page.is_visible("#scan-progress details code")  # closed until the clerk opens "chi tiết"
    assert page.inner_text("#scan-progress details summary") == "chi tiết"
    page.click("#scan-progress details summary")
    detail = page.inner_text("#scan-progress details code")
    assert "PACE" in detail or "BAC" in detail, detail
    assert errors == []
