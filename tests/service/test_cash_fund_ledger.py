"""The shop's cash fund in the ledger (verifier/ledger/cash_fund.py): fund movements and counts are chained
entries, the count's expected balance is the book's at that moment, the projection agrees with the chain."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.service.pawn_reports_ledger import Shop, local, open_book
from verifier import messages
from verifier.errors import InputError
from verifier.ledger import cash_fund, projection
from verifier.ledger.cash_book import cash_book, day_report
from verifier.ledger.cash_fund import CashFund
from verifier.ledger.pawn_records import has_money, money_of

MANAGER = {"user": "chu", "role": "manager"}


@pytest.fixture()
def shop(tmp_path, monkeypatch):
    ledger, book = open_book(tmp_path / "data")
    s = Shop(book, monkeypatch)
    s.fund = CashFund(ledger, book.keys)
    yield s
    ledger.close()


def deposit(shop, at, amount, reason="Chủ cửa hàng nộp quỹ đầu ngày", **form):
    shop._at(at)
    return shop.fund.fund({"direction": "in", "amount_vnd": amount, "reason": reason, **form}, **MANAGER)


def chain_balance(ledger) -> int:
    """Cash in less cash out of every entry, straight from the decrypted chain (not through the projection)."""
    return sum(money_of(e)["cash_in_vnd"] - money_of(e)["cash_out_vnd"] for e in ledger.entries(0, 100_000) if has_money(e))


def test_a_deposit_makes_the_end_of_day_balance_positive(shop):
    deposit(shop, local("2026-03-01 07:30"), 50_000_000)
    a = shop.contract(local("2026-03-01 09:00"), "an", loan=10_000_000, fees=100_000)
    shop.contract(local("2026-03-01 10:00"), "binh", ("bike",), loan=20_000_000, clerk="lan")
    shop.event(a, "interest_paid", local("2026-03-01 16:00"))
    book = cash_book(shop.book, date(2026, 3, 1), date(2026, 3, 1))
    assert [r["kind"] for r in book["rows"]] == ["cash_fund", "pawn_contract", "pawn_contract", "interest_paid"]
    first = book["rows"][0]
    assert (first["cash_in_vnd"], first["direction"], first["purpose"], first["note"]) == (
        50_000_000, "in", "owner", "Chủ cửa hàng nộp quỹ đầu ngày")
    assert first["balance_vnd"] == 50_000_000 and first["clerk"] == "chu"
    assert book["closing_balance_vnd"] == 50_000_000 + 100_000 - 30_000_000 + book["rows"][3]["cash_in_vnd"] > 0
    report = day_report(shop.book, date(2026, 3, 1))
    assert report["opening_balance_vnd"] == 0 and report["closing_balance_vnd"] == book["closing_balance_vnd"]
    assert report["shop"]["fund_in_vnd"] == 50_000_000 and report["shop"]["fund_out_vnd"] == 0
    # the next day opens with it
    assert day_report(shop.book, date(2026, 3, 2))["opening_balance_vnd"] == book["closing_balance_vnd"]
    assert shop.fund.balance() == chain_balance(shop.book.ledger) == book["closing_balance_vnd"]


def test_fund_entry_payload_and_withdrawal_above_the_balance(shop):
    deposit(shop, local("2026-03-01 07:30"), 5_000_000)
    shop._at(local("2026-03-01 08:00"))
    out = shop.fund.fund({"direction": "out", "purpose": "other", "amount_vnd": 1_200_000,
                          "reason": "  Trả tiền điện\ttháng 2 "}, **MANAGER)
    assert out["type"] == "cash_fund" and out["balance_vnd"] == 3_800_000
    assert out["money"] == {"cash_in_vnd": 0, "cash_out_vnd": 1_200_000}
    [entry] = shop.book.ledger.entries_by_seq([out["seq"]])
    assert entry.kind == "event" and entry.payload == {
        "type": "cash_fund", "direction": "out", "purpose": "other", "amount_vnd": 1_200_000,
        "reason": "Trả tiền điện tháng 2", "by": {"user": "chu", "role": "manager"},
        "money": {"cash_in_vnd": 0, "cash_out_vnd": 1_200_000}}
    head = shop.book.ledger.head()[0]
    with pytest.raises(InputError) as e:
        shop.fund.fund({"direction": "out", "amount_vnd": 3_800_001, "reason": "Rút lãi"}, **MANAGER)
    assert e.value.code == "cash_above_balance" and e.value.details["balance_vnd"] == 3_800_000
    assert shop.book.ledger.head()[0] == head  # nothing recorded
    shop.fund.fund({"direction": "out", "amount_vnd": 3_800_000, "reason": "Rút hết quỹ"}, **MANAGER)  # all of it: allowed
    assert shop.fund.balance() == 0
    report = day_report(shop.book, date(2026, 3, 1))
    assert (report["shop"]["other_out_vnd"], report["shop"]["fund_out_vnd"], report["shop"]["fund_in_vnd"]) == (
        1_200_000, 3_800_000, 5_000_000)


@pytest.mark.parametrize("form, code", [
    ({"direction": "in", "amount_vnd": 0, "reason": "x"}, "bad_cash_amount"),
    ({"direction": "in", "amount_vnd": -5, "reason": "x"}, "bad_cash_amount"),
    ({"direction": "in", "amount_vnd": 10.5, "reason": "x"}, "bad_cash_amount"),
    ({"direction": "in", "amount_vnd": "100000", "reason": "x"}, "bad_cash_amount"),
    ({"direction": "in", "amount_vnd": True, "reason": "x"}, "bad_cash_amount"),
    ({"direction": "in", "amount_vnd": cash_fund.MAX_AMOUNT_VND + 1, "reason": "x"}, "bad_cash_amount"),
    ({"direction": "in", "amount_vnd": 100_000, "reason": "   "}, "cash_reason_required"),
    ({"direction": "in", "amount_vnd": 100_000}, "cash_reason_required"),
    ({"direction": "in", "amount_vnd": 100_000, "reason": "x" * 501}, "cash_text_too_long"),
    ({"direction": "sideways", "amount_vnd": 100_000, "reason": "x"}, "bad_cash_kind"),
    ({"direction": "in", "purpose": "gift", "amount_vnd": 100_000, "reason": "x"}, "bad_cash_kind"),
])
def test_bad_fund_input_is_refused_in_vietnamese_and_loses_nothing(shop, form, code):
    head = shop.book.ledger.head()[0]
    with pytest.raises(InputError) as e:
        shop.fund.fund(form, **MANAGER)
    assert e.value.code == code
    assert e.value.message_vi == messages.text(code, "vi", e.value.details)  # the catalogue's Vietnamese sentence
    assert re.search(r"[ảạàáờốệữýđ]", e.value.message_vi)
    assert shop.book.ledger.head()[0] == head


def test_whole_float_amounts_are_whole_dong(shop):
    out = deposit(shop, local("2026-03-01 07:30"), 1e6)
    assert out["amount_vnd"] == 1_000_000 and isinstance(out["amount_vnd"], int)


def test_count_records_the_books_balance_and_the_difference(shop):
    deposit(shop, local("2026-03-01 07:30"), 20_000_000)
    shop.contract(local("2026-03-01 09:00"), "an", loan=10_000_000, fees=50_000)
    shop._at(local("2026-03-01 18:00"))
    even = shop.fund.count({"counted_vnd": 10_050_000}, user="hoa", role="clerk")
    assert (even["expected_vnd"], even["difference_vnd"]) == (10_050_000, 0)
    with pytest.raises(InputError) as e:  # a difference needs its explanation
        shop.fund.count({"counted_vnd": 10_000_000, "note": " "}, user="hoa", role="clerk")
    assert e.value.code == "cash_note_required" and e.value.details["difference_vnd"] == -50_000
    assert "giải thích chênh lệch" in e.value.message_vi
    short = shop.fund.count({"counted_vnd": 10_000_000, "note": "Thối nhầm tiền cho khách"}, user="hoa", role="clerk")
    assert (short["expected_vnd"], short["difference_vnd"]) == (10_050_000, -50_000)
    [entry] = shop.book.ledger.entries_by_seq([short["seq"]])
    assert entry.payload == {"type": "cash_count", "counted_vnd": 10_000_000, "expected_vnd": 10_050_000,
                             "difference_vnd": -50_000, "note": "Thối nhầm tiền cho khách",
                             "by": {"user": "hoa", "role": "clerk"}}
    # a count moves no cash: the book's balance stays; the rows show the counts
    assert shop.fund.balance() == 10_050_000
    report = day_report(shop.book, date(2026, 3, 1))
    assert [(r["counted_vnd"], r["difference_vnd"]) for r in report["counts"]] == [(10_050_000, 0), (10_000_000, -50_000)]
    assert report["shop"]["cash_counts"] == 2 and report["shop"]["movements"] == 2
    assert report["closing_balance_vnd"] == 10_050_000
    assert report["rows"][-1]["balance_vnd"] == 10_050_000 and report["rows"][-1]["cash_in_vnd"] == 0
    # an empty drawer counts 0
    shop._at(local("2026-03-01 19:00"))
    empty = shop.fund.count({"counted_vnd": 0, "note": "Két trống: chủ đã mang tiền về"}, user="chu", role="manager")
    assert empty["difference_vnd"] == -10_050_000


def test_count_refuses_a_balance_that_moved_since_it_was_shown(shop):
    deposit(shop, local("2026-03-01 07:30"), 3_000_000)
    shown = shop.fund.balance()
    shop.contract(local("2026-03-01 09:00"), "an", loan=1_000_000)  # the book moves meanwhile
    head = shop.book.ledger.head()[0]
    with pytest.raises(InputError) as e:
        shop.fund.count({"counted_vnd": shown, "expected_vnd": shown}, user="hoa", role="clerk")
    assert e.value.code == "amount_changed" and e.value.details == {"expected_vnd": 2_000_000, "shown_vnd": 3_000_000}
    assert shop.book.ledger.head()[0] == head
    ok = shop.fund.count({"counted_vnd": 2_000_000, "expected_vnd": 2_000_000}, user="hoa", role="clerk")
    assert ok["difference_vnd"] == 0


def test_projection_is_caught_up_from_the_chain_on_reopen(tmp_path, monkeypatch):
    """Entries appended by a ledger without the projector (an older program) are read from the chain at attach."""
    data = tmp_path / "data"
    ledger, book = open_book(data)
    shop = Shop(book, monkeypatch)
    shop.fund = CashFund(ledger, book.keys)
    deposit(shop, local("2026-03-01 07:30"), 9_000_000)
    ledger.close()
    ledger, book = open_book(data)  # a program that does not know the projection appends a contract
    shop = Shop(book, monkeypatch)
    shop.contract(local("2026-03-01 09:00"), "an", loan=4_000_000, fees=10_000)
    assert projection.attached(ledger, "cash") is None
    ledger.close()
    ledger, book = open_book(data)
    try:
        assert CashFund(ledger, book.keys).balance() == chain_balance(ledger) == 5_010_000
    finally:
        ledger.close()
