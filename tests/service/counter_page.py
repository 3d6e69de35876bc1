"""The counter page (verifier/api/static counter) as the browser tests drive it: a clerk logged in with the event
stream connected (:func:`open_counter`), a card read (:func:`read_card`), the face step (:func:`face_match`), and
the check that something is seen without scrolling (:func:`in_viewport`). Pages open through tests/browser.py."""

from __future__ import annotations

import re

from tests.browser import DESKTOP, PHONE, login, new_page

VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

# every step the page shows, recorded as it happens (nothing in the page is changed by this)
RECORD_STEPS = """() => {
  window.__steps = [];
  new MutationObserver(() => {
    const p = document.getElementById('scan-progress');
    window.__steps.push([p.dataset.step, p.textContent]);
  }).observe(document.getElementById('scan-progress'), { attributes: true, childList: true, characterData: true, subtree: true });
}"""


def open_counter(browser, base: str, user: dict, size: tuple[int, int]):
    """``user`` logged in at the counter, its event stream connected, the scan steps recorded (``window.__steps``);
    returns (page, the page's script errors, the URLs of the finished-scan GETs it made)."""
    page = new_page(browser, size, bypass_csp=True)  # wait_for_function evals
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    scan_gets: list[str] = []
    page.on("request", lambda r: scan_gets.append(r.url) if r.method == "GET" and re.search(r"/api/v1/scans/[0-9a-f]+$", r.url) else None)
    login(page, base, user)
    page.wait_for_url(re.compile(r".*/counter$"))
    page.wait_for_function("stream !== null && stream.readyState === 1")  # the event stream is connected
    page.evaluate(RECORD_STEPS)
    return page, errors, scan_gets


def in_viewport(page, selector: str, size: tuple[int, int]) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["y"] >= 0 and box["y"] + box["height"] <= size[1], (selector, box, size)
    assert box["x"] >= 0 and box["x"] + box["width"] <= size[0], (selector, box, size)
    assert page.evaluate("window.scrollY") == 0  # seen without scrolling


def read_card(page, can: str = "") -> None:
    """Read the card on the reader (typing its access key ``can`` first when given); the scan must finish."""
    if can:
        page.fill("#access-key", can)
    page.click("#read-card")
    page.wait_for_selector("#verdict-panel:not([hidden]), #scan-progress[data-status=failed]", timeout=60_000)
    assert page.get_attribute("#scan-progress", "data-status") == "done", page.inner_text("#scan-progress")


def face_match(page) -> None:
    """Consent, the camera photo, and the face decision ``match``."""
    page.check("#consent")
    page.click("#take-photo")
    page.wait_for_selector("#face-decision.match", timeout=60_000)
