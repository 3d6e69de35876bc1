"""The cash fund API (verifier/api/cash.py): POST /cash/fund, POST /cash/count, GET /cash/balance: roles, checked
input with Vietnamese errors, Idempotency-Key, and what the cash book and the day report then show (CSV, XLSX)."""

from __future__ import annotations

import csv
import io
import uuid

from verifier.ledger.pawn_contract import today_vn


def fund(api, token, key=None, lang="vi", **body):
    headers = {"accept-language": lang, **({"Idempotency-Key": key} if key else {})}
    return api.post("/api/v1/cash/fund", token, json=body, headers=headers)


def count(api, token, key=None, **body):
    return api.post("/api/v1/cash/count", token, json=body, headers={"Idempotency-Key": key} if key else {})


def test_roles(api, tokens):
    body = {"direction": "in", "amount_vnd": 1_000_000, "reason": "Nộp quỹ"}
    assert fund(api, tokens["clerk"], **body).status_code == 403
    assert fund(api, tokens["inspector"], **body).status_code == 403
    assert fund(api, None, **body).status_code == 401
    assert count(api, tokens["inspector"], counted_vnd=0).status_code == 403
    assert api.get("/api/v1/cash/balance", tokens["inspector"]).status_code == 403
    assert api.get("/api/v1/cash/balance").status_code == 401
    assert fund(api, tokens["manager"], **body).status_code == 201
    assert fund(api, tokens["admin"], **body).status_code == 201
    assert api.get("/api/v1/cash/balance", tokens["clerk"]).json()["balance_vnd"] == 2_000_000
    r = count(api, tokens["clerk"], counted_vnd=2_000_000)
    assert r.status_code == 201 and r.json()["difference_vnd"] == 0


def test_fund_in_and_out_reach_the_cash_book_and_the_day_report(api, tokens):
    r = fund(api, tokens["manager"], direction="in", amount_vnd=30_000_000, reason="Chủ cửa hàng nộp quỹ đầu ngày")
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["type"] == "cash_fund" and first["balance_vnd"] == 30_000_000 and first["purpose"] == "owner"
    r = fund(api, tokens["manager"], direction="out", purpose="other", amount_vnd=450_000, reason="Tiền điện tháng 3")
    assert r.status_code == 201 and r.json()["balance_vnd"] == 29_550_000
    balance = api.get("/api/v1/cash/balance", tokens["manager"]).json()
    assert balance == {"balance_vnd": 29_550_000, "seq": r.json()["seq"]}
    today = today_vn().isoformat()
    book = api.get(f"/api/v1/reports/cash-book?from={today}&to={today}", tokens["manager"]).json()
    assert [(x["kind_vi"], x["note_vi"], x["cash_in_vnd"], x["cash_out_vnd"], x["balance_vnd"]) for x in book["rows"]] == [
        ("Nhập quỹ", "Chủ cửa hàng nộp quỹ đầu ngày", 30_000_000, 0, 30_000_000),
        ("Chi khác", "Tiền điện tháng 3", 0, 450_000, 29_550_000)]
    day = api.get(f"/api/v1/reports/day?date={today}", tokens["manager"]).json()
    assert day["closing_balance_vnd"] == 29_550_000
    assert (day["shop"]["fund_in_vnd"], day["shop"]["other_out_vnd"]) == (30_000_000, 450_000)
    csv_rows = list(csv.reader(io.StringIO(
        api.get(f"/api/v1/reports/cash-book?from={today}&to={today}&format=csv", tokens["manager"]).content.decode("utf-8-sig"))))
    assert csv_rows[1][3:8] == ["Nhập quỹ", "Chủ cửa hàng nộp quỹ đầu ngày", "30000000", "0", "30000000"]
    assert csv_rows[2][3:8] == ["Chi khác", "Tiền điện tháng 3", "0", "450000", "29550000"]


