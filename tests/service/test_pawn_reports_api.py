"""The reports API (verifier/api/reports.py): formats (JSON, CSV with BOM, XLSX, HTML), roles, the register in
local time, the access log."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.service.pawn_reports_ledger import Shop, local
from verifier.api.contract import EVENT_VI


@pytest.fixture()
def shop(svc, monkeypatch):
    s = Shop(svc.book, monkeypatch)
    a = s.contract(local("2026-03-01 23:30"), "an", ("phone", "bike"), loan=10_000_000, fees=100_000, clerk="clerk-1",
                   phone="0909123456")
    b = s.contract(local("2026-03-02 00:30"), "binh", ("ring",), loan=5_000_000, clerk="manager-1", term=10)
    s.event(a, "interest_paid", local("2026-03-02 09:15"), clerk="clerk-1")
    s.event(b, "redeemed", local("2026-03-02 10:00"), clerk="manager-1")
    s.a, s.b = a, b
    return s


def test_due_list_json_and_roles(api, tokens, shop):
    r = api.get("/api/v1/reports/due?kind=overdue&as_of=2026-04-01", tokens["clerk"])
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [x["contract_no"] for x in rows] == [shop.a["contract_no"]] and rows[0]["days_overdue"] == 1
    assert api.get("/api/v1/reports/due?kind=overdue", tokens["inspector"]).status_code == 403
    assert api.get("/api/v1/reports/due?kind=someday", tokens["clerk"]).status_code == 422
    assert api.get("/api/v1/reports/due?kind=today").status_code == 401


def test_cash_book_csv_has_a_bom_and_reads_back(api, tokens, shop):
    r = api.get("/api/v1/reports/cash-book?from=2026-03-01&to=2026-03-02&format=csv", tokens["manager"])
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\xef\xbb\xbf") and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["Thời gian (giờ Việt Nam)", "Nhân viên", "Số hợp đồng", "Loại", "Diễn giải", "Thu (₫)", "Chi (₫)",
                       "Tồn quỹ (₫)", "Chênh lệch kiểm quỹ (₫)"]
    assert rows[1][:6] == ["23:30 01/03/2026", "clerk-1", shop.a["contract_no"], EVENT_VI["pawn_contract"], "", "100000"]
    assert rows[1][6:] == ["10000000", "-9900000", ""]
    assert [row[3] for row in rows[2:5]] == [EVENT_VI[k] for k in ("pawn_contract", "interest_paid", "redeemed")]
    book = api.get("/api/v1/reports/cash-book?from=2026-03-01&to=2026-03-02", tokens["manager"]).json()
    assert rows[-1][3:] == ["Cộng", "", str(book["cash_in_vnd"]), str(book["cash_out_vnd"]), str(book["closing_balance_vnd"]), ""]
    # a clerk sees no cash book
    assert api.get("/api/v1/reports/cash-book", tokens["clerk"]).status_code == 403
    bad = api.get("/api/v1/reports/cash-book?from=2026-03-02&to=2026-03-01", tokens["manager"],
                  headers={"accept-language": "vi"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_period"
    assert "Khoảng thời gian không hợp lệ" in bad.json()["error"]["message"]


def test_register_xlsx_in_local_time(api, tokens, shop):
    from openpyxl import load_workbook

    r = api.get("/api/v1/reports/register?from=2026-03-01&to=2026-03-01&format=xlsx", tokens["inspector"])
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "Sổ theo dõi hoạt động kinh doanh dịch vụ cầm đồ"
    header = next(i for i, row in enumerate(values) if row[0] == "Số TT")
    assert values[header][:6] == ["Số TT", "Ngày giờ cầm (giờ Việt Nam)", "Số hợp đồng", "Họ tên người cầm", "Năm sinh",
                                 "Số CCCD/CMND"]
    data = values[header + 1:]
    assert len(data) == 1  # the contract of 00:30 on 2 March (local) is the next day's, though 1 March in UTC
    row = dict(zip(values[header], data[0]))
    assert row["Ngày giờ cầm (giờ Việt Nam)"].isoformat(sep=" ") == "2026-03-01 23:30:00"  # 16:30 UTC shown as local
    assert row["Họ tên người cầm"] == "Nguyễn Văn An" and row["Năm sinh"] == "1990" and row["Số CCCD/CMND"] == "079090001234"
    assert "IMEI: 490154203237518" in row["Đặc điểm (serial, IMEI, số khung, số máy, biển số)"]
    assert "Biển số: 59-X1 123.45" in row["Đặc điểm (serial, IMEI, số khung, số máy, biển số)"]
    assert row["Số tiền cầm (₫)"] == 10_000_000 and row["Giá trị định giá (₫)"] == 15_000_000
    cells = {ws.cell(header + 1, i + 1).value: ws.cell(header + 2, i + 1) for i in range(len(values[header]))}
    assert cells["Số tiền cầm (₫)"].number_format == "#,##0"
    assert cells["Ngày giờ cầm (giờ Việt Nam)"].is_date and cells["Ngày giờ cầm (giờ Việt Nam)"].number_format == "DD/MM/YYYY HH:MM"
    assert row["Lãi suất"] == "18,5 %/năm"
    # the next day's register holds the other contract, redeemed the same morning
    nxt = api.get("/api/v1/reports/register?from=2026-03-02&to=2026-03-02", tokens["manager"]).json()
    assert [x["contract_no"] for x in nxt["rows"]] == [shop.b["contract_no"]] and nxt["rows"][0]["outcome"] == "redeemed"
    assert api.get("/api/v1/reports/register", tokens["clerk"]).status_code == 403
    logged, _ = api.app.state.svc.ledger.access_log(record="report:register")
    assert logged and logged[0]["user"] in ("manager-1", "inspector-1")


def test_day_report_xlsx_totals_equal_the_json_and_clerks_see_their_own_day(api, tokens, shop):
    from openpyxl import load_workbook

    j = api.get("/api/v1/reports/day?date=2026-03-02", tokens["manager"]).json()
    assert j["shop"]["new_contracts"] == 1 and j["shop"]["redeemed"] == 1
    r = api.get("/api/v1/reports/day?date=2026-03-02&format=xlsx", tokens["manager"])
    ws = load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[0] == "Nhân viên")
    total = dict(zip(values[header], values[-1]))
    assert total["Nhân viên"] == "Cả cửa hàng"
    assert total["Tiền thu vào (₫)"] == j["shop"]["cash_in_vnd"] and total["Tiền chi ra (₫)"] == j["shop"]["cash_out_vnd"]
    assert total["Lãi thu được (₫)"] == j["shop"]["interest_vnd"] > 0
    assert ws.cell(len(values), values[header].index("Lãi thu được (₫)") + 1).number_format == "#,##0"
    assert ("Dư nợ gốc cuối ngày", "10.000.000 ₫") in [tuple(v[:2]) for v in values]
    # a clerk: their own day only
    own = api.get("/api/v1/reports/day?date=2026-03-02", tokens["clerk"]).json()
    assert own["clerk"] == "clerk-1" and own["shop"] is None and list(own["by_clerk"]) == ["clerk-1"]
    assert api.get("/api/v1/reports/day?date=2026-03-02&clerk=manager-1", tokens["clerk"]).status_code == 403
    html = api.get("/api/v1/reports/day?date=2026-03-02&format=html", tokens["manager"])
    assert html.headers["content-type"].startswith("text/html") and "Báo cáo cuối ngày" in html.text
    assert "Cả cửa hàng" in html.text and "₫" in html.text


def test_real_counter_events_reach_the_cash_book_and_the_day_report(api, tokens, make_scan, txn_body, svc):
    """Contracts and money events recorded through the counter's own API (the money engineer's events, confirmed
    with the quoted cash) are what today's cash book and day report show."""
    from verifier.ledger.pawn_contract import today_vn

    scan = make_scan()
    created = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id, fees_vnd=5_000, interest_rate_year_pct=12.0))
    assert created.status_code == 201, created.text
    txn = created.json()["id"]
    today = today_vn().isoformat()
    q = api.get(f"/api/v1/transactions/{txn}/quote?type=partial_payment&on={today}&amount_vnd=3000000", tokens["clerk"])
    assert q.status_code == 200, q.text
    money = q.json()["money"]
    ev = api.post(f"/api/v1/transactions/{txn}/events", tokens["clerk"],
                  json={"type": "partial_payment", "amount_vnd": 3_000_000,
                        "expected": {"cash_in_vnd": money["cash_in_vnd"], "cash_out_vnd": money["cash_out_vnd"]}})
    assert ev.status_code == 201, ev.text
    book = api.get(f"/api/v1/reports/cash-book?from={today}&to={today}", tokens["manager"]).json()
    assert [(r["kind"], r["cash_in_vnd"], r["cash_out_vnd"]) for r in book["rows"]] == [
        ("pawn_contract", 5_000, 8_000_000), ("partial_payment", money["cash_in_vnd"], 0)]
    day = api.get(f"/api/v1/reports/day?date={today}", tokens["manager"]).json()
    assert day["shop"]["cash_in_vnd"] == 5_000 + money["cash_in_vnd"] and day["shop"]["principal_in_vnd"] == 3_000_000
    assert day["stock"]["open_principal_vnd"] == 5_000_000 and day["stock"]["items_by_category"] == {"phone": 1}
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    [row] = api.get(f"/api/v1/reports/due?kind=week&as_of={view['due_date']}", tokens["clerk"]).json()["rows"]
    assert row["principal_vnd"] == view["money"]["principal_vnd"] == 5_000_000


@pytest.mark.parametrize("url", [
    "/api/v1/reports/day?date=9999-12-31&format=xlsx", "/api/v1/reports/day?date=0001-01-01&format=xlsx",
    "/api/v1/reports/day?date=2026-03-01&clerk=%01%1F%0B&format=xlsx",
    "/api/v1/reports/cash-book?from=0001-01-01&to=9999-12-31&format=xlsx",
    "/api/v1/reports/register?from=0001-01-01&to=9999-12-31&format=xlsx",
    "/api/v1/reports/due?kind=week&as_of=9999-12-31&format=xlsx", "/api/v1/reports/due?kind=overdue&as_of=0001-01-01",
])
def test_extreme_dates_and_control_characters_are_answered_not_crashed(api, tokens, shop, url):
    """What the API fuzzer found: the first and last days a date can be, and control characters (illegal in XLSX)."""
    r = api.get(url, tokens["manager"])
    assert r.status_code in (200, 422), (url, r.status_code, r.text[:300])
    if r.status_code == 422:
        assert r.json()["error"]["code"]
    elif "format=xlsx" in url:
        from io import BytesIO

        from openpyxl import load_workbook

        load_workbook(BytesIO(r.content))  # a workbook that opens
