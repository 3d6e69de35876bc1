"""The counter's flows a busy day needs (issue 17 items 3, 6, 11), in real headless Chromium against ``chipid serve``
on 127.0.0.1, each test looking at what the clerk sees:

* a scan started from the card's QR on the camera (``camera.source`` = a QR image of the demo card made with
  OpenCV's QRCodeEncoder): one click on "Đọc QR bằng camera", the verdict appears, nothing typed;
* a double-click on confirm, and two quick clicks, make exactly one contract each (the API's list says so); confirm
  stays disabled once saved, and "Khách mới" draws a new Idempotency-Key for the next customer;
* a damaged ledger (one entry's payload changed with SQL in the server's own database): a red banner names the first
  bad entry, the damaged contract is flagged in the list, and a new contract is still recorded;
* a not-authentic card (DG13 changed after signing, on the real pcscd + vpcd stack, no demo trust): a red
  KHÔNG HỢP LỆ verdict, the form closed, no override for a clerk;
* "Khách mới" clears the access key and the verdict (at 420x860).
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.browser import DESKTOP, PHONE
from tests.service.conftest import DEMO_CARD
from tests.service.counter_page import face_match, in_viewport, open_counter, read_card
from tests.service.test_api_scan_from_camera import _show, card_qr_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIST = "() => api('GET', '/api/v1/transactions?page=1&page_size=50')"


def _fill_form(page, serial: str) -> None:
    page.fill("#item-description", "Điện thoại Samsung Galaxy S21")
    page.select_option("#item-category", "phone")
    page.fill("#item-serial", serial)
    page.fill("#valuation", "9000000")
    page.fill("#loan", "6000000")
    page.fill("#rate", "18")


def _wait_saved(page) -> str:
    page.wait_for_selector("#saved:not([hidden]), #pawn-error:not([hidden])")
    assert page.is_hidden("#pawn-error"), page.inner_text("#pawn-error")
    page.wait_for_function("!saving")  # the request is answered: confirm shows its final state
    return page.inner_text("#contract-no")


def _contract(page, serial: str) -> str:
    """One customer through the counter: read, face, form, one click on confirm; the contract number shown."""
    read_card(page)
    face_match(page)
    _fill_form(page, serial)
    page.click("#confirm")
    return _wait_saved(page)


@pytest.fixture()
def qr_camera_server(tmp_path, camera_server):
    """``chipid serve`` (emulated demo card) whose camera sees the card's QR code (a cv2.QRCodeEncoder image)."""
    from biometrics.qr import qr_image
    from drivers.emulator.profile import load_profile

    camera = tmp_path / "camera.png"
    _show(camera, qr_image(card_qr_text(load_profile(DEMO_CARD))))
    return camera_server(camera, qr_watch=False)


def test_qr_on_the_camera_starts_the_scan_and_the_verdict_appears(qr_camera_server, chromium):
    clerk = qr_camera_server.add_user("lan", "clerk")
    page, errors, _ = open_counter(chromium, qr_camera_server.base, clerk, DESKTOP)
    assert page.inner_text("#read-qr-camera") == "Đọc QR bằng camera"
    assert page.input_value("#access-key") == ""
    page.click("#read-qr-camera")
    page.wait_for_selector("#verdict-panel:not([hidden]), #scan-progress[data-status=failed]", timeout=60_000)
    assert page.get_attribute("#scan-progress", "data-status") == "done", page.inner_text("#scan-progress")
    assert page.inner_text("#verdict") == "THẺ HỢP LỆ"
    assert page.inner_text('[data-field="full_name"]') == "Nguyễn Văn An"
    assert page.input_value("#access-key") == ""  # nothing was typed
    in_viewport(page, "#verdict", DESKTOP)
    assert errors == []


