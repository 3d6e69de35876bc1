"""A whole day at the counter (issue 18 items 1 UI and 2) in real headless Chromium against ``chipid serve`` on
127.0.0.1 (emulated demo card; the counter camera is an image file, as in the other browser tests):

* a contract with two items (a phone with its IMEI, a motorbike with plate, frame and engine numbers), each with a
  photo (one from the camera, one from a file), the rate typed in %/tháng and converted on screen;
* on it: an interest payment (paid ahead to a day), an extension with a fee, a redemption whose amount changed
  between the quote and the confirmation (409 amount_changed: the dialog shows the new amount); on a second contract,
  forfeited, a liquidation with a surplus paid back;
* each money action's receipt opened with its amount visible, and the ledger entries' money (the inspector's
  export) checked against a hand computation (principal x rate / 365 per day, rounded half up once).

Screenshots at 1366x768: the counter with two items and a confirmation dialog (/tmp/shots/).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.browser import DESKTOP
from tests.service.counter_page import face_match, open_counter, read_card

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/shots")
IMEI = "490154203237518"
LOAN, VALUATION = 20_000_000, 30_000_000


def _picture(path: Path, color: tuple[int, int, int], label: str) -> Path:
    img = Image.new("RGB", (480, 360), (235, 235, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((120, 60, 360, 300), fill=color)
    draw.text((140, 320), label, fill=(0, 0, 0))
    img.save(path)
    return path


@pytest.fixture()
def day_server(tmp_path, camera_server):
    """``chipid serve`` (emulated demo card) whose counter camera sees an item (an image file); no QR watch."""
    return camera_server(_picture(tmp_path / "camera.png", (40, 90, 200), "dien thoai"), qr_watch=False)


def _vnd(n: int) -> str:
    return f"{n:,}".replace(",", ".") + " ₫"


def _interest(principal: int, year_pct: Fraction, days: int) -> int:
    """principal x year_pct/100 / 365 per day, rounded half up once (the money schema), by hand."""
    exact = Fraction(principal) * year_pct / 100 / 365 * days
    return int(exact + Fraction(1, 2))


def _wait_saved(page) -> str:
    page.wait_for_selector("#saved:not([hidden]), #pawn-error:not([hidden])")
    assert page.is_hidden("#pawn-error"), page.inner_text("#pawn-error")
    return page.inner_text("#contract-no")


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP[0]


def _act(page, action: str) -> None:
    """Click a money action and wait for its confirmation dialog."""
    page.click(f"#money-act-{action}")
    page.wait_for_selector("#money-dialog[open], #money-result.error")
    assert page.is_visible("#money-dialog"), page.inner_text("#money-result")
    assert page.get_attribute("#money-dialog", "data-type") == action


def _amount(page, key: str) -> str:
    return page.inner_text(f'#dialog-amounts [data-amount="{key}"]')


def _confirm_and_receipt(page, layout: str, expect: str) -> int:
    """Confirm in the dialog, open the receipt (layout a5 or 80mm) and find ``expect`` on it; the entry's seq."""
    page.click("#dialog-confirm")
    page.wait_for_selector("#dialog-receipt:not([hidden]), #dialog-error:not([hidden])")
    assert page.is_hidden("#dialog-error"), page.inner_text("#dialog-error")
    seq = int(page.get_attribute("#dialog-receipt", "data-seq"))
    with page.expect_popup() as popup:
        page.click(f"#receipt-{layout}")
    receipt = popup.value
    receipt.wait_for_load_state()
    text = receipt.inner_text("body")
    assert expect in text, text[:2000]
    receipt.close()
    page.click("#dialog-close")
    return seq


def _money_events(base: str, inspector: dict, txn_id: str) -> dict[str, dict]:
    """The event entries of contract ``txn_id`` in the inspector's ledger export: type -> payload."""
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/v1/auth/login", json={"name": inspector["name"], "password": inspector["password"]})
        assert r.status_code == 200, r.text
        bundle = c.get("/api/v1/ledger/export").json()
    return {e["payload"]["type"]: e["payload"] for e in bundle["entries"]
            if e["kind"] == "event" and e["payload"].get("txn_id") == txn_id}


