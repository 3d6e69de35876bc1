"""Due lists (danh sách đến hạn) of the pawn book, as of a local (Vietnam) day.

* ``today``: active contracts due on that day;
* ``week``: active contracts due from that day to 7 days after it (the week ahead, both ends included);
* ``overdue``: active contracts whose due day has passed (quá hạn), with the days past it;
* ``unpaid_interest``: active contracts whose interest has not been paid for more than
  :data:`UNPAID_INTEREST_DAYS` days (settled up to a day more than 30 days back; chưa đóng lãi).

Each row: contract number, pawner's name, phone if the contract has one (``pawner_phone``), items, outstanding
principal, interest due on that day (:func:`verifier.ledger.interest.money_state`, the one interest computation),
due day and days overdue. Built from the ledger's entries (:mod:`verifier.ledger.pawn_records`); a contract
whose entry cannot be read is listed from the pawn book's clear columns, marked ``damaged``. The rows carry
personal data: the caller logs the access. Civil Code 2015 art. 468 (interest), Decree 96/2016/NĐ-CP art. 29
(the shop follows up each pawn to its outcome).
"""

from __future__ import annotations

from datetime import date, timedelta

from verifier.errors import InputError
from verifier.ledger.pawn_records import Record, records

KINDS = ("today", "week", "overdue", "unpaid_interest")
#: Interest unpaid for more than this many days puts a contract on the ``unpaid_interest`` list.
UNPAID_INTEREST_DAYS = 30
#: The ``week`` list: due from the day to this many days after it.
WEEK_DAYS = 7


def items_summary(items: list[dict]) -> str:
    """The items in one line: each description, with its identifying number when it has one."""
    out = []
    for item in items:
        ident = next((item[k] for k in ("imei", "serial", "frame_no", "plate") if item.get(k)), None)
        out.append(f"{item.get('description', '')} ({ident})" if ident else str(item.get("description", "")))
    return "; ".join(out)


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"kind: expected one of {', '.join(KINDS)}, found {kind!r}")


def selected(kind: str, due: date, settled: date | None, as_of: date) -> bool:
    """Whether a contract due on ``due`` whose interest is settled up to ``settled`` is on list ``kind`` on ``as_of``."""
    if kind == "today":
        return due == as_of
    if kind == "week":
        return as_of <= due <= as_of + timedelta(days=WEEK_DAYS)
    if kind == "overdue":
        return due < as_of
    return settled is not None and (as_of - settled).days > UNPAID_INTEREST_DAYS


def row(rec: Record, as_of: date) -> dict:
    """One contract on a due list as of ``as_of``."""
    due = date.fromisoformat(rec.row["due_date"])
    base = {"id": rec.row["id"], "contract_no": rec.row["contract_no"], "due_date": rec.row["due_date"],
            "days_overdue": max((as_of - due).days, 0), "damaged": rec.contract is None, "flagged": rec.row["flagged"]}
    if rec.contract is None:
        return {**base, "pawner_name": None, "phone": None, "items": "", "principal_vnd": int(rec.row["loan_vnd"]),
                "interest_due_vnd": None, "interest_to": None, "to_redeem_vnd": None}
    money = rec.money(as_of)
    return {**base, "pawner_name": rec.pawner.get("full_name"), "phone": rec.payload.get("pawner_phone"),
            "items": items_summary(rec.items()), "principal_vnd": money["principal_vnd"],
            "interest_due_vnd": money["interest_due_vnd"], "interest_to": money["interest_to"],
            "to_redeem_vnd": money["to_redeem_vnd"]}


def due_list(book, kind: str, as_of: date) -> list[dict]:
    """The contracts of pawn book ``book`` on list ``kind`` (:data:`KINDS`) as of the local day ``as_of``: most
    overdue first, then by due day and contract number."""
    check_kind(kind)
    out = []
    for rec in records(book, status="active"):
        due = date.fromisoformat(rec.row["due_date"])
        settled = date.fromisoformat(rec.money(as_of)["interest_to"]) if rec.contract is not None else None
        if selected(kind, due, settled, as_of):
            out.append(row(rec, as_of))
    out.sort(key=lambda r: (r["due_date"], r["contract_no"]))
    return out
