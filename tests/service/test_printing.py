"""Printing (issue 18): the contract PDF in two copies, receipts (A5, 80 mm) and the shop profile.

The PDFs are read back with pypdfium2 the way a person reads paper: the page text must hold the amount in
words, the words' box on the page (textpage search, char boxes) must have ink in the rendered image, and
the page sizes are the paper's. The shop profile is a ledger entry; the latest one is printed.
"""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

from verifier.api.contract import place_date
from verifier.api.receipt import receipt_context
from verifier.ledger import projection, shop_profile
from verifier.ledger.pawn_contract import today_vn
from verifier.vn_words import vnd_words

MM = 72 / 25.4  # PDF points per millimetre
SHOP = {"name": "Cầm đồ Phú Quý", "address": "12 Lê Lợi, Phường Bến Nghé, Quận 1", "license": "0123/GCN-ANTT",
        "representative": "Trần Thị Bích", "phone": "0901 234 567", "province": "TP. Hồ Chí Minh", "printer_layout": "a5"}
ITEMS = [
    {"description": "Điện thoại iPhone 13 128GB", "category": "phone", "imei": "356938035643809", "brand": "Apple",
     "condition": "Trầy nhẹ", "storage_location": "Tủ A-3"},
    {"description": "Xe máy Honda Wave Alpha", "category": "motorbike", "frame_no": "RLHJA3900KY123456",
     "engine_no": "JA39E1234567", "plate": "59-X1 123.45", "brand": "Honda"},
]