def test_a_day_at_the_counter(day_server, chromium, tmp_path):
    base = day_server.base
    clerk = day_server.add_user("lan", "clerk")
    inspector = day_server.add_user("canbo", "inspector")
    page, errors, _ = open_counter(chromium, base, clerk, DESKTOP)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # --- the first customer: two items, each with a photo ------------------------------------------------
    read_card(page)
    face_match(page)
    page.fill("#item-description", "Điện thoại iPhone 13 128GB xanh")
    page.select_option("#item-category", "phone")
    page.fill("#item-imei", IMEI[:-1] + "7")  # a typo: the Luhn digit is wrong, the field says so as it is typed
    assert page.evaluate("document.getElementById('item-imei').validationMessage") == "IMEI phải có đúng 15 chữ số và chữ số cuối phải đúng (kiểm tra lại)."
    page.fill("#item-imei", IMEI)
    assert page.evaluate("document.getElementById('item-imei').validity.valid")
    page.fill("#item-serial", "F2LXK0ABCD12")
    page.fill("#item-brand", "Apple")
    page.fill("#item-storage_location", "Tủ A - ngăn 2")
    assert page.is_hidden("#item-plate") and page.is_hidden("#item-material")  # a phone has no plate, no weight
    page.click("#item-photo-take")  # the counter camera
    page.wait_for_function("document.querySelector('.item-row[data-n=\"1\"] .item-thumb').naturalWidth > 0")

    page.click("#add-item")
    assert page.evaluate("document.activeElement.id") == "item-2-description"  # the new row, ready to type
    assert page.inner_text('.item-row[data-n="2"] .item-title') == "Tài sản số 2"
    page.keyboard.type("Xe máy Honda Air Blade 125")
    page.select_option("#item-2-category", "motorbike")
    page.fill("#item-2-plate", "59-X1 123.45")
    page.fill("#item-2-frame_no", "RLHJF5210KY123987")
    page.fill("#item-2-engine_no", "JF52E-1234567")
    page.fill("#item-2-storage_location", "Bãi xe, ô 7")
    page.set_input_files("#item-2-photo-file", str(_picture(tmp_path / "xe.png", (200, 60, 40), "xe may")))  # from a file
    page.wait_for_function("document.querySelector('.item-row[data-n=\"2\"] .item-thumb').naturalWidth > 0")

    page.fill("#ownership", "Hóa đơn mua máy; giấy đăng ký xe")
    page.fill("#valuation", str(VALUATION))
    page.fill("#loan", str(LOAN))
    page.select_option("#rate-unit", "month_pct")
    page.fill("#rate", "2")  # 24 %/năm: above the cap, said in red, and the form will not send it
    assert page.is_visible("#rate-cap") and "Vượt mức lãi tối đa 20 %/năm" in page.inner_text("#rate-cap")
    page.fill("#rate", "1,5")  # 1,5 %/tháng = 18 %/năm
    note = page.inner_text("#rate-note")
    assert "18 %/năm" in note and "1,5 %/tháng" in note and "493,15 đ/triệu/ngày" in note, note
    assert page.is_hidden("#rate-cap")
    _no_overflow(page)
    page.screenshot(path=str(SHOTS / "counter-two-items.png"))

    page.click("#confirm")
    first_no = _wait_saved(page)
    first_id = page.evaluate("api('GET', '/api/v1/transactions?page=1&page_size=5').then(r => r.items[0].id)")
    view = page.evaluate(f"api('GET', '/api/v1/transactions/{first_id}')")
    assert view["contract_no"] == first_no and view["interest_rate_year_pct"] == 18
    phone, bike = view["items"]
    assert phone["imei"] == IMEI and bike["plate"] == "59-X1 123.45" and bike["frame_no"] == "RLHJF5210KY123987"
    assert phone["photo_sha256"] and bike["photo_sha256"] and {"item-1", "item-2"} <= set(view["photos"])
    for n, item in ((1, phone), (2, bike)):  # the stored photo is the one whose hash the ledger entry holds
        digest = page.evaluate(f"""fetch('/api/v1/transactions/{first_id}/photos/item-{n}').then(r => r.arrayBuffer())
            .then(b => crypto.subtle.digest('SHA-256', b)).then(d => Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join(''))""")
        assert digest == item["photo_sha256"]

    # --- its money: the panel opened by itself ------------------------------------------------------------
    page.wait_for_selector("#money-panel:not([hidden]) [data-money=to_redeem_vnd]")
    assert page.inner_text("#money-contract").startswith(first_no)
    assert page.inner_text("[data-money=to_redeem_vnd]") == _vnd(LOAN)
    assert page.inner_text("[data-money=interest_due_vnd]") == _vnd(0)
    today = date.fromisoformat(page.evaluate(f"api('GET', '/api/v1/transactions/{first_id}').then(v => v.money.as_of)"))
    assert view["start_date"] == today.isoformat()

    # 1. interest paid ahead for 10 days (đóng lãi trước): 20 000 000 x 18 % / 365 x 10, by hand
    interest_10 = _interest(LOAN, Fraction(18), 10)
    page.fill("#money-interest-to", (today + timedelta(days=10)).isoformat())
    _act(page, "interest_paid")
    assert _amount(page, "interest_vnd") == _vnd(interest_10) and _amount(page, "cash_in_vnd") == _vnd(interest_10)
    assert _amount(page, "cash_out_vnd") == _vnd(0)
    assert page.evaluate("document.activeElement.id") == "dialog-confirm"  # Enter confirms, Esc closes
    _no_overflow(page)
    page.screenshot(path=str(SHOTS / "confirm-dialog.png"))
    _confirm_and_receipt(page, "a5", f"{interest_10:,}".replace(",", "."))

    # 2. an extension of 30 days with a 10 000 ₫ fee (nothing more due today: the interest is paid ahead; a 50 000 ₫
    # fee would put the effective rate, fees included, above the cap)
    page.fill("#money-interest-to", "")
    page.fill("#money-days", "30")
    page.fill("#money-fees", "10000")
    _act(page, "extended")
    new_due = date.fromisoformat(view["due_date"]) + timedelta(days=30)
    assert _amount(page, "new_due_date") == new_due.strftime("%d/%m/%Y")
    assert _amount(page, "cash_in_vnd") == _vnd(10_000)
    _confirm_and_receipt(page, "80mm", "10.000")
    page.fill("#money-fees", "")

    # 3. the redemption: quoted at 20 000 000 ₫; before the clerk confirms, 5 000 000 ₫ of principal is repaid at
    # another desk (the API); the confirmation is refused (409 amount_changed), the dialog shows the new amount
    _act(page, "redeemed")
    assert _amount(page, "cash_in_vnd") == _vnd(LOAN)
    repaid = page.evaluate(f"""api('GET', '/api/v1/transactions/{first_id}/quote?type=partial_payment&amount_vnd=5000000')
        .then(q => api('POST', '/api/v1/transactions/{first_id}/events', {{type: 'partial_payment', amount_vnd: 5000000,
              expected: {{cash_in_vnd: q.money.cash_in_vnd, cash_out_vnd: q.money.cash_out_vnd}}}}, {{'Idempotency-Key': crypto.randomUUID()}}))""")
    assert repaid["type"] == "partial_payment"
    page.click("#dialog-confirm")
    page.wait_for_selector("#dialog-changed:not([hidden])")
    assert "Số tiền đã thay đổi" in page.inner_text("#dialog-changed")
    assert _amount(page, "cash_in_vnd") == _vnd(LOAN - 5_000_000)
    _confirm_and_receipt(page, "a5", "15.000.000")
    page.wait_for_function("document.getElementById('money-contract').textContent.includes('Đã chuộc')")
    assert page.locator("#money-actions button").all_inner_texts() == ["Báo nghi vấn"]

    # --- the second customer: forfeited, then liquidated -------------------------------------------------
    page.click("#new-customer")
    assert page.locator("#items .item-row").count() == 1 and page.input_value("#item-description") == ""
    read_card(page)
    face_match(page)
    page.fill("#item-description", "Nhẫn vàng 18K")
    page.select_option("#item-category", "jewelry")
    page.fill("#item-material", "Vàng 18K")
    page.fill("#item-weight", "2 chỉ")
    page.fill("#valuation", "8000000")
    page.fill("#loan", "5000000")
    assert page.input_value("#rate-unit") == "year_pct"
    page.fill("#rate", "18")
    page.click("#confirm")
    second_no = _wait_saved(page)
    assert second_no != first_no
    page.wait_for_function(f"document.getElementById('money-contract').textContent.startsWith('{second_no}')")
    second_id = page.get_attribute("#money-panel", "data-id")
    page.fill("#money-reason", "Quá hạn, khách báo không chuộc")
    _act(page, "forfeited")
    _confirm_and_receipt(page, "a5", "BIÊN BẢN KHÔNG CHUỘC TÀI SẢN")  # no money moved: a slip, not a receipt
    page.wait_for_selector("#money-act-liquidated")
    page.fill("#money-sale", "6000000")
    _act(page, "liquidated")
    assert _amount(page, "sale_vnd") == _vnd(6_000_000) and _amount(page, "surplus_vnd") == _vnd(1_000_000)
    assert _amount(page, "cash_in_vnd") == _vnd(6_000_000) and _amount(page, "cash_out_vnd") == _vnd(1_000_000)
    _confirm_and_receipt(page, "a5", "6.000.000")

    # --- the ledger's entries against the hand computation -----------------------------------------------
    first = _money_events(base, inspector, first_id)
    m = first["interest_paid"]["money"]
    assert (m["interest_vnd"], m["cash_in_vnd"], m["cash_out_vnd"]) == (interest_10, interest_10, 0)
    assert m["interest_to"] == (today + timedelta(days=10)).isoformat()
    ext = first["extended"]
    assert ext["new_due_date"] == new_due.isoformat() and ext["extend_days"] == 30
    assert (ext["money"].get("fees_vnd"), ext["money"]["cash_in_vnd"], ext["money"].get("interest_vnd", 0)) == (10_000, 10_000, 0)
    part = first["partial_payment"]["money"]
    assert (part["principal_in_vnd"], part["cash_in_vnd"]) == (5_000_000, 5_000_000)
    red = first["redeemed"]["money"]
    assert (red["principal_in_vnd"], red.get("interest_vnd", 0), red["cash_in_vnd"], red["cash_out_vnd"]) == (15_000_000, 0, 15_000_000, 0)
    second = _money_events(base, inspector, second_id)
    assert "money" not in second["forfeited"] or not any(v for k, v in second["forfeited"]["money"].items() if k.endswith("_vnd"))
    liq = second["liquidated"]["money"]
    assert (liq["sale_vnd"], liq["principal_in_vnd"], liq.get("interest_vnd", 0), liq["surplus_vnd"]) == (6_000_000, 5_000_000, 0, 1_000_000)
    assert (liq["cash_in_vnd"], liq["cash_out_vnd"]) == (6_000_000, 1_000_000)
    assert re.fullmatch(r"HĐ-\d{4}-00000[12]", first_no) and errors == []
