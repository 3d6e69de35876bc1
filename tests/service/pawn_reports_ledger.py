"""A crafted pawn ledger for the report tests: contracts and money events appended through the real ledger
(encrypted, chained, projected by the real pawn book) with the agreed money schema's payloads, at chosen times.

The entry time is the ledger's clock (``verifier.ledger.chain.utc_now``); :class:`Shop` sets it per entry so a
test can put entries on either side of a local midnight. Nothing else is faked."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from verifier.ledger import chain as chain_module
from verifier.ledger.entry import utc_text
from verifier.ledger.interest import quote
from verifier.local_time import VN_TZ

PEOPLE = {
    "an": {"id_number": "079090001234", "full_name": "Nguyễn Văn An", "date_of_birth": "1990-03-15", "sex": "M",
           "place_of_residence": "123 Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh"},
    "binh": {"id_number": "001085004321", "full_name": "Trần Thị Bình", "date_of_birth": "1985-11-02", "sex": "F",
             "place_of_residence": "45 Hàng Bạc, Hoàn Kiếm, Hà Nội"},
    "cuong": {"id_number": "048075009999", "full_name": "Lê Cường", "date_of_birth": "1975-01-20", "sex": "M",
              "place_of_residence": "7 Bạch Đằng, Hải Châu, Đà Nẵng"},
}

ITEMS = {
    "phone": {"description": "Điện thoại iPhone 13 128GB", "category": "phone", "imei": "490154203237518", "serial": "F2LXK0ABCD12"},
    "bike": {"description": "Xe máy Honda Wave Alpha", "category": "motorbike", "frame_no": "RLHJA3900KY123456",
             "engine_no": "JA39E1234567", "plate": "59-X1 123.45"},
    "ring": {"description": "Nhẫn vàng 18K", "category": "jewelry", "material": "vàng 18K", "weight": "2 chỉ"},
    "laptop": {"description": "Máy tính Dell XPS 13", "category": "laptop", "serial": "DLX13-99887766"},
}


def local(text: str) -> datetime:
    """'2026-03-10 23:30' in Vietnam time."""
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


class Shop:
    """Appends entries to ``book``'s ledger at the local times given (``at``)."""

    def __init__(self, book, monkeypatch) -> None:
        self.book, self.monkeypatch, self.number = book, monkeypatch, 0
        self.contracts: dict[str, dict] = {}
        self.events: dict[str, list[dict]] = {}

    def _at(self, at: datetime):
        self.monkeypatch.setattr(chain_module, "utc_now", lambda: utc_text(at.astimezone(timezone.utc)))

    def contract(self, at: datetime, person: str = "an", items=("phone",), *, loan: int = 10_000_000, rate: float = 18.5,
                 term: int = 30, fees: int = 0, clerk: str = "hoa", valuation: int | None = None, phone: str | None = None,
                 start: date | None = None, notes: str = "") -> dict:
        self.number += 1
        start = start or at.astimezone(VN_TZ).date()
        payload = {
            "type": "pawn_contract", "id": str(uuid.uuid4()), "number": self.number,
            "contract_no": f"HĐ-{start.year}-{self.number:06d}", "created_by": {"user": clerk, "role": "clerk"},
            "pawner": dict(PEOPLE[person]), "items": [dict(ITEMS[i]) for i in items],
            "ownership_evidence": "", "valuation_vnd": valuation or loan * 3 // 2, "loan_vnd": loan,
            "interest_rate_year_pct": rate, "rate_input": {"value": str(rate), "unit": "year_pct"}, "term_days": term,
            "fees_vnd": fees, "start_date": start.isoformat(), "due_date": (start + timedelta(days=term)).isoformat(),
            "notes": notes,
        }
        if phone:
            payload["pawner_phone"] = phone
        self._at(at)
        entry = self.book.ledger.append("transaction", payload, demo=True)
        self.contracts[payload["id"]] = entry.payload
        self.events[payload["id"]] = []
        return entry.payload

    def event(self, contract: dict, event_type: str, at: datetime, *, clerk: str = "hoa", **quote_args) -> dict:
        """A money event as the money engineer's quote computes it for the local day of ``at``."""
        txn = contract["id"]
        q = quote(self.contracts[txn], self.events[txn], event_type, at.astimezone(VN_TZ).date(), **quote_args)
        payload = {"type": event_type, "txn_id": txn, "by": {"user": clerk, "role": "clerk"},
                   "at": utc_text(at.astimezone(timezone.utc)), "money": q["money"]}
        if "new_due_date" in q:
            payload.update(new_due_date=q["new_due_date"], extend_days=quote_args.get("extend_days"))
        return self.raw_event(contract, payload, at)

    def raw_event(self, contract: dict, payload: dict, at: datetime) -> dict:
        self._at(at)
        entry = self.book.ledger.append("event", payload, demo=True)
        self.events[contract["id"]].append(entry.payload)
        return entry.payload


def early_today(book, monkeypatch) -> Shop:
    """Today's business just after local midnight: An pawns a phone and a ring (12.000.000 ₫, 150.000 ₫ fees, clerk
    hoa) and pays 2.000.000 ₫ back, Bình pawns a motorbike (20.000.000 ₫, clerk lan): 32.000.000 ₫ lent,
    2.150.000 ₫ received. ``monkeypatch`` is undone afterwards: the ledger's real clock again for what comes next."""
    today = datetime.now(VN_TZ).date().isoformat()
    shop = Shop(book, monkeypatch)
    a = shop.contract(local(f"{today} 00:05"), "an", ("phone", "ring"), loan=12_000_000, fees=150_000, clerk="hoa")
    shop.contract(local(f"{today} 00:10"), "binh", ("bike",), loan=20_000_000, clerk="lan")
    shop.event(a, "partial_payment", local(f"{today} 00:20"), amount_vnd=2_000_000, clerk="hoa")
    monkeypatch.undo()
    return shop


def open_book(data_dir):
    """A real ledger (keys created beside it) and its pawn book."""
    from verifier.ledger.pawn import PawnBook
    from verifier.ledger.store import Ledger

    ledger = Ledger.open(data_dir)
    return ledger, PawnBook(ledger)
