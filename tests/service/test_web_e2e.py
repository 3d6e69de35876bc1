"""End to end in headless Chromium (Playwright driving Debian's /usr/bin/chromium): the whole clerk flow
on the emulated card with the demo camera image, then an inspector search and ledger check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import login, new_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def browser_context(chromium):
    ctx = new_context(chromium, (1024, 768), bypass_csp=True)
    ctx.set_default_timeout(30_000)
    return ctx


def _login(page, base, user):
    page.goto(base + "/")
    assert "/login" in page.url
    login(page, base, user)


def test_clerk_flow_and_inspector_search(live_server, browser_context):
    base = live_server.base
    clerk = live_server.add_user("lan", "clerk")
    inspector = live_server.add_user("canbo", "inspector")
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    _login(page, base, clerk)
    page.wait_for_url(re.compile(r".*/counter$"))
    assert page.is_visible("#demo-banner")
    # tap: read the emulated card (demo mode uses the demo card's CAN)
    page.keyboard.press("F2")
    page.wait_for_function("['done', 'failed'].includes(document.getElementById('scan-progress').dataset.status)", timeout=60_000)
    assert page.get_attribute("#scan-progress", "data-status") == "done", page.inner_text("#scan-progress")
    page.wait_for_selector("#identity:not([hidden])")
    assert page.inner_text("#verdict") == "THẺ HỢP LỆ"
    assert not page.is_hidden("#scan-demo")
    assert page.inner_text('[data-field="full_name"]') == "Nguyễn Văn An"
    assert page.inner_text('[data-field="id_number"]') == "079090001234"
    assert page.locator("#checks li").count() >= 4
    checks_text = page.text_content("#checks")  # folded in a closed <details> until the clerk opens it
    assert "Chữ ký số của dữ liệu" in checks_text and "Xác thực chip (chống sao chép)" in checks_text
    page.wait_for_function("document.getElementById('chip-photo').naturalWidth > 0")
    # consent, then the camera (demo: the holder's photo file)
    page.check("#consent")
    page.click("#take-photo")
    page.wait_for_selector("#face-decision.match", timeout=60_000)
    page.wait_for_function("document.getElementById('camera-photo').naturalWidth > 0")
    # the pawn form
    page.fill("#item-description", "Điện thoại Samsung Galaxy S21")
    page.select_option("#item-category", "phone")
    page.fill("#item-serial", "R58N12345XY")
    page.fill("#ownership", "Hóa đơn mua hàng")
    page.fill("#valuation", "9000000")
    page.fill("#loan", "6000000")
    page.fill("#rate", "18")
    page.fill("#term", "30")
    page.click("#confirm")
    try:
        page.wait_for_selector("#saved:not([hidden]), #pawn-error:not([hidden])")
    except Exception:
        page.screenshot(path="/tmp/e2e_fail.png", full_page=True)
        valid = page.evaluate("document.getElementById('pawn-form').checkValidity()")
        raise AssertionError(f"errors={errors} valid={valid}")
    assert page.is_hidden("#pawn-error"), page.inner_text("#pawn-error")
    contract_no = page.inner_text("#contract-no")
    assert re.fullmatch(r"HĐ-\d{4}-000001", contract_no)
    # print view
    with page.expect_popup() as popup:
        page.click("#print-link")
    printed = popup.value
    printed.wait_for_load_state()
    body = printed.inner_text("body")
    assert contract_no in body and "Nguyễn Văn An" in body and "R58N12345XY" in body and "DEMO" in body
    printed.close()
    # search and a lifecycle action: extend, then redeem
    page.fill("#q-name", "nguyen van an")
    page.click("#search-go")
    page.wait_for_selector("#results tbody tr")
    assert contract_no in page.inner_text("#results tbody")
    page.click("#results tbody tr button.open")
    page.wait_for_selector("#detail-fields")
    # the money panel of the contract (money.js): each action quoted, confirmed in a dialog, then recorded
    page.click("#money-act-extended")
    page.wait_for_selector("#money-dialog[open]")
    page.click("#dialog-confirm")
    page.wait_for_selector("#dialog-receipt:not([hidden])")
    page.click("#dialog-close")
    page.wait_for_selector("#detail-events li")
    page.click("#money-act-redeemed")
    page.wait_for_selector("#money-dialog[open]")
    assert page.inner_text('#dialog-amounts [data-amount="cash_in_vnd"]') == "6.000.000 ₫"  # today: no interest yet
    page.click("#dialog-confirm")
    page.wait_for_selector("#dialog-receipt:not([hidden])")
    page.click("#dialog-close")
    page.wait_for_function("document.getElementById('detail-fields') && document.getElementById('detail-fields').innerText.includes('Đã chuộc')")
    assert errors == []

    # the inspector
    page2 = browser_context.new_page()
    page2.goto(base + "/logout")
    _login(page2, base, inspector)
    page2.wait_for_url(re.compile(r".*/inspector$"))
    page2.fill("#q-id", "079090001234")
    page2.click("#search-go")
    page2.wait_for_selector("#results tbody tr")
    assert contract_no in page2.inner_text("#results tbody")
    page2.click("#results tbody tr button.open")
    page2.wait_for_selector("#detail-fields")
    assert "Nguyễn Văn An" in page2.inner_text("#detail-fields")
    # an inspector cannot change contracts: no money actions on the page, and the API refuses one sent anyway
    assert page2.locator("#money-panel, button[id^='money-act-']").count() == 0
    txn_id = page2.evaluate("() => fetch('/api/v1/transactions?id_number=079090001234').then(r => r.json())"
                            ".then(b => b.items[0].id)")
    refused = page2.evaluate(
        "(id) => fetch('/api/v1/transactions/' + id + '/events', {method: 'POST', headers: {'Content-Type': "
        "'application/json', 'X-CSRF-Token': document.querySelector('meta[name=csrf]').content}, body: JSON.stringify("
        "{type: 'suspicious', reason: 'thử quyền thanh tra'})}).then(async r => [r.status, (await r.json()).error.code])", txn_id)
    assert refused == [403, "forbidden"], refused  # the role, not a missing CSRF token
    page2.click("#verify-ledger")
    page2.wait_for_selector("#ledger-result.ok")
    assert "Sổ cái nguyên vẹn" in page2.inner_text("#ledger-result")
    # the export downloads a bundle that verifies offline
    with page2.expect_download() as download:
        page2.click("#export-link")
    import json

    from verifier.ledger.export import verify_bundle

    bundle = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    report = verify_bundle(bundle)
    assert report["ok"] and report["entries"] == 3 and report["demo_entries"] == 3  # contract, extension, redemption: all demo


def test_counter_shows_a_warning_when_dg13_could_not_be_read(live_server, browser_context):
    """A scan whose DG13 could not be parsed (``dg13_error`` in the result) shows a visible
    Vietnamese warning under the holder's data; a normal scan shows none."""
    clerk = live_server.add_user("hoa", "clerk")
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, live_server.base, clerk)
    page.wait_for_url(re.compile(r".*/counter$"))
    result = {"verdict": "authentic", "holder": {"full_name": "NGUYEN VAN AN", "id_number": "079090001234"}, "checks": {},
              "dg13_error": {"reason": "DG13 (personal data) could not be parsed: x; id_number come from the MRZ (DG1)",
                             "reason_vi": "Không đọc được DG13 (thông tin cá nhân); số định danh lấy từ vùng MRZ (DG1)",
                             "fields_from_mrz": ["id_number"]}}
    page.evaluate("r => showResult({id: 'none', result: r})", result)
    assert page.is_visible("#dg13-warning")
    assert page.inner_text("#dg13-warning") == result["dg13_error"]["reason_vi"]
    page.evaluate("r => showResult({id: 'none', result: r})", {**result, "dg13_error": None})
    assert page.is_hidden("#dg13-warning")
    assert errors == []