def test_double_click_and_two_quick_clicks_make_one_contract_each(live_server, chromium):
    clerk = live_server.add_user("lan", "clerk")
    page, errors, _ = open_counter(chromium, live_server.base, clerk, DESKTOP)

    read_card(page)
    face_match(page)
    _fill_form(page, "SERIAL-DBL-1")
    first_key = page.evaluate("contractKey")
    page.dblclick("#confirm")  # a real double-click
    first = _wait_saved(page)
    assert page.is_disabled("#confirm")  # saved: confirm stays closed ...
    page.evaluate("applyAdmission()")  # ... when the page re-draws the form (a face photo, a tick)
    assert page.is_disabled("#confirm") and page.is_visible("#saved")
    listed = page.evaluate(LIST)
    assert listed["total"] == 1 and [i["contract_no"] for i in listed["items"]] == [first]

    # the next customer: "Khách mới" opens a new form with a new key; two quick clicks, one contract
    page.click("#new-customer")
    assert page.evaluate("contractKey") != first_key
    read_card(page)
    face_match(page)
    _fill_form(page, "SERIAL-DBL-2")
    assert page.is_enabled("#confirm")
    page.click("#confirm")
    page.click("#confirm", force=True, no_wait_after=True)  # the second click lands while saving or after
    second = _wait_saved(page)
    assert second != first and page.is_disabled("#confirm")
    listed = page.evaluate(LIST)
    assert listed["total"] == 2, listed
    assert sorted(i["contract_no"] for i in listed["items"]) == sorted([first, second])
    assert errors == []


