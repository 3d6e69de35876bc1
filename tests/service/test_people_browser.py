"""Headless Chromium (Playwright driving Debian's /usr/bin/chromium) against a real `chipid serve`:
/docs renders the OpenAPI 3.1 document offline, a one-time password is changed at the first login,
and pages are gated by role."""

from __future__ import annotations

import re

import pytest

from tests.browser import login, new_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def browser(chromium):
    ctx = new_context(chromium)
    ctx.set_default_timeout(30_000)
    return ctx


def test_docs_render_the_openapi_31_document_offline(live_server, browser):
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda req: requests.append(req.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server.base + "/docs")
    # an operation's summary is on screen: the document was read and rendered
    summary = page.locator(".opblock-summary-description", has_text="Start reading the card on the reader")
    summary.wait_for(state="visible")
    body = page.inner_text("body")
    assert "Unable to render" not in body
    assert page.locator(".opblock").count() > 15
    assert page.locator("button.authorize").is_visible()  # the bearer scheme is declared
    # the event stream's documentation with its events
    page.locator(".opblock-summary-path", has_text="/api/v1/events").first.click()
    page.wait_for_selector("text=Last-Event-ID")
    assert "transaction_created" in page.inner_text("body")
    assert all(url.startswith(live_server.base) or url.startswith("data:") for url in requests), requests
    assert errors == []


def test_one_time_password_change_and_role_gating(live_server, browser):
    base = live_server.base
    page = browser.new_page()
    # the first admin logs in with the password printed once: the page asks for a new one first
    login(page, base, {"name": "admin", "password": live_server.admin_password})
    page.wait_for_url(re.compile(r".*/password\?next=.*"))
    assert page.is_visible("#must-change") and page.locator("#nav-counter").count() == 0
    page.fill("#old-password", live_server.admin_password)
    page.fill("#new-password", "ngan")
    page.fill("#repeat-password", "ngan")
    page.evaluate("document.querySelector('#new-password').removeAttribute('minlength')")  # the server checks too
    page.click("#password-submit")
    assert "ít nhất 10 ký tự" in page.inner_text("#password-error")
    page.fill("#old-password", live_server.admin_password)
    page.fill("#new-password", "quan-tri-vien-2026")
    page.fill("#repeat-password", "quan-tri-vien-2026")
    page.click("#password-submit")
    page.wait_for_url(re.compile(r".*/counter$"))
    assert page.is_visible("#nav-users")
    # the admin creates a clerk on the users page; the clerk's password is a one-time password
    page.click("#nav-users")
    page.fill("#new-user-name", "lan")
    page.select_option("#new-user-role", "clerk")
    page.click("#add-user-submit")
    one_time = page.inner_text("#one-time-secret")
    page.goto(base + "/logout")

    login(page, base, {"name": "lan", "password": one_time})
    page.wait_for_url(re.compile(r".*/password\?next=.*"))
    page.fill("#old-password", one_time)
    page.fill("#new-password", "mat-khau-so-1")
    page.fill("#repeat-password", "mat-khau-so-1")
    page.click("#password-submit")
    page.wait_for_url(re.compile(r".*/counter$"))
    # a clerk has no link to the inspector page, and the page itself is refused in Vietnamese
    assert page.locator("#nav-inspector").count() == 0 and page.locator("#nav-users").count() == 0
    resp = page.goto(base + "/inspector")
    assert resp.status == 403
    assert "Không được phép truy cập" in page.inner_text("#forbidden") and "clerk" in page.inner_text("#forbidden")
    assert page.locator('a[href="/inspector"]').count() == 0
    page.goto(base + "/logout")

    # an inspector never sees the counter
    inspector = live_server.add_user("canbo", "inspector")
    login(page, base, inspector)
    page.wait_for_url(re.compile(r".*/inspector$"))
    assert page.locator("#nav-counter").count() == 0
    resp = page.goto(base + "/counter")
    assert resp.status == 403 and "Không được phép truy cập" in page.inner_text("#forbidden")
