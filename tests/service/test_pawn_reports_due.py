"""Due lists (verifier/ledger/due_lists.py) on a crafted ledger, across local-day boundaries."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from tests.service.pawn_reports_ledger import Shop, local, open_book
from verifier.errors import InputError
from verifier.ledger.due_lists import due_list
from verifier.ledger.interest import interest


@pytest.fixture()
def shop(tmp_path, monkeypatch):
    ledger, book = open_book(tmp_path / "data")
    yield Shop(book, monkeypatch)
    ledger.close()


def numbers(rows):
    return [r["contract_no"] for r in rows]


def test_due_today_week_and_overdue_move_at_local_midnight(shop):
    # signed at 23:30 on 1 March (Vietnam; 16:30 UTC): the contract's day is the local one, due 31 March
    due = shop.contract(local("2026-03-01 23:30"), "an", ("phone",), term=30, phone="0909123456")
    other = shop.contract(local("2026-03-02 00:30"), "binh", ("bike",), term=60)
    assert due["start_date"] == "2026-03-01" and due["due_date"] == "2026-03-31"
    book = shop.book
    assert numbers(due_list(book, "today", date(2026, 3, 31))) == [due["contract_no"]]
    assert due_list(book, "today", date(2026, 3, 30)) == []
    assert due_list(book, "overdue", date(2026, 3, 31)) == []
    # the week ahead: due from the day to 7 days after it, both ends included
    assert numbers(due_list(book, "week", date(2026, 3, 24))) == [due["contract_no"]]
    assert due_list(book, "week", date(2026, 3, 23)) == []
    # one day later it is overdue by one day, with the interest of 31 days on 10.000.000 ₫ at 18,5 %/year
    [row] = due_list(book, "overdue", date(2026, 4, 1))
    assert row["contract_no"] == due["contract_no"] and row["days_overdue"] == 1
    assert row["pawner_name"] == "Nguyễn Văn An" and row["phone"] == "0909123456"
    assert "Điện thoại iPhone 13 128GB (490154203237518)" == row["items"]
    assert row["principal_vnd"] == 10_000_000
    assert row["interest_due_vnd"] == interest(10_000_000, Fraction("18.5"), 31) == 157_123
    assert other["contract_no"] not in numbers(due_list(book, "overdue", date(2026, 4, 1)))


def test_redeemed_and_extended_contracts_leave_or_move_on_the_lists(shop):
    a = shop.contract(local("2026-03-01 09:00"), "an", term=30)
    b = shop.contract(local("2026-03-01 10:00"), "binh", ("ring",), term=30)
    shop.event(a, "redeemed", local("2026-03-20 10:00"))
    shop.event(b, "extended", local("2026-03-30 10:00"), extend_days=15)
    book = shop.book
    assert due_list(book, "today", date(2026, 3, 31)) == []  # a is redeemed, b now due 15 April
    [row] = due_list(book, "today", date(2026, 4, 15))
    assert row["contract_no"] == b["contract_no"] and row["due_date"] == "2026-04-15"
    assert row["interest_to"] == "2026-03-30"  # the extension paid the interest up to its day


def test_unpaid_interest_after_more_than_30_days(shop):
    c = shop.contract(local("2026-03-01 09:00"), "cuong", ("laptop",), term=90)
    shop.event(c, "interest_paid", local("2026-03-15 16:59"))  # interest settled to 15 March
    book = shop.book
    assert due_list(book, "unpaid_interest", date(2026, 4, 14)) == []  # 30 days: not yet
    [row] = due_list(book, "unpaid_interest", date(2026, 4, 15))  # 31 days
    assert row["interest_to"] == "2026-03-15"
    assert row["interest_due_vnd"] == interest(10_000_000, Fraction("18.5"), 31)
    assert row["days_overdue"] == 0


def test_unknown_list_is_refused(shop):
    with pytest.raises(InputError):
        due_list(shop.book, "tomorrow", date(2026, 3, 1))
