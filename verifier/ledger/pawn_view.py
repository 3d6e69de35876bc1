"""What the counter sees of a contract: its entries folded into one view, a damaged entry marked, not fatal.

The current state of a contract is the fold of its entries (the contract, then its events): its
``money`` (:func:`verifier.ledger.interest.money_state`: principal, interest due today, amount to redeem,
paid so far...) from the ``money`` blocks of its events, an extension's rate replaces the contract's, a
correction's fields replace the originals. Each event is listed with its ``seq`` and its ``money``. A contract whose ledger entry cannot be read (damaged or rewritten,
:class:`~verifier.ledger.verify.DamageWatch`) is still listed and shown, from the clear columns of
the pawn book (:mod:`verifier.ledger.pawn_store`), marked ``damaged``; a damaged event is shown as
one. The views carry the pawner's identity decrypted: the caller logs the access.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Callable

from verifier.errors import LedgerError, TamperError
from verifier.ledger import interest
from verifier.ledger.entry import Entry
from verifier.ledger.pawn_contract import today_vn
from verifier.ledger.store import Ledger
from verifier.ledger.verify import DamageWatch


def read_entries(ledger: Ledger, damage: DamageWatch, seqs: list[int]) -> dict[int, Entry | None]:
    """The entries at ``seqs``; None for one that cannot be read or that :class:`DamageWatch` names as bad."""
    bad = damage.bad_seqs()
    try:
        found = {e.seq: e for e in ledger.entries_by_seq(seqs)}
    except (TamperError, LedgerError, ValueError, sqlite3.Error):
        found = {}
        for seq in seqs:
            try:
                found.update((e.seq, e) for e in ledger.entries_by_seq([seq]))
            except (TamperError, LedgerError, ValueError, sqlite3.Error):
                pass
    return {seq: (None if seq in bad else found.get(seq)) for seq in seqs}


def contract_view(row: dict, seqs: list[int], read: dict[int, Entry | None], photo_kinds: Callable[[], list[str]],
                  on: date | None = None) -> dict:
    """The contract of pawn-book ``row`` folded from its entries ``read`` at ``seqs`` (contract first), with the
    kinds of its stored photos (``photo_kinds()``) and its ``money`` on day ``on`` (default: today in Vietnam). Its first entry damaged: only
    the clear columns, ``damaged``, no ``money``; a damaged event's money is unknown and left out of the fold."""
    damaged = [seq for seq, e in read.items() if e is None]
    first = read.get(seqs[0]) if seqs else None
    if first is None or first.payload.get("type") != "pawn_contract":
        view = {**row, "pawner": None, "items": [], "events": [], "photos": [], "paid_vnd": 0, "money": None,
                "damaged": True, "damaged_seqs": damaged or [row["seq"]]}
        return view
    view = dict(first.payload)
    view.update(seq=first.seq, created_at=first.ts, demo=first.demo, status=row["status"], flagged=row["flagged"],
                due_date=row["due_date"], corrected=row["corrected"], damaged=bool(damaged), damaged_seqs=damaged)
    events, payloads = [], []
    for seq in seqs[1:]:
        e = read[seq]
        if e is None:
            events.append({"seq": seq, "type": "damaged", "damaged": True})
            continue
        p = e.payload
        payloads.append(p)
        events.append({"seq": e.seq, "ts": e.ts, **{k: v for k, v in p.items() if k != "txn_id"}})
        if p["type"] == "extended" and "interest_rate_year_pct" in p:
            view["interest_rate_year_pct"] = p["interest_rate_year_pct"]
        elif p["type"] == "correction":
            view.update(p.get("fields") or {})
            if p.get("cancel"):
                view["cancelled_at"] = e.ts
        elif p["type"] in ("redeemed", "forfeited", "liquidated"):
            view["closed_at" if p["type"] != "forfeited" else "forfeited_at"] = e.ts
    view["events"] = events
    view["money"] = interest.money_state(first.payload, payloads, on or today_vn())
    view["paid_vnd"] = view["money"]["paid_vnd"]
    view["photos"] = photo_kinds()
    return view


def search_result(row: dict, entry: Entry | None) -> dict:
    """One search result: the pawn-book ``row`` with the pawner's name and ID number and the items from its
    contract ``entry`` (None: damaged, then without them)."""
    p = entry.payload if entry is not None else {}
    pawner = p.get("pawner") or {}
    return {
        "id": row["id"],
        "contract_no": row["contract_no"],
        "created_at": row["created_at"],
        "status": row["status"],
        "flagged": row["flagged"],
        "demo": row["demo"],
        "due_date": row["due_date"],
        "pawner_name": pawner.get("full_name"),
        "pawner_id_number": pawner.get("id_number"),
        "items": [i.get("description", "") for i in p.get("items", [])],
        "loan_vnd": row["loan_vnd"],
        "corrected": row["corrected"],
        "damaged": entry is None,
    }
