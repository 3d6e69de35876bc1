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

import pytest

from tests.service.conftest import DEMO_CARD
from tests.service.counter_page import VIEWPORTS, face_match, in_viewport, open_counter, read_card

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# the holder's DG13 fields the counter must show (verifier/results.py HOLDER_FIELDS), as the demo card holds them
DEMO_DG13 = {"ethnicity": "Kinh", "religion": "Không", "personal_identification": "Nốt ruồi", "father_name": "Nguyễn Văn Bình",
             "mother_name": "Trần Thị Cúc", "old_id_number": "025123456", "issue_date": "20/04/2021", "expiry_date": "15/03/2030"}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_demo_card_verdict_above_the_fold_then_face_opens_the_form(live_server, chromium, viewport):
    size = VIEWPORTS[viewport]
    clerk = live_server.add_user("lan", "clerk")
    page, errors, scan_gets = open_counter(chromium, live_server.base, clerk, size)
    assert page.is_hidden("#verdict-panel") and page.is_hidden("#pawn-panel")

    read_card(page)
    # the verdict: large, green, Vietnamese, why and what to do, inside the viewport without scrolling
    assert page.inner_text("#verdict") == "THẺ HỢP LỆ"
    assert "authentic" in page.get_attribute("#verdict-panel", "class").split()
    assert page.inner_text("#verdict-why") == "Chữ ký số của Nhà nước và dữ liệu trong chip đều hợp lệ."
    assert "chụp ảnh" in page.inner_text("#verdict-todo")
    assert page.evaluate("parseFloat(getComputedStyle(document.getElementById('verdict')).fontSize)") >= 24
    in_viewport(page, "#verdict", size)
    in_viewport(page, "#verdict-todo", size)
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
        in_viewport(page, "#take-photo", size)
    face_match(page)
    page.wait_for_function("document.getElementById('camera-photo').naturalWidth > 0")
    assert page.is_visible("#pawn-panel") and page.is_enabled("#confirm")
    assert page.is_hidden("#block-notice") and page.is_hidden("#override-box")  # a clerk never sees the override
    if viewport == "desktop":  # the photos, the face decision and the confirm button: all above the fold
        for selector in ("#chip-photo", "#camera-photo", "#face-decision", "#confirm"):
            in_viewport(page, selector, size)
    assert errors == []


@pytest.fixture()
def pcsc_server(pcscd, virtual_card, camera_server):
    """``chipid serve`` on the vpcd reader without demo trust, the demo card on the reader, the demo holder's photo as
    the camera: a real read whose verdict is ``unverified`` (the demo CSCA is not installed)."""
    from drivers.emulator.personalise import make_chip

    server = camera_server(DEMO_CARD / "camera.jpg", reader="pcsc:Virtual PCD 00 00")
    virtual_card(make_chip(DEMO_CARD))
    return server


def test_unverified_card_blocks_the_form_and_only_a_manager_override_opens_it(pcsc_server, chromium):
    base = pcsc_server.base
    clerk = pcsc_server.add_user("hoa", "clerk")
    manager = pcsc_server.add_user("quanly", "manager")

    # the clerk, on a phone-sized screen
    size = VIEWPORTS["phone"]
    page, errors, _ = open_counter(chromium, base, clerk, size)
    assert page.is_hidden("#demo-banner")  # a real reader, no demo trust
    read_card(page, can="001234")
    assert page.inner_text("#verdict") == "CHƯA XÁC MINH ĐƯỢC"
    assert "unverified" in page.get_attribute("#verdict-panel", "class").split()
    why = page.inner_text("#verdict-why")
    assert why and why != "Chưa chứng minh được chữ ký số của thẻ."  # the deciding check's own reason_vi
    in_viewport(page, "#verdict", size)
    notice = page.inner_text("#block-notice")
    assert notice.startswith("Không nhận cầm") and "Gọi quản lý" in notice
    assert page.is_visible("#holder-unverified") and page.inner_text("#holder-unverified") == "chưa xác thực"
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm") and page.is_hidden("#override-box")
    face_match(page)  # a matching face does not lift the verdict
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm") and page.is_visible("#block-notice")
    assert errors == []
    page.close()

    # the manager, at the desk's screen: the override needs a written reason, then the form opens
    size = VIEWPORTS["desktop"]
    page, errors, _ = open_counter(chromium, base, manager, size)
    read_card(page, can="001234")
    assert page.inner_text("#verdict") == "CHƯA XÁC MINH ĐƯỢC"
    in_viewport(page, "#verdict", size)
    assert page.is_visible("#override-box") and page.is_hidden("#pawn-panel")
    page.click("#override-apply")  # no reason: refused in Vietnamese, still closed
    assert page.inner_text("#override-error") == "Phải ghi lý do chấp thuận."
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm")
    reason = "Khách quen, đã đối chiếu CCCD bản giấy và sổ hộ khẩu"
    page.fill("#override", reason)
    page.click("#override-apply")
    assert page.is_hidden("#block-notice") and page.is_hidden("#pawn-panel")  # the face step is still needed
    assert page.inner_text("#verdict-todo") == f"Đã chấp thuận ngoại lệ: {reason}"
    face_match(page)
    assert page.is_visible("#pawn-panel") and page.is_visible("#override-active") and page.is_enabled("#confirm")
    in_viewport(page, "#confirm", size)
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
