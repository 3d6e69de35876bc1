"""Cash book and end-of-day report (verifier/ledger/cash_book.py): every total is the sum of the day's entries."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.pawn_reports_ledger import Shop, local, open_book
from verifier.errors import InputError
from verifier.ledger.cash_book import cash_book, day_report
from verifier.ledger.cash_fund import CashFund
from verifier.ledger.pawn_records import last_seq_before
from verifier.local_time import VN_TZ


@pytest.fixture()
def shop(tmp_path, monkeypatch):
    ledger, book = open_book(tmp_path / "data")
    yield Shop(book, monkeypatch)
    ledger.close()


def day_sums(ledger, day: date, clerk: str | None = None) -> dict:
    """The day's movements summed straight from the chain's entries (not through the report's code)."""
    sums = {"cash_in_vnd": 0, "cash_out_vnd": 0, "interest_vnd": 0, "fees_vnd": 0, "sale_vnd": 0, "surplus_vnd": 0,
            "new_contracts": 0, "redeemed": 0, "fund_in_vnd": 0, "fund_out_vnd": 0, "other_in_vnd": 0, "other_out_vnd": 0,
            "cash_counts": 0}
    for e in ledger.entries(0, 100_000):
        when = datetime.fromisoformat(e.ts.replace("Z", "+00:00")).astimezone(VN_TZ).date()
        p = e.payload
        who = (p.get("created_by") or p.get("by") or {}).get("user")
        if when != day or (clerk and who != clerk):
            continue
        if e.kind == "transaction":
            sums["cash_out_vnd"] += p["loan_vnd"]
            sums["cash_in_vnd"] += p["fees_vnd"]
            sums["fees_vnd"] += p["fees_vnd"]
            sums["new_contracts"] += 1
        elif "money" in p:
            for k in ("cash_in_vnd", "cash_out_vnd", "interest_vnd", "fees_vnd", "sale_vnd", "surplus_vnd"):
                sums[k] += p["money"].get(k, 0)
            sums["redeemed"] += p["type"] == "redeemed"
        if p.get("type") == "cash_fund":
            sums[("fund" if p["purpose"] == "owner" else "other") + "_" + p["direction"] + "_vnd"] += p["amount_vnd"]
        sums["cash_counts"] += p.get("type") == "cash_count"
    return sums


def chain_balance_before(ledger, seq: int) -> int:
    """The book's balance just before entry ``seq``, straight from the chain's payloads."""
    total = 0
    for e in ledger.entries(0, seq - 1):
        p = e.payload
        if e.kind == "transaction":
            total += p["fees_vnd"] - p["loan_vnd"]
        elif "money" in p:
            total += p["money"].get("cash_in_vnd", 0) - p["money"].get("cash_out_vnd", 0)
    return total


def test_cash_book_rows_balance_and_local_day_boundary(shop):
    a = shop.contract(local("2026-03-01 09:00"), "an", loan=10_000_000, fees=100_000, clerk="hoa")
    b = shop.contract(local("2026-03-01 23:59"), "binh", ("bike",), loan=20_000_000, clerk="lan")
    shop.event(a, "interest_paid", local("2026-03-02 00:01"), clerk="lan")  # the next local day (17:01 UTC on 1 March)
    shop.event(b, "principal_added", local("2026-03-02 08:00"), amount_vnd=1_000_000, clerk="lan")
    book = shop.book
    day1 = cash_book(book, date(2026, 3, 1), date(2026, 3, 1))
    assert [r["contract_no"] for r in day1["rows"]] == [a["contract_no"], b["contract_no"]]
    assert day1["opening_balance_vnd"] == 0
    assert [r["balance_vnd"] for r in day1["rows"]] == [-9_900_000, -29_900_000]
    assert (day1["cash_in_vnd"], day1["cash_out_vnd"], day1["closing_balance_vnd"]) == (100_000, 30_000_000, -29_900_000)
    day2 = cash_book(book, date(2026, 3, 2), date(2026, 3, 2))
    assert day2["opening_balance_vnd"] == day1["closing_balance_vnd"]
    assert [(r["kind"], r["clerk"]) for r in day2["rows"]] == [("interest_paid", "lan"), ("principal_added", "lan")]
    interest_row = day2["rows"][0]
    assert interest_row["cash_in_vnd"] == interest_row["interest_vnd"] == 5_068  # one day on 10.000.000 ₫ at 18,5 %
    assert day2["closing_balance_vnd"] == -29_900_000 + 5_068 - 1_000_000
    both = cash_book(book, date(2026, 3, 1), date(2026, 3, 2))
    assert both["rows"][-1]["balance_vnd"] == day2["closing_balance_vnd"] and len(both["rows"]) == 4


def test_period_is_checked(shop):
    with pytest.raises(InputError):
        cash_book(shop.book, date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(InputError):
        cash_book(shop.book, date(2025, 1, 1), date(2026, 3, 1))


def test_day_report_stock_at_end_of_day(shop):
    a = shop.contract(local("2026-03-01 09:00"), "an", ("phone", "ring"), loan=10_000_000)
    b = shop.contract(local("2026-03-01 10:00"), "binh", ("bike",), loan=20_000_000)
    c = shop.contract(local("2026-03-01 11:00"), "cuong", ("laptop",), loan=5_000_000, term=10)
    shop.event(a, "partial_payment", local("2026-03-01 15:00"), amount_vnd=4_000_000)
    shop.event(b, "redeemed", local("2026-03-01 16:00"))
    shop.raw_event(c, {"type": "forfeited", "txn_id": c["id"], "by": {"user": "hoa", "role": "clerk"}, "reason": "quá hạn"},
                   local("2026-03-01 17:00"))
    shop.contract(local("2026-03-02 09:00"), "cuong", ("phone",), loan=3_000_000)  # the next day: not in the stock
    report = day_report(shop.book, date(2026, 3, 1))
    stock = report["stock"]
    assert stock["open_contracts"] == 1 and stock["open_principal_vnd"] == 6_000_000
    # a's phone and ring (active), c's laptop (forfeited: the shop holds it until sold); b's bike went home
    assert stock["items_in_store"] == 3
    assert stock["items_by_category"] == {"jewelry": 1, "laptop": 1, "phone": 1}
    assert report["shop"]["redeemed"] == 1 and report["shop"]["new_contracts"] == 3


EVENTS = st.lists(st.tuples(st.sampled_from(["interest_paid", "partial_payment", "principal_added", "extended",
                                             "redeemed", "liquidated", "fund_in", "fund_out", "other_out", "count"]),
                            st.integers(0, 2), st.integers(0, 47 * 60 - 1), st.sampled_from(["hoa", "lan", "minh"]),
                            st.integers(1, 5)),
                  min_size=1, max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, fees=st.lists(st.integers(0, 200) , min_size=3, max_size=3))
def test_day_report_totals_are_the_sums_of_the_days_entries(tmp_path_factory, monkeypatch, events, fees):
    ledger, book = open_book(tmp_path_factory.mktemp("data"))
    try:
        shop = Shop(book, monkeypatch)
        start = local("2026-03-01 08:00")
        contracts = [shop.contract(start + timedelta(minutes=i), p, loan=(i + 1) * 3_000_000, fees=f * 1000,
                                   clerk=("hoa", "lan", "minh")[i])
                     for i, (p, f) in enumerate(zip(("an", "binh", "cuong"), fees))]
        status = {c["id"]: "active" for c in contracts}
        fund = CashFund(ledger, book.keys)
        minute = 10
        for kind, which, _, clerk, n in events:
            c = contracts[which]
            minute += 7 + n * 60  # events move forward over two local days and across midnight
            at = start + timedelta(minutes=minute)
            if kind in ("fund_in", "fund_out", "other_out", "count"):
                shop._at(at)
                before = fund.balance()
                if kind == "count":  # n - 3: short, even or over
                    counted = max(before + (n - 3) * 10_000, 0)
                    out = fund.count({"counted_vnd": counted, "note": "" if counted == before else "lệch quỹ"},
                                     user=clerk, role="clerk")
                    assert out["expected_vnd"] == before == chain_balance_before(ledger, out["seq"])
                    assert out["difference_vnd"] == counted - before
                    continue
                amount = n * (5_000_000 if kind == "fund_in" else 700_000)
                form = {"direction": "in" if kind == "fund_in" else "out", "amount_vnd": amount, "reason": "quỹ",
                        "purpose": "other" if kind == "other_out" else "owner"}
                if form["direction"] == "out" and amount > before:
                    with pytest.raises(InputError) as refused:
                        fund.fund(form, user=clerk, role="manager")
                    assert refused.value.code == "cash_above_balance"
                    continue
                fund.fund(form, user=clerk, role="manager")
                continue
            if status[c["id"]] != "active" and kind != "liquidated" or (kind == "liquidated" and status[c["id"]] == "liquidated"):
                continue
            if kind == "liquidated":
                if status[c["id"]] == "active":
                    shop.raw_event(c, {"type": "forfeited", "txn_id": c["id"], "by": {"user": clerk, "role": "clerk"},
                                       "reason": "quá hạn"}, at)
                shop.event(c, "liquidated", at + timedelta(minutes=1), clerk=clerk, sale_vnd=n * 4_000_000)
                status[c["id"]] = "liquidated"
                continue
            args = {"partial_payment": {"amount_vnd": n * 100_000}, "principal_added": {"amount_vnd": n * 200_000},
                    "extended": {"extend_days": n * 5, "fees_vnd": n * 1000}}.get(kind, {})
            shop.event(c, kind, at, clerk=clerk, **args)
            if kind == "redeemed":
                status[c["id"]] = "redeemed"
        for day in (date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)):
            report = day_report(book, day)
            expected = day_sums(ledger, day)
            assert {k: report["shop"][k] for k in expected} == expected
            for clerk, totals in report["by_clerk"].items():
                assert {k: totals[k] for k in expected} == day_sums(ledger, day, clerk)
            assert sum(t["cash_in_vnd"] for t in report["by_clerk"].values()) == report["shop"]["cash_in_vnd"]
            assert report["closing_balance_vnd"] - report["opening_balance_vnd"] == expected["cash_in_vnd"] - expected["cash_out_vnd"]
            assert report["closing_balance_vnd"] == chain_balance_before(ledger, last_seq_before(book, day + timedelta(days=1)) + 1)
            assert [r["seq"] for r in report["counts"]] == [r["seq"] for r in report["rows"] if r["kind"] == "cash_count"]
            own = day_report(book, day, "lan")
            assert own["shop"] is None and own["totals"]["cash_out_vnd"] == day_sums(ledger, day, "lan")["cash_out_vnd"]
    finally:
        ledger.close()
