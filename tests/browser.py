"""One way to drive Chromium in the tests: Debian's /usr/bin/chromium, headless, through Playwright.

* :func:`launch` starts it with the flags every browser test uses (no sandbox, no GPU, nothing fetched from the
  network behind the test's back); the ``chromium`` fixture of tests/conftest.py is a launched browser, closed after
  the test.
* :func:`new_context` / :func:`new_page` open what a Vietnamese counter sees: locale ``vi-VN`` and a 1366x768
  viewport unless the test chooses another ``size``. The page's Content-Security-Policy stays enforced, as in
  production, unless the test passes ``bypass_csp=True`` (needed where it evaluates its own script in the page:
  ``wait_for_function``, ``evaluate``, ``add_init_script``).
* :func:`login` signs a person (``{"name", "password"}``) in on the counter service's login page.

A missing Chromium is an error with the fix, never a skip.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DESKTOP = (1366, 768)  # the counter PC's screen
PHONE = (420, 860)  # a clerk's phone
LOCALE = "vi-VN"


def launch(playwright):
    """Headless Chromium from ``sync_playwright()``'s ``playwright``; the caller closes it."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: install the Debian package chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def _options(size: tuple[int, int], options: dict) -> dict:
    return {"viewport": {"width": size[0], "height": size[1]}, "locale": LOCALE, **options}


def new_context(browser, size: tuple[int, int] = DESKTOP, **options):
    """A fresh browser context (its own cookies) at ``size`` in Vietnamese; ``options`` go to Playwright's
    ``new_context`` (``bypass_csp``, ``timezone_id``, ...)."""
    return browser.new_context(**_options(size, options))


def new_page(browser, size: tuple[int, int] = DESKTOP, **options):
    """A page in a fresh context of its own (see :func:`new_context`)."""
    return browser.new_page(**_options(size, options))


def login(page, base: str, user: dict, next_path: str = "") -> None:
    """Sign ``user`` in on the counter service's /login page at ``base`` (then on to ``next_path`` if given); the
    caller waits for where it leads."""
    page.goto(base + "/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#login-name", user["name"])
    page.fill("#login-password", user["password"])
    page.click("#login-submit")
