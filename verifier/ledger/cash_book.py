"""The cash book (sổ quỹ) and the end-of-day report (báo cáo cuối ngày), from the ledger's entries.

Every money movement is a ledger entry: a contract pays out its loan and takes its fees at signing, each money
event (đóng lãi, trả bớt gốc, vay thêm, gia hạn, chuộc, thanh lý) carries a ``money`` block with what crossed the
counter (``cash_in_vnd``, ``cash_out_vnd``; :func:`verifier.ledger.pawn_records.money_of`), and so does each
movement of the shop's own cash (:mod:`verifier.ledger.cash_fund`: nhập quỹ / rút quỹ, thu khác / chi khác, with
its reason). The cash book lists them in seq order with the local (Vietnam) time, the clerk, the contract, the
kind, the reason, money in, money out and the running balance, starting from the opening balance of the period:
the sum of every movement recorded before it (:func:`verifier.ledger.cash_fund.balance_at`; a shop that recorded
its opening fund starts from it, not from 0 ₫). A cash count (kiểm quỹ) is a row too, moving nothing: the cash
counted, the book's balance then and the difference, with its explanation. The rows are re-read from the chain
each time, so they always agree with the record (Decree 96/2016/NĐ-CP art. 29: the pawn business keeps its
books; Circular 200/2014/TT-BTC form S07-DN for the layout of a cash book).

The end-of-day report sums the day's movements per clerk and for the shop (cash out, cash in, interest, fees,
sales, surplus paid out, new contracts, redemptions, fund in and out, other income and expense, counts), lists
the day's cash counts and states the shop's position at the end of the day:
principal still lent out on active contracts, and the items held in store (active and forfeited contracts,
by category). Its totals are the sums of the day's cash-book rows, by construction and by test.
"""

from __future__ import annotations

from datetime import date, timedelta

from verifier.errors import InputError
from verifier.ledger import cash_fund
from verifier.ledger.entry import Entry
from verifier.ledger.pawn_records import (
    MONEY_FIELDS,
    clerk_of,
    entries_between,
    has_money,
    last_seq_before,
    money_of,
    records,
)

#: Longest period of one cash book (days); a longer one is refused rather than read whole.
MAX_DAYS = 366
#: The sums of a day report (per clerk and for the shop).
TOTALS = ("cash_in_vnd", "cash_out_vnd", "interest_vnd", "fees_vnd", "sale_vnd", "surplus_vnd", "principal_out_vnd",
          "principal_in_vnd", "new_contracts", "redeemed", "liquidated", "movements", "fund_in_vnd", "fund_out_vnd",
          "other_in_vnd", "other_out_vnd", "cash_counts")
#: (purpose, direction) of a fund movement -> its total in :data:`TOTALS`
FUND_TOTALS = {("owner", "in"): "fund_in_vnd", ("owner", "out"): "fund_out_vnd", ("other", "in"): "other_in_vnd",
               ("other", "out"): "other_out_vnd"}
#: Statuses whose items the shop still holds at the end of a day.
IN_STORE = ("active", "forfeited")


#: The days a report may be asked for: wide enough for any ledger, narrow enough that a day's neighbours exist.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def check_day(day: date) -> None:
    """:class:`InputError` for a day outside :data:`FIRST_DAY`..:data:`LAST_DAY`."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"day: expected {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}, found {day.isoformat()}")


def check_period(start: date, end: date) -> None:
    check_day(start)
    check_day(end)
    if end < start:
        raise InputError(f"period: 'to' ({end.isoformat()}) is before 'from' ({start.isoformat()})")
    if (end - start).days + 1 > MAX_DAYS:
        raise InputError(f"period: at most {MAX_DAYS} days, found {(end - start).days + 1}")


def kind_of(entry: Entry) -> str:
    """The kind of a movement: ``pawn_contract`` or the event's type."""
    return str(entry.payload.get("type") or entry.kind)


class ContractNumbers:
    """Contract number of a contract id (from the pawn book's clear columns), remembered per report."""

    def __init__(self, book) -> None:
        self.book, self.known = book, {}

    def __call__(self, entry: Entry) -> tuple[str | None, str | None]:
        p = entry.payload
        if entry.kind == "transaction":
            return p.get("id"), p.get("contract_no")
        txn_id = p.get("txn_id")
        if txn_id not in self.known:
            row = self.book.store.contract(txn_id) if txn_id else None
            self.known[txn_id] = row["contract_no"] if row else None
        return txn_id, self.known[txn_id]


def opening_balance(book, start: date) -> int:
    """Cash in less cash out of every movement recorded before the local day ``start`` (the projection of
    :mod:`verifier.ledger.cash_fund`: no need to decrypt the whole chain)."""
    return cash_fund.balance_at(book.ledger, last_seq_before(book, start))


def is_row(entry: Entry) -> bool:
    """Whether ``entry`` is a row of the cash book: a money movement, or a cash count."""
    return has_money(entry) or (entry.kind == "event" and entry.payload.get("type") == cash_fund.COUNT)