def test_bad_input_gets_a_clear_vietnamese_error_and_records_nothing(api, tokens, svc):
    head = svc.ledger.head()[0]
    r = fund(api, tokens["manager"], direction="in", amount_vnd=10.5, reason="x")
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_cash_amount"
    assert r.json()["error"]["message"].startswith("Số tiền phải là số nguyên dương")
    r = fund(api, tokens["manager"], direction="in", amount_vnd=-1, reason="x", lang="en")
    assert r.json()["error"]["code"] == "bad_cash_amount" and "positive whole number" in r.json()["error"]["message"]
    r = fund(api, tokens["manager"], direction="in", amount_vnd=100_000, reason="  ")
    assert r.status_code == 422 and r.json()["error"]["code"] == "cash_reason_required"
    assert "Phải ghi lý do" in r.json()["error"]["message"]
    r = fund(api, tokens["manager"], direction="out", amount_vnd=100_000, reason="Rút quỹ")
    assert r.status_code == 409 and r.json()["error"]["code"] == "cash_above_balance"
    assert "lớn hơn tồn quỹ trên sổ" in r.json()["error"]["message"]
    assert (r.json()["error"]["details"]["amount_vnd"], r.json()["error"]["details"]["balance_vnd"]) == (100_000, 0)
    r = fund(api, tokens["manager"], direction="up", amount_vnd=100_000, reason="x")
    assert r.status_code == 422
    r = count(api, tokens["clerk"], counted_vnd=5_000)
    assert r.status_code == 422 and r.json()["error"]["code"] == "cash_note_required"
    assert "phải ghi giải thích chênh lệch" in r.json()["error"]["message"]
    assert r.json()["error"]["details"]["difference_vnd"] == 5_000
    assert svc.ledger.head()[0] == head


def test_count_with_the_balance_shown_and_a_moved_book(api, tokens):
    fund(api, tokens["manager"], direction="in", amount_vnd=8_000_000, reason="Nộp quỹ")
    shown = api.get("/api/v1/cash/balance", tokens["clerk"]).json()["balance_vnd"]
    fund(api, tokens["manager"], direction="out", amount_vnd=1_000_000, reason="Rút quỹ")  # meanwhile
    r = count(api, tokens["clerk"], counted_vnd=shown, expected_vnd=shown, note="")
    assert r.status_code == 409 and r.json()["error"]["code"] == "amount_changed"
    assert r.json()["error"]["details"]["expected_vnd"] == 7_000_000
    r = count(api, tokens["clerk"], counted_vnd=6_900_000, expected_vnd=7_000_000, note="Thiếu 100.000 ₫ chưa rõ lý do")
    assert r.status_code == 201, r.text
    assert (r.json()["expected_vnd"], r.json()["difference_vnd"]) == (7_000_000, -100_000)
    today = today_vn().isoformat()
    own = api.get(f"/api/v1/reports/day?date={today}", tokens["clerk"]).json()  # the clerk's own day: their count
    assert [c["difference_vnd"] for c in own["counts"]] == [-100_000] and own["totals"]["cash_counts"] == 1
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(api.get(f"/api/v1/reports/day?date={today}&format=xlsx", tokens["manager"]).content)).active
    meta = {row[0].value: row[1].value for row in ws.iter_rows(max_col=2) if row[0].value}
    assert meta["Tồn quỹ cuối ngày"] == "7.000.000 ₫" and meta["Tồn quỹ đầu ngày"] == "0 ₫"
    [count_line] = [v for k, v in meta.items() if str(k).startswith("Kiểm quỹ")]
    assert count_line == "Đếm được 6.900.000 ₫, sổ quỹ 7.000.000 ₫, chênh lệch -100.000 ₫: Thiếu 100.000 ₫ chưa rõ lý do"
    html = api.get(f"/api/v1/reports/cash-book?from={today}&to={today}&format=html", tokens["manager"]).text
    assert "Kiểm quỹ" in html and "-100.000 ₫" in html


def test_idempotency_key(api, tokens, svc):
    key = str(uuid.uuid4())
    body = {"direction": "in", "amount_vnd": 2_500_000, "reason": "Nộp quỹ"}
    first = fund(api, tokens["manager"], key, **body)
    again = fund(api, tokens["manager"], key, **body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert api.get("/api/v1/cash/balance", tokens["manager"]).json()["balance_vnd"] == 2_500_000  # recorded once
    other = fund(api, tokens["manager"], key, **{**body, "amount_vnd": 2_600_000})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert fund(api, tokens["manager"], "bad key with spaces", **body).status_code == 400
    ckey = str(uuid.uuid4())
    c1 = count(api, tokens["clerk"], ckey, counted_vnd=2_500_000)
    c2 = count(api, tokens["clerk"], ckey, counted_vnd=2_500_000)
    assert c1.json() == c2.json() and c1.json()["seq"] == svc.ledger.head()[0]
    # a refused request is judged again when sent again with its key (only successes are kept)
    rkey = str(uuid.uuid4())
    assert fund(api, tokens["manager"], rkey, direction="out", amount_vnd=9_000_000, reason="Rút").status_code == 409
    fund(api, tokens["manager"], None, direction="in", amount_vnd=9_000_000, reason="Nộp thêm")
    assert fund(api, tokens["manager"], rkey, direction="out", amount_vnd=9_000_000, reason="Rút").status_code == 201