def _contract(api, tokens, make_scan, txn_body, **over) -> dict:
    body = txn_body(make_scan().id, items=ITEMS, valuation_vnd=15_000_000, loan_vnd=10_500_000, term_days=30,
                    pawner_phone="0912 345 678", current_address="45 Hai Bà Trưng, Quận 3, TP. Hồ Chí Minh",
                    old_id_number="025123456", **over)
    r = api.post("/api/v1/transactions", tokens["clerk"], json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _set_shop(api, token, **over) -> dict:
    r = api.request("PUT", "/api/v1/shop", token, json={**SHOP, **over})
    assert r.status_code == 200, r.text
    return r.json()


def _find(page, text: str):
    """The box (left, bottom, right, top in PDF points) of the first match of ``text`` on ``page``, or None."""
    textpage = page.get_textpage()
    search = textpage.search(text, match_case=True)
    hit = search.get_next()
    if hit is None:
        return None
    start, count = hit
    boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def _ink(page, box, scale: float = 2.0) -> float:
    """The share of dark pixels in ``box`` of the rendered ``page``."""
    image = page.render(scale=scale).to_pil().convert("L")
    height = page.get_height()
    left, bottom, right, top = box
    crop = image.crop((int(left * scale), int((height - top) * scale), int(right * scale) + 1, int((height - bottom) * scale) + 1))
    pixels = crop.tobytes()
    return sum(1 for p in pixels if p < 128) / max(1, len(pixels))


def _words_printed(pdf: pdfium.PdfDocument, words: str) -> int:
    """The page number where ``words`` (its first line: a long amount may wrap) is printed with ink; fails otherwise."""
    needle = " ".join(words.split()[:4])
    for n, page in enumerate(pdf):
        box = _find(page, needle)
        if box is not None:
            assert _ink(page, box) > 0.04, (needle, box)
            return n
    raise AssertionError(f"{needle!r} not found in the PDF")


def _text(pdf: pdfium.PdfDocument) -> list[str]:
    return [page.get_textpage().get_text_range() for page in pdf]


def test_place_and_date_line():
    assert place_date("TP. Hồ Chí Minh", "2026-12-06") == "TP. Hồ Chí Minh, ngày 06 tháng 12 năm 2026"
    assert place_date("", "2026-01-09").endswith(", ngày 09 tháng 01 năm 2026")


def test_contract_pdf_has_both_copies_amounts_in_words_and_the_consent(api, tokens, make_scan, txn_body, svc):
    _set_shop(api, tokens["manager"])
    created = _contract(api, tokens, make_scan, txn_body)
    r = api.get(f"/api/v1/transactions/{created['id']}/contract.pdf", tokens["clerk"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = pdfium.PdfDocument(r.content)
    assert all(round(p.get_width() / MM) == 210 and round(p.get_height() / MM) == 297 for p in pdf)  # A4
    pages = _text(pdf)
    whole = "\n".join(pages)
    first_copy2 = next(n for n, t in enumerate(pages) if "Bản 2: Khách hàng giữ" in t)
    assert "Bản 1: Cửa hàng giữ" in pages[0] and first_copy2 > 0
    for copy in (pages[:first_copy2], pages[first_copy2:]):  # each copy is a whole contract
        text = "\n".join(copy)
        for needed in ("HỢP ĐỒNG CẦM ĐỒ", created["contract_no"], "Cầm đồ Phú Quý", "0123/GCN-ANTT", "Trần Thị Bích",
                       "0912 345 678", "45 Hai Bà Trưng", "025123456 (nhân viên nhập)", "356938035643809", "59-X1 123.45",
                       "RLHJA3900KY123456", "Tủ A-3", "Điều 7. Đồng ý xử lý dữ liệu cá nhân (Nghị định 13/2023/NĐ-CP)",
                       "chuyển cho cơ quan Công an", "BÊN B – BÊN CẦM CỐ", "Tiền lãi đến ngày đến hạn"):
            assert needed in text, needed
    start = today_vn()  # the contract's start date: Vietnam's today
    assert f"TP. Hồ Chí Minh, ngày {start:%d} tháng {start:%m} năm {start:%Y}" in pages[0]
    assert "(chưa cấu hình)" not in whole
    # the loan in words, printed with ink, in both copies
    loan_words = vnd_words(10_500_000, capital=True)
    assert loan_words == "Mười triệu năm trăm nghìn đồng"
    assert whole.count(loan_words) == 2
    assert _words_printed(pdf, loan_words) < first_copy2
    # interest and total due at maturity, from the view's money block, in figures and words
    view = api.get(f"/api/v1/transactions/{created['id']}", tokens["clerk"]).json()
    total = view["money"]["total_due_at_maturity_vnd"]
    assert total > 10_500_000
    total_figure = f"{total:,}".replace(",", ".") + " ₫"
    assert whole.count(total_figure) == 2
    assert " ".join(vnd_words(total, capital=True).split()[:4]) in whole


def test_contract_html_page_has_both_copies(api, tokens, make_scan, txn_body, svc):
    _set_shop(api, tokens["manager"])
    created = _contract(api, tokens, make_scan, txn_body)
    page = _session_get(api, svc, f"/contracts/{created['id']}/print")
    assert page.count('class="contract contract-copy"') == 2
    for text in ("Bản 1: Cửa hàng giữ", "Bản 2: Khách hàng giữ", "Bằng chữ: Mười triệu năm trăm nghìn đồng",
                 "Cầm đồ Phú Quý", "Điều 7. Đồng ý xử lý dữ liệu cá nhân", "TP. Hồ Chí Minh, ngày "):
        assert text in page, text


def _session_get(api, svc, url: str) -> str:
    """GET a page with a browser session of a manager (pages use sessions, not tokens)."""
    if "page-manager" not in [u["name"] for u in svc.users.list()]:
        created = svc.users.add("page-manager", "manager")
        svc.users.change_password("page-manager", created["password"], "mat-khau-quan-ly-1")
        r = api.post("/login", data={"name": "page-manager", "password": "mat-khau-quan-ly-1", "next": "/counter"})
        assert r.status_code == 303, r.text
        api.client.cookies.update(r.cookies)
    r = api.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.text


@pytest.mark.parametrize(("layout", "width_mm", "height_mm"), [("a5", 148, 210), ("80mm", 80, None)])
def test_receipt_pdf_paper_and_words(api, tokens, make_scan, txn_body, svc, layout, width_mm, height_mm):
    _set_shop(api, tokens["manager"])
    created = _contract(api, tokens, make_scan, txn_body)
    url = f"/api/v1/transactions/{created['id']}/receipts/{created['seq']}.pdf?layout={layout}"
    r = api.get(url, tokens["clerk"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    pdf = pdfium.PdfDocument(r.content)
    assert len(pdf) == 1
    page = pdf[0]
    assert round(page.get_width() / MM) == width_mm
    if height_mm:
        assert round(page.get_height() / MM) == height_mm
    else:  # a roll: as tall as the receipt, not a sheet
        assert 60 < page.get_height() / MM < 297
    text = page.get_textpage().get_text_range()
    for needed in ("PHIẾU CHI", "Cầm đồ Phú Quý", f"{created['contract_no']}/{created['seq']}", "Nguyễn Văn An",
                   "10.500.000 ₫", "(giờ Việt", "NGƯỜI NHẬN TIỀN", "Người lập phiếu: clerk-1"):
        assert needed in text, needed
    assert _words_printed(pdf, "Bằng chữ: " + vnd_words(10_500_000, capital=True)) == 0
    # the format=pdf query gives the same document as the .pdf path
    again = api.get(f"/api/v1/transactions/{created['id']}/receipts/{created['seq']}?layout={layout}&format=pdf", tokens["clerk"])
    assert again.headers["content-type"] == "application/pdf"
    assert pdfium.PdfDocument(again.content)[0].get_textpage().get_text_range() == text


def test_receipt_of_an_interest_payment_and_the_access_log(api, tokens, make_scan, txn_body, svc):
    created = _contract(api, tokens, make_scan, txn_body)
    txn = created["id"]
    due = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["due_date"]
    ask = {"type": "interest_paid", "fees_vnd": 50_000, "interest_to": due}  # the interest to maturity, paid today
    quote = api.get(f"/api/v1/transactions/{txn}/quote", tokens["clerk"], params=ask)
    assert quote.status_code == 200, quote.text
    money = quote.json()["money"]
    r = api.post(f"/api/v1/transactions/{txn}/events", tokens["clerk"],
                 json={**ask, "expected": {k: money[k] for k in ("cash_in_vnd", "cash_out_vnd")}})
    assert r.status_code == 201, r.text
    seq = r.json()["seq"]
    recorded = r.json()["money"]
    page = api.get(f"/api/v1/transactions/{txn}/receipts/{seq}?layout=a5", tokens["clerk"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "PHIẾU THU" in html and "Đóng lãi" in html and "Phí" in html and "50.000 ₫" in html
    assert f"Bằng chữ: {vnd_words(recorded['cash_in_vnd'], capital=True)}" in html
    assert "NGƯỜI NỘP TIỀN" in html
    rows, _ = svc.ledger.access_log(record=f"contract:{created['contract_no']}")
    assert any(r["action"] == "print_receipt" and f"seq={seq}" in r["detail"] for r in rows), rows


def test_receipt_lines_from_a_liquidation_payload():
    """A liquidation as the money schema records it: sale received, surplus paid back, both totals in words."""
    view = {"id": "t1", "contract_no": "HĐ-2026-000009", "seq": 3, "loan_vnd": 5_000_000, "pawner": {"full_name": "Lê Thị Hoa"},
            "events": [{"seq": 9, "ts": "2026-12-06T03:00:00Z", "type": "liquidated", "by": {"user": "lan"},
                        "money": {"sale_vnd": 7_000_000, "surplus_vnd": 1_200_000, "interest_vnd": 800_000,
                                  "principal_in_vnd": 5_000_000, "cash_in_vnd": 7_000_000, "cash_out_vnd": 1_200_000}}]}
    c = receipt_context(view, 9, SHOP, "80mm")
    assert c["title"] == "PHIẾU THU – CHI" and c["what"] == "Thanh lý" and c["number"] == "HĐ-2026-000009/9"
    assert ("Tiền bán tài sản thanh lý", "7.000.000 ₫") in c["lines"]
    assert ("Tiền thừa trả lại khách", "1.200.000 ₫") in c["lines"]
    assert [t[2] for t in c["totals"]] == ["Bảy triệu đồng", "Một triệu hai trăm nghìn đồng"]
    assert c["when"] == "10:00 06/12/2026 (giờ Việt Nam)"


def test_no_receipt_for_an_entry_without_money(api, tokens, make_scan, txn_body):
    created = _contract(api, tokens, make_scan, txn_body)
    r = api.post(f"/api/v1/transactions/{created['id']}/events", tokens["clerk"],
                 json={"type": "suspicious", "reason": "Khách đổi ý liên tục"})
    assert r.status_code == 201, r.text
    r = api.get(f"/api/v1/transactions/{created['id']}/receipts/{r.json()['seq']}", tokens["clerk"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "receipt_not_found"
    r = api.get(f"/api/v1/transactions/{created['id']}/receipts/{created['seq']}?layout=a4", tokens["clerk"])
    assert r.status_code == 422
    assert api.get(f"/api/v1/transactions/{created['id']}/receipts/{created['seq']}").status_code == 401


def test_a_forfeiture_prints_a_slip_without_money(api, tokens, make_scan, txn_body):
    """Mất quyền chuộc moves no money, but the pawner and the shop sign that the items are now the shop's."""
    _set_shop(api, tokens["manager"])
    created = _contract(api, tokens, make_scan, txn_body)
    r = api.post(f"/api/v1/transactions/{created['id']}/events", tokens["manager"],
                 json={"type": "forfeited", "reason": "Quá hạn 30 ngày, đã gọi điện báo khách"})
    assert r.status_code == 201, r.text
    seq = r.json()["seq"]
    html = api.get(f"/api/v1/transactions/{created['id']}/receipts/{seq}?layout=a5", tokens["clerk"]).text
    for needed in ("BIÊN BẢN KHÔNG CHUỘC TÀI SẢN", "Điện thoại iPhone 13 128GB; Xe máy Honda Wave Alpha",
                   "10.500.000 ₫", "Quá hạn 30 ngày, đã gọi điện báo khách", "ĐẠI DIỆN CỬA HÀNG"):
        assert needed in html, needed
    receipt = html[html.index('<article class="receipt'):html.index("</article>")]
    assert "Bằng chữ" not in receipt and "PHIẾU" not in receipt  # nothing was paid
    pdf = api.get(f"/api/v1/transactions/{created['id']}/receipts/{seq}.pdf?layout=80mm", tokens["clerk"])
    assert pdf.status_code == 200
    text = " ".join(pdfium.PdfDocument(pdf.content)[0].get_textpage().get_text_range().split())  # 80 mm lines wrap
    assert "BIÊN BẢN KHÔNG CHUỘC TÀI SẢN" in text and "Quá hạn 30 ngày" in text


def test_shop_profile_is_a_ledger_entry_the_latest_wins(api, tokens, svc):
    before = api.get("/api/v1/shop", tokens["clerk"]).json()
    assert before["configured"] is False and before["source"] == "config" and "(chưa cấu hình)" in before["name"]
    r = api.request("PUT", "/api/v1/shop", tokens["clerk"], json=SHOP)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    first = _set_shop(api, tokens["manager"])
    second = _set_shop(api, tokens["admin"], name="Cầm đồ Phú Quý 2", printer_layout="80mm")
    assert first["configured"] and second["name"] == "Cầm đồ Phú Quý 2" and second["seq"] > first["seq"]
    entries = [e for e in svc.ledger.entries(0, 1000) if e.kind == "event" and e.payload.get("type") == "shop_profile"]
    assert [e.seq for e in entries] == [first["seq"], second["seq"]]
    assert entries[-1].payload["by"] == {"user": "admin2-1", "role": "admin"} and entries[-1].payload["printer_layout"] == "80mm"
    assert api.get("/api/v1/shop", tokens["inspector"]).json()["name"] == "Cầm đồ Phú Quý 2"
    # the projection is rebuilt from the chain when it is lost
    svc.ledger.write(lambda conn: (conn.execute("DROP TABLE shop_profiles"),
                                   conn.execute("DELETE FROM meta WHERE key IN ('schema.shop', ?)",
                                                (projection.mark_key("shop"),))))
    svc.ledger.projectors.remove(projection.attached(svc.ledger, "shop"))  # as in the next process
    assert shop_profile.current(svc.ledger, svc.cfg)["seq"] == second["seq"]


@pytest.mark.parametrize(("change", "rule"), [({"name": ""}, "name_required"), ({"phone": "gọi tôi"}, "phone"),
                                              ({"address": "x" * 301}, None), ({"printer_layout": "a4"}, None)])
def test_bad_shop_profile_is_refused_and_nothing_is_recorded(api, tokens, svc, change, rule):
    head = svc.ledger.head()[0]
    r = api.request("PUT", "/api/v1/shop", tokens["manager"], json={**SHOP, **change}, headers={"accept-language": "vi"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == ("bad_shop_profile" if rule else "invalid_request")
    if rule == "phone":
        assert error["message"].startswith("Số điện thoại cửa hàng")
    assert svc.ledger.head()[0] == head


def test_counter_banner_until_the_shop_is_set_up(api, tokens, svc):
    page = _session_get(api, svc, "/counter")
    assert 'id="setup-banner"' in page and 'href="/settings"' in page
    settings = _session_get(api, svc, "/settings")
    assert 'id="settings-unconfigured"' in settings and 'id="shop-representative"' in settings
    _set_shop(api, tokens["manager"])
    assert 'id="setup-banner"' not in _session_get(api, svc, "/counter")
    assert 'value="Trần Thị Bích"' in _session_get(api, svc, "/settings")