def movement(entry: Entry, numbers: ContractNumbers) -> dict:
    """One cash-book row (without the running balance): the money fields, ``note`` (a fund movement's reason, a
    count's explanation), and for a fund movement its ``direction`` and ``purpose``, for a count ``counted_vnd``,
    ``expected_vnd`` and ``difference_vnd`` (None on other rows)."""
    txn_id, contract_no = numbers(entry)
    m = money_of(entry)
    p = entry.payload
    kind = kind_of(entry)
    is_fund, is_count = entry.kind == "event" and kind == cash_fund.FUND, entry.kind == "event" and kind == cash_fund.COUNT
    return {"seq": entry.seq, "ts": entry.ts, "clerk": clerk_of(entry), "txn_id": txn_id, "contract_no": contract_no,
            "kind": kind, "demo": entry.demo, **{k: m[k] for k in MONEY_FIELDS},
            "note": str(p.get("reason") if is_fund else p.get("note") if is_count else "") or "",
            "direction": p.get("direction") if is_fund else None, "purpose": p.get("purpose") if is_fund else None,
            **{k: p.get(k) if is_count else None for k in ("counted_vnd", "expected_vnd", "difference_vnd")}}


def cash_book(book, start: date, end: date) -> dict:
    """The cash book of the local days ``start`` to ``end`` (both whole): ``{from, to, opening_balance_vnd, rows,
    cash_in_vnd, cash_out_vnd, closing_balance_vnd, damaged_seqs}``; each row has ``balance_vnd`` after it."""
    check_period(start, end)
    balance = opening = opening_balance(book, start)
    entries, damaged = entries_between(book, start, end)
    numbers = ContractNumbers(book)
    rows = []
    for entry in entries:
        if not is_row(entry):
            continue
        r = movement(entry, numbers)
        balance += r["cash_in_vnd"] - r["cash_out_vnd"]
        rows.append({**r, "balance_vnd": balance})
    return {"from": start.isoformat(), "to": end.isoformat(), "opening_balance_vnd": opening, "rows": rows,
            "cash_in_vnd": sum(r["cash_in_vnd"] for r in rows), "cash_out_vnd": sum(r["cash_out_vnd"] for r in rows),
            "closing_balance_vnd": balance, "damaged_seqs": damaged}


def totals(rows: list[dict]) -> dict:
    """The sums of :data:`TOTALS` over cash-book rows."""
    out = dict.fromkeys(TOTALS, 0)
    for r in rows:
        for k in MONEY_FIELDS:
            if k in out:
                out[k] += r[k]
        out["new_contracts"] += r["kind"] == "pawn_contract"
        out["redeemed"] += r["kind"] == "redeemed"
        out["liquidated"] += r["kind"] == "liquidated"
        if r["kind"] == cash_fund.COUNT:
            out["cash_counts"] += 1
            continue
        out["movements"] += 1
        if r["kind"] == cash_fund.FUND and (r["purpose"], r["direction"]) in FUND_TOTALS:
            out[FUND_TOTALS[(r["purpose"], r["direction"])]] += r["cash_in_vnd"] + r["cash_out_vnd"]
    return out


def stock(book, day: date) -> dict:
    """The shop's position at the end of the local day ``day``: principal lent out on active contracts, and the
    items held (active and forfeited contracts), by category."""
    last = last_seq_before(book, day + timedelta(days=1))
    principal = contracts = items = 0
    by_category: dict[str, int] = {}
    damaged = []
    for rec in records(book):
        if rec.row["seq"] > last:
            continue
        if rec.contract is None:
            damaged.append(rec.row["seq"])
            continue
        status = rec.status_at(last)
        if status == "active":
            contracts += 1
            principal += rec.principal_at(last)
        if status in IN_STORE:
            held = [e for e in rec.events if e.seq <= last]
            for item in _items_at(rec.payload.get("items") or [], held):
                items += 1
                category = str(item.get("category") or "other")
                by_category[category] = by_category.get(category, 0) + 1
    return {"open_contracts": contracts, "open_principal_vnd": principal, "items_in_store": items,
            "items_by_category": dict(sorted(by_category.items())), "damaged_seqs": damaged}


def _items_at(items: list[dict], events: list[Entry]) -> list[dict]:
    for e in events:
        if e.payload.get("type") == "correction" and "items" in (e.payload.get("fields") or {}):
            items = e.payload["fields"]["items"]
    return items


def day_report(book, day: date, clerk: str | None = None) -> dict:
    """The end-of-day report of the local day ``day``: ``{date, clerk, rows, totals, by_clerk: {clerk: totals}, counts,
    shop: totals, stock, opening_balance_vnd, closing_balance_vnd}`` (``counts``: the day's cash-count rows). With
    ``clerk``: that clerk's rows, totals and counts only (``shop`` None, no stock or balances)."""
    book_ = cash_book(book, day, day)
    rows = book_["rows"] if clerk is None else [r for r in book_["rows"] if r["clerk"] == clerk]
    by_clerk: dict[str, list[dict]] = {}
    for r in rows:
        by_clerk.setdefault(r["clerk"], []).append(r)
    out = {"date": day.isoformat(), "clerk": clerk, "rows": rows, "totals": totals(rows),
           "by_clerk": {name: totals(rs) for name, rs in sorted(by_clerk.items())}, "damaged_seqs": book_["damaged_seqs"],
           "counts": [r for r in rows if r["kind"] == cash_fund.COUNT], "shop": None}
    if clerk is None:
        out.update(shop=out["totals"], stock=stock(book, day), opening_balance_vnd=book_["opening_balance_vnd"],
                   closing_balance_vnd=book_["closing_balance_vnd"])
    return out
