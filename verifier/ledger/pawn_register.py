"""The pawn register (sổ theo dõi hoạt động kinh doanh dịch vụ cầm đồ) for a period, as police inspections ask for it.

Decree 96/2016/NĐ-CP art. 29 (as amended by Decree 56/2023/NĐ-CP) obliges a pawnshop to keep a register of every
pawn, with the pawner's identity, the item and what identifies it, its value, the loan, the rate, the term and
the outcome, and to show it to the police on inspection. One row per contract signed in the period, in the
order they were recorded (số thứ tự), with:

``no`` (số TT), ``ts`` (ngày giờ cầm: the entry's time, shown in Vietnam local time, labelled), ``full_name`` (họ
tên), ``birth_year`` (năm sinh), ``id_number`` (số CCCD/CMND, with the old number when typed), ``residence`` (nơi
cư trú: the current address typed by the clerk, else the card's place of residence), ``items`` (tên tài sản),
``identifiers`` (đặc điểm: serial, IMEI, số khung, số máy, biển số), ``valuation_vnd`` (giá trị định giá),
``loan_vnd`` (số tiền cầm), ``rate_year_pct`` and ``rate_input`` (lãi suất, as typed), ``term_days`` and ``due_date``
(thời hạn), ``outcome`` and ``outcome_ts`` (ngày chuộc / thanh lý / mất quyền chuộc / hủy), ``notes`` (ghi chú:
the contract's notes, corrections, reports to the police).

Built from the ledger's entries (:mod:`verifier.ledger.pawn_records`): a corrected field shows its corrected
value and the row says it was corrected; a contract whose entry cannot be read keeps its row from the clear
columns, marked damaged. The rows carry personal data: the caller logs the access.
"""

from __future__ import annotations

from datetime import date

from verifier.ledger.pawn_records import Record, day_bounds, records
from verifier.ledger.pawn_view import contract_view

#: Item fields that identify it (đặc điểm), in the order the register shows them.
IDENTIFYING = ("imei", "serial", "frame_no", "engine_no", "plate", "material", "weight")
#: Events that end a pawn (the register's ngày chuộc / thanh lý column).
OUTCOMES = ("redeemed", "liquidated", "forfeited")


def identifiers(item: dict) -> dict:
    return {k: item[k] for k in IDENTIFYING if item.get(k)}


def register_row(no: int, rec: Record) -> dict:
    """Row ``no`` of the register: contract ``rec``, its corrections applied."""
    base = {"no": no, "id": rec.row["id"], "contract_no": rec.row["contract_no"], "ts": rec.row["created_at"],
            "status": rec.row["status"], "flagged": rec.row["flagged"], "corrected": rec.row["corrected"],
            "damaged": rec.contract is None}
    if rec.contract is None:
        return {**base, "full_name": None, "birth_year": None, "id_number": None, "old_id_number": None, "residence": None,
                "items": [], "valuation_vnd": None, "loan_vnd": rec.row["loan_vnd"], "rate_year_pct": None, "rate_input": None,
                "term_days": None, "due_date": rec.row["due_date"], "outcome": None, "outcome_ts": None, "notes": [],
                "events": []}
    seqs = [rec.contract.seq] + [e.seq for e in rec.events]
    view = contract_view(rec.row, seqs, {e.seq: e for e in [rec.contract, *rec.events]}, lambda: [])
    pawner = view.get("pawner") or {}
    outcome = next((e for e in reversed(rec.events) if e.payload.get("type") in OUTCOMES), None)
    cancel = next((e for e in rec.events if e.payload.get("type") == "correction" and e.payload.get("cancel")), None)
    notes = [view["notes"]] if view.get("notes") else []
    events = [{"type": e.payload.get("type"), "ts": e.ts, "reason": e.payload.get("reason")} for e in rec.events
              if e.payload.get("type") in ("correction", "suspicious")]
    return {**base, "full_name": pawner.get("full_name"), "birth_year": (pawner.get("date_of_birth") or "")[:4] or None,
            "id_number": pawner.get("id_number"), "old_id_number": view.get("old_id_number") or pawner.get("old_id_number"),
            "residence": view.get("current_address") or pawner.get("place_of_residence"),
            "items": [{"description": i.get("description", ""), "category": i.get("category"), **identifiers(i)}
                      for i in view.get("items") or []],
            "valuation_vnd": view.get("valuation_vnd"), "loan_vnd": view.get("loan_vnd"),
            "rate_year_pct": view.get("interest_rate_year_pct"), "rate_input": view.get("rate_input"),
            "term_days": view.get("term_days"), "due_date": rec.row["due_date"],
            "outcome": "cancelled" if cancel else (outcome.payload["type"] if outcome else None),
            "outcome_ts": cancel.ts if cancel else (outcome.ts if outcome else None), "notes": notes, "events": events}


def pawn_register(book, start: date, end: date) -> dict:
    """The register of the contracts recorded on the local days ``start`` to ``end`` (both whole):
    ``{from, to, rows}``, rows in the order recorded (number 1, 2, ...)."""
    chosen = sorted(records(book, created=day_bounds(start, end)), key=lambda r: r.row["seq"])
    return {"from": start.isoformat(), "to": end.isoformat(),
            "rows": [register_row(n, rec) for n, rec in enumerate(chosen, 1)]}
