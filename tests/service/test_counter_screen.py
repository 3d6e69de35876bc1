"""The counter screen as a clerk lives it (issue 17 items 1 and 2), in real headless Chromium (Debian's
/usr/bin/chromium through Playwright) against ``chipid serve`` on 127.0.0.1:

* the demo card (emulator, demo trust) at 1366x768 and 420x860: one large Vietnamese verdict inside the viewport
  right after the tap, progress in words pushed over the event stream (no polling of the scan), every DG13 field,
  the technical checks folded, then the face step opening the pawn form with its confirm button above the fold;
* the same demo card on a real PC/SC reader (pcscd + vpcd) without demo trust, so its Document Signer's CSCA is
  not installed and the server says ``unverified``: the form stays closed for a clerk, in Vietnamese, with no
  override offered; a manager sees the override, which needs a written reason and is recorded in the contract.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.service.conftest import DEMO_CARD, LiveServer, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": (1366, 768), "phone": (420, 860)}
# the holder's DG13 fields the counter must show (verifier/results.py HOLDER_FIELDS), as the demo card holds them
DEMO_DG13 = {"ethnicity": "Kinh", "religion": "Không", "personal_identification": "Nốt ruồi", "father_name": "Nguyễn Văn Bình",
             "mother_name": "Trần Thị Cúc", "old_id_number": "025123456", "issue_date": "20/04/2021", "expiry_date": "15/03/2030"}

# every step the page shows, recorded as it happens (nothing in the page is changed by this)
RECORD_STEPS = """() => {
  window.__steps = [];
  new MutationObserver(() => {
    const p = document.getElementById('scan-progress');
    window.__steps.push([p.dataset.step, p.textContent]);
  }).observe(document.getElementById('scan-progress'), { attributes: true, childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture()
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: install the Debian package chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def _open_counter(browser, base: str, user: dict, size: tuple[int, int]):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]}, locale="vi-VN", bypass_csp=True)  # wait_for_function evals
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    scan_gets: list[str] = []
    page.on("request", lambda r: scan_gets.append(r.url) if r.method == "GET" and re.search(r"/api/v1/scans/[0-9a-f]+$", r.url) else None)
    page.goto(base + "/login")
    page.fill("#login-name", user["name"])
    page.fill("#login-password", user["password"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/counter$"))
    page.wait_for_function("stream !== null && stream.readyState === 1")  # the event stream is connected
    page.evaluate(RECORD_STEPS)
    return page, errors, scan_gets


def _in_viewport(page, selector: str, size: tuple[int, int]) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["y"] >= 0 and box["y"] + box["height"] <= size[1], (selector, box, size)
    assert box["x"] >= 0 and box["x"] + box["width"] <= size[0], (selector, box, size)
    assert page.evaluate("window.scrollY") == 0  # seen without scrolling


def _read(page, can: str = "") -> None:
    if can:
        page.fill("#access-key", can)
    page.click("#read-card")
    page.wait_for_selector("#verdict-panel:not([hidden]), #scan-progress[data-status=failed]", timeout=60_000)
    assert page.get_attribute("#scan-progress", "data-status") == "done", page.inner_text("#scan-progress")


def _face(page) -> None:
    page.check("#consent")
    page.click("#take-photo")
    page.wait_for_selector("#face-decision.match", timeout=60_000)


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_demo_card_verdict_above_the_fold_then_face_opens_the_form(live_server, chromium, viewport):
    size = VIEWPORTS[viewport]
    clerk = live_server.add_user("lan", "clerk")
    page, errors, scan_gets = _open_counter(chromium, live_server.base, clerk, size)
    assert page.is_hidden("#verdict-panel") and page.is_hidden("#pawn-panel")

    _read(page)
    # the verdict: large, green, Vietnamese, why and what to do, inside the viewport without scrolling
    assert page.inner_text("#verdict") == "THẺ HỢP LỆ"
    assert "authentic" in page.get_attribute("#verdict-panel", "class").split()
    assert page.inner_text("#verdict-why") == "Chữ ký số của Nhà nước và dữ liệu trong chip đều hợp lệ."
    assert "chụp ảnh" in page.inner_text("#verdict-todo")
    assert page.evaluate("parseFloat(getComputedStyle(document.getElementById('verdict')).fontSize)") >= 24
    _in_viewport(page, "#verdict", size)
    _in_viewport(page, "#verdict-todo", size)
    # progress was pushed step by step over the event stream, in words; the finished scan fetched once, never polled
    steps = page.evaluate("window.__steps")
    shown = [s for s, _ in steps]
    assert "waiting_for_card" in shown and "done" in shown, steps
    assert any("đang" in text for _, text in steps), steps
    assert len(scan_gets) == 1, scan_gets
    # every DG13 field, the checks folded in a closed summary
    assert page.inner_text('[data-field="full_name"]') == "Nguyễn Văn An"
    for field, value in DEMO_DG13.items():
        assert value in page.inner_text(f'[data-field="{field}"]'), field
    assert page.is_hidden("#holder-unverified")  # authentic: the data is verified
    assert page.get_attribute("#checks-details", "open") is None
    assert page.locator("#checks li").count() >= 10 and page.is_hidden("#checks li >> nth=0")
    assert re.search(r"Chi tiết kỹ thuật: \d+ đạt, 0 không đạt", page.inner_text("#checks-summary"))
    page.click("#checks-summary")
    assert page.is_visible("#checks li >> nth=0")
    page.click("#checks-summary")
    # before the face step the form is closed; consent and the photo button are in reach
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm")
    if viewport == "desktop":
        _in_viewport(page, "#take-photo", size)
    _face(page)
    page.wait_for_function("document.getElementById('camera-photo').naturalWidth > 0")
    assert page.is_visible("#pawn-panel") and page.is_enabled("#confirm")
    assert page.is_hidden("#block-notice") and page.is_hidden("#override-box")  # a clerk never sees the override
    if viewport == "desktop":  # the photos, the face decision and the confirm button: all above the fold
        for selector in ("#chip-photo", "#camera-photo", "#face-decision", "#confirm"):
            _in_viewport(page, selector, size)
    assert errors == []


@pytest.fixture()
def pcsc_server(tmp_path, pcscd, virtual_card, server_factory):
    """``chipid serve`` on the vpcd reader without demo trust, the demo card on the reader, the demo holder's photo as
    the camera: a real read whose verdict is ``unverified`` (the demo CSCA is not installed)."""
    from drivers.emulator.personalise import make_chip

    config = tmp_path / "config.toml"
    config.write_text(f'[trust]\nauto_refresh = false\n\n[camera]\nsource = "{DEMO_CARD / "camera.jpg"}"\n', encoding="utf-8")
    data = tmp_path / "data"
    proc, base, password = server_factory(data, tmp_path / "serve.log", "--config", str(config), "--reader", "pcsc:Virtual PCD 00 00")
    virtual_card(make_chip(DEMO_CARD))
    yield LiveServer(proc, base, data, password, tmp_path / "serve.log")
    stop_server(proc)


def test_unverified_card_blocks_the_form_and_only_a_manager_override_opens_it(pcsc_server, chromium):
    base = pcsc_server.base
    clerk = pcsc_server.add_user("hoa", "clerk")
    manager = pcsc_server.add_user("quanly", "manager")

    # the clerk, on a phone-sized screen
    size = VIEWPORTS["phone"]
    page, errors, _ = _open_counter(chromium, base, clerk, size)
    assert page.is_hidden("#demo-banner")  # a real reader, no demo trust
    _read(page, can="001234")
    assert page.inner_text("#verdict") == "CHƯA XÁC MINH ĐƯỢC"
    assert "unverified" in page.get_attribute("#verdict-panel", "class").split()
    why = page.inner_text("#verdict-why")
    assert why and why != "Chưa chứng minh được chữ ký số của thẻ."  # the deciding check's own reason_vi
    _in_viewport(page, "#verdict", size)
    notice = page.inner_text("#block-notice")
    assert notice.startswith("Không nhận cầm") and "Gọi quản lý" in notice
    assert page.is_visible("#holder-unverified") and page.inner_text("#holder-unverified") == "chưa xác thực"
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm") and page.is_hidden("#override-box")
    _face(page)  # a matching face does not lift the verdict
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm") and page.is_visible("#block-notice")
    assert errors == []
    page.close()

    # the manager, at the desk's screen: the override needs a written reason, then the form opens
    size = VIEWPORTS["desktop"]
    page, errors, _ = _open_counter(chromium, base, manager, size)
    _read(page, can="001234")
    assert page.inner_text("#verdict") == "CHƯA XÁC MINH ĐƯỢC"
    _in_viewport(page, "#verdict", size)
    assert page.is_visible("#override-box") and page.is_hidden("#pawn-panel")
    page.click("#override-apply")  # no reason: refused in Vietnamese, still closed
    assert page.inner_text("#override-error") == "Phải ghi lý do chấp thuận."
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm")
    reason = "Khách quen, đã đối chiếu CCCD bản giấy và sổ hộ khẩu"
    page.fill("#override", reason)
    page.click("#override-apply")
    assert page.is_hidden("#block-notice") and page.is_hidden("#pawn-panel")  # the face step is still needed
    assert page.inner_text("#verdict-todo") == f"Đã chấp thuận ngoại lệ: {reason}"
    _face(page)
    assert page.is_visible("#pawn-panel") and page.is_visible("#override-active") and page.is_enabled("#confirm")
    _in_viewport(page, "#confirm", size)
    page.fill("#item-description", "Xe máy Honda Wave")
    page.select_option("#item-category", "motorbike")
    page.fill("#item-serial", "RLHJC5200KY123456")
    page.fill("#valuation", "15000000")
    page.fill("#loan", "9000000")
    page.fill("#rate", "18")
    page.click("#confirm")
    page.wait_for_selector("#saved:not([hidden]), #pawn-error:not([hidden])")
    assert page.is_hidden("#pawn-error"), page.inner_text("#pawn-error")
    contract_no = page.inner_text("#contract-no")
    found = page.evaluate("n => api('GET', '/api/v1/transactions?page=1&page_size=5').then(r => r.items.find(i => i.contract_no === n))",
                          contract_no)
    txn = page.evaluate("id => api('GET', '/api/v1/transactions/' + id)", found["id"])
    assert txn["override"]["reason"] == reason and txn["override"]["by"] == "quanly" and txn["override"]["verdict"] == "unverified"
    assert errors == []