def _damage(data_dir, seq: int) -> None:
    """Change one byte of entry ``seq``'s payload in the running server's ledger (as test_ledger_damaged.py does)."""
    conn = sqlite3.connect(data_dir / "ledger.sqlite", timeout=30)
    conn.execute("DROP TRIGGER entries_append_only_u")
    raw = bytearray(conn.execute("SELECT payload FROM entries WHERE seq = ?", (seq,)).fetchone()[0])
    raw[len(raw) // 2] ^= 0x01
    conn.execute("UPDATE entries SET payload = ? WHERE seq = ?", (bytes(raw), seq))
    conn.commit()
    conn.close()


def test_damaged_ledger_banner_names_the_entry_and_contracts_go_on(live_server, chromium):
    clerk = live_server.add_user("lan", "clerk")
    page, errors, _ = open_counter(chromium, live_server.base, clerk, DESKTOP)
    page.wait_for_function("document.querySelector('#reader-status').textContent !== '…'")
    assert page.is_hidden("#ledger-damaged-banner")  # a sound ledger: no banner

    first = _contract(page, "SERIAL-DMG-1")
    row = next(i for i in page.evaluate(LIST)["items"] if i["contract_no"] == first)
    seq = page.evaluate("id => api('GET', '/api/v1/transactions/' + id).then(v => v.seq)", row["id"])
    _damage(live_server.data_dir, seq)

    page.reload()
    banner = page.locator("#ledger-damaged-banner")
    banner.wait_for(state="visible")
    text = banner.inner_text()
    assert "SỔ CÁI BỊ HỎNG" in text and f"số {seq}" in text and "vẫn ghi hợp đồng mới" in text, text
    assert banner.get_attribute("data-seq") == str(seq)
    assert "rgb(153, 27, 27)" == banner.evaluate("b => getComputedStyle(b).color")  # red
    in_viewport(page, "#ledger-damaged-banner", DESKTOP)
    assert page.is_hidden("#ledger-banner")  # damaged, not failed: the counter keeps working

    second = _contract(page, "SERIAL-DMG-2")
    assert second != first
    listed = {i["contract_no"]: i for i in page.evaluate(LIST)["items"]}
    assert listed[first]["damaged"] is True and listed[second]["damaged"] is False
    # the clerk sees the damaged contract flagged in Vietnamese in the search results
    page.wait_for_selector(f'#results tbody tr[data-id="{row["id"]}"] [data-marker=damaged]')
    assert page.inner_text(f'#results tbody tr[data-id="{row["id"]}"] [data-marker=damaged]') == "Dữ liệu bị hỏng / bị sửa"
    assert page.is_visible("#ledger-damaged-banner")
    assert errors == []


@pytest.fixture()
def forged_card_server(pcscd, virtual_card, camera_server):
    """``chipid serve`` on the vpcd reader without demo trust; on the reader the demo card with one DG13 byte changed
    after signing (its SOD hash no longer matches)."""
    from drivers.emulator.personalise import make_chip, personalise
    from drivers.emulator.profile import load_profile

    profile = load_profile(DEMO_CARD)
    dg13 = bytearray(personalise(profile)["DG13"])
    dg13[-3] ^= 0x01
    server = camera_server(DEMO_CARD / "camera.jpg", reader="pcsc:Virtual PCD 00 00")
    virtual_card(make_chip(profile, replace_files={"DG13": bytes(dg13)}))
    return server


def test_not_authentic_card_closes_the_form_with_no_override_for_a_clerk(forged_card_server, chromium):
    clerk = forged_card_server.add_user("hoa", "clerk")
    page, errors, _ = open_counter(chromium, forged_card_server.base, clerk, DESKTOP)
    read_card(page, can="001234")
    assert page.inner_text("#verdict") == "KHÔNG HỢP LỆ"
    assert "not_authentic" in page.get_attribute("#verdict-panel", "class").split()
    red = page.evaluate("getComputedStyle(document.getElementById('verdict-panel')).backgroundColor")
    r, g, b = (int(x) for x in red[red.index("(") + 1:red.index(")")].split(",")[:3])
    assert r > g and r > b, red  # red
    in_viewport(page, "#verdict", DESKTOP)
    assert page.inner_text("#verdict-todo").startswith("Không nhận cầm")
    notice = page.inner_text("#block-notice")
    assert notice.startswith("Không nhận cầm: KHÔNG HỢP LỆ") and "Gọi quản lý" in notice
    assert page.is_visible("#holder-unverified")
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm") and page.is_hidden("#override-box")
    page.click("#checks-summary")
    assert page.get_attribute('[data-check="dg_hash_13"] .badge', "class").split()[-1] == "failed"
    face_match(page)  # a matching face does not lift the verdict
    assert page.is_hidden("#pawn-panel") and page.is_disabled("#confirm") and page.is_hidden("#override-box")
    assert page.evaluate(LIST)["total"] == 0
    assert errors == []


def test_new_customer_clears_the_access_key_and_the_verdict(live_server, chromium):
    clerk = live_server.add_user("lan", "clerk")
    page, errors, _ = open_counter(chromium, live_server.base, clerk, PHONE)
    read_card(page, can="001234")
    assert page.inner_text("#verdict") == "THẺ HỢP LỆ"
    assert page.input_value("#access-key") == "001234"
    page.check("#consent")
    key = page.evaluate("contractKey")
    in_viewport(page, "#new-customer", PHONE)
    page.click("#new-customer")
    assert page.input_value("#access-key") == ""
    assert page.is_hidden("#verdict-panel")
    assert page.evaluate("['verdict', 'verdict-why', 'verdict-todo'].map(i => document.getElementById(i).textContent)") == ["", "", ""]
    assert page.is_hidden("#identity") and page.is_hidden("#pawn-panel") and page.is_hidden("#block-notice")
    assert not page.is_checked("#consent")
    assert page.inner_text("#face-decision") == "Chưa so khuôn mặt"
    assert page.evaluate("currentScan === null && currentResult === null")
    assert page.evaluate("contractKey") != key
    assert errors == []


def test_manager_cancels_a_contract_on_its_page_with_a_reason(live_server, chromium):
    clerk = live_server.add_user("lan", "clerk")
    manager = live_server.add_user("quanly", "manager")
    page, errors, _ = open_counter(chromium, live_server.base, clerk, DESKTOP)
    number = _contract(page, "SERIAL-HUY-1")
    txn_id = next(i["id"] for i in page.evaluate(LIST)["items"] if i["contract_no"] == number)
    page.goto(f"{live_server.base}/contracts/{txn_id}/print")
    assert page.locator("#correction-form").count() == 0 and page.locator("#contract-markers").count() == 0  # a clerk: no cancel
    page.close()

    page, errors, _ = open_counter(chromium, live_server.base, manager, DESKTOP)
    page.goto(f"{live_server.base}/contracts/{txn_id}/print")
    assert page.inner_text("#correction-form h3") == "Hủy / đính chính (chỉ quản lý)"
    page.click("#correction-apply")  # no reason: refused on the page, nothing recorded
    assert page.inner_text("#correction-error") == "Phải ghi lý do hủy."
    assert page.evaluate(f"api('GET', '/api/v1/transactions/{txn_id}').then(v => v.status)") == "active"
    page.fill("#correction-reason", "Bấm lưu nhầm hai lần")
    page.click("#correction-apply")
    page.wait_for_selector("#contract-markers")
    assert page.inner_text('[data-marker="cancelled"]').upper() == "ĐÃ HỦY"
    assert page.inner_text('[data-marker="corrected"]').upper() == "ĐÃ ĐÍNH CHÍNH"
    assert "Hủy hợp đồng (quản lý)" in page.inner_text("article") and "Bấm lưu nhầm hai lần" in page.inner_text("article")
    assert page.locator("#correction-form").count() == 0  # cancelled once
    view = page.evaluate(f"api('GET', '/api/v1/transactions/{txn_id}')")
    assert view["status"] == "cancelled" and view["corrected"] is True
    assert errors == []
