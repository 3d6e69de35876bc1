"""One person's file at the shop (hồ sơ khách hàng): contracts, payments, late payments, flags, notes.

A person is known to the shop by the ID number on their card; the file names them by its ``subject``: the
ledger's blind index of that number (``sealer.blind("id", digits)``, the very term the pawn book indexes
contracts under, :mod:`verifier.ledger.pawn_search`), so a URL or a log line never carries the number itself.
A file is found from a scan (the chip's ID number), by ID number, or by name (whole words, accents optional:
the pawn book's search terms; a name may match several people, each listed with their subject).

The file, from the ledger's entries (:mod:`verifier.ledger.pawn_records`):

* ``contracts``: every contract of the person, with its status and money state on the day;
* ``payments``: every money event on them (interest, principal, fees, sales; what crossed the counter);
* ``late``: money events recorded after the due date then in force, and contracts overdue now;
* ``flags``: contracts flagged suspicious (báo nghi vấn), ``suspicious`` events, and police holds on the person's
  items (:meth:`verifier.ledger.holds.PoliceBook.holds`, active or released);
* ``notes``: the shop's notes on the person, each a ledger ``event`` entry ``{"type": "customer_note", "subject",
  "text", "by": {"user", "role"}, "at"}`` (nothing is edited or deleted: a note is corrected by another note).

Notes are found through a projection (table ``customer_notes``: subject, seq) written inside each note's write
(:class:`CustomerNotes`) and caught up from the chain (:mod:`verifier.ledger.projection`). The file carries
personal data (Decree 13/2023/NĐ-CP): the caller logs the access.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from verifier.errors import InputError
from verifier.ledger import projection
from verifier.ledger.entry import Entry, utc_now
from verifier.ledger.holds import PoliceBook
from verifier.ledger.interest import event_day
from verifier.ledger.pawn_records import Record, has_money, money_of, read, records
from verifier.ledger.pawn_search import id_search, norm_id, query_terms

NOTE_TYPE = "customer_note"
#: Longest note (characters).
MAX_NOTE = 2000
#: Event types of a contract shown among a person's flags.
FLAG_TYPES = ("suspicious",)

SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS customer_notes (subject TEXT NOT NULL, seq INTEGER NOT NULL PRIMARY KEY);
    CREATE INDEX IF NOT EXISTS customer_notes_subject ON customer_notes (subject);
    """,
)


def subject_of(blind, id_number: str) -> str:
    """The subject of a whole ID number (12 digits CCCD, 9 CMND); :class:`~verifier.ledger.pawn_search.BadSearch`
    for anything else (a tail names no one person)."""
    kind, digits = id_search(id_number)
    if kind != "id":
        raise InputError("id_number: a customer file needs the whole ID number (12 or 9 digits), not its tail")
    return blind("id", digits)


def is_flag(event_type: str | None) -> bool:
    return event_type in FLAG_TYPES


class CustomerNotes:
    """The ``customer_note`` entries of a ledger, indexed by subject (a projection, caught up from the chain)."""

    def __init__(self, ledger) -> None:
        self.ledger = ledger
        projection.attach(ledger, "customer_notes", SCHEMA, self.project, kinds=("event",))

    @staticmethod
    def project(conn: sqlite3.Connection, entry: Entry) -> None:
        p = entry.payload
        if entry.kind == "event" and p.get("type") == NOTE_TYPE and p.get("subject"):
            conn.execute("INSERT OR IGNORE INTO customer_notes (subject, seq) VALUES (?, ?)", (p["subject"], entry.seq))

    def add(self, subject: str, text: str, *, user: str, role: str, demo: bool = False) -> dict:
        """Record a note on ``subject``; ``{"seq", "ts", "subject"}``. :class:`InputError` for an empty or long text."""
        text = (text or "").strip()
        if not text or len(text) > MAX_NOTE:
            raise InputError(f"note: expected 1-{MAX_NOTE} characters, found {len(text)}")
        if not isinstance(subject, str) or len(subject) != 32 or not all(c in "0123456789abcdef" for c in subject):
            raise InputError("subject: expected the 32 hex digits of a customer file's subject")
        payload = {"type": NOTE_TYPE, "subject": subject, "text": text, "by": {"user": user, "role": role}, "at": utc_now()}
        entry = self.ledger.append("event", payload, demo=demo)
        return {"seq": entry.seq, "ts": entry.ts, "subject": subject}

    def seqs(self, subject: str) -> list[int]:
        return [r[0] for r in self.ledger.reader().execute(
            "SELECT seq FROM customer_notes WHERE subject = ? ORDER BY seq", (subject,))]


def find_people(book, *, id_number: str | None = None, name: str | None = None) -> list[dict]:
    """The people whose contracts match an ID number (whole, or its last 4-6 digits) or name words: one per ID
    number, ``{subject, full_name, id_number, date_of_birth, contracts}``, most contracts first."""
    if not id_number and not name:
        raise InputError("search: give an ID number or a name")
    blind = book.ledger.sealer.blind
    people: dict[str, dict] = {}
    for rec in records(book, terms=query_terms(blind, id_number=id_number, name=name, serial=None)):
        number = norm_id(rec.pawner.get("id_number") or "")
        if not number:
            continue
        subject = blind("id", number)
        person = people.setdefault(subject, {"subject": subject, "full_name": rec.pawner.get("full_name"),
                                             "id_number": rec.pawner.get("id_number"),
                                             "date_of_birth": rec.pawner.get("date_of_birth"), "contracts": 0})
        person["contracts"] += 1
    return sorted(people.values(), key=lambda p: (-p["contracts"], p["full_name"] or ""))


def _contract(rec: Record, on: date) -> dict:
    money = rec.money(on) if rec.contract is not None else None
    return {"id": rec.row["id"], "contract_no": rec.row["contract_no"], "created_at": rec.row["created_at"],
            "status": rec.row["status"], "flagged": rec.row["flagged"], "due_date": rec.row["due_date"],
            "loan_vnd": rec.row["loan_vnd"], "items": [i.get("description", "") for i in rec.items()],
            "money": money, "damaged": rec.contract is None}


def _due_dates(rec: Record) -> list[tuple[int, str]]:
    """(seq from which it holds, due date) for the contract and each extension."""
    out = [(rec.contract.seq, rec.payload.get("due_date"))]
    out += [(e.seq, e.payload["new_due_date"]) for e in rec.events if e.payload.get("new_due_date")]
    return out


def customer_file(book, notes: CustomerNotes, subject: str, on: date) -> dict | None:
    """The file of ``subject`` on the local day ``on`` (None when the shop has neither a contract nor a note on
    them)."""
    recs = records(book, terms=[subject])
    note_seqs = notes.seqs(subject)
    if not recs and not note_seqs:
        return None
    latest = next((r for r in reversed(recs) if r.contract is not None), None)
    pawner = latest.pawner if latest is not None else {}
    person = {"full_name": pawner.get("full_name"), "id_number": pawner.get("id_number"),
              "date_of_birth": pawner.get("date_of_birth"), "sex": pawner.get("sex"),
              "address": (latest.payload.get("current_address") if latest else None) or pawner.get("place_of_residence"),
              "phone": next((r.payload["pawner_phone"] for r in reversed(recs) if r.payload.get("pawner_phone")), None)}
    payments, late, flags = [], [], []
    police = PoliceBook.of(book.ledger)
    for rec in recs:
        if rec.contract is None:
            continue
        dues = _due_dates(rec)
        if rec.row["flagged"]:
            flags.append({"contract_no": rec.row["contract_no"], "type": "flagged", "ts": None, "reason": None})
        for hold in police.holds(rec.row["id"], active_only=False):
            flags.append({"contract_no": rec.row["contract_no"], "type": "police_hold", "ts": hold["received_at"],
                          "reason": hold["reason"], "active": hold["active"], "until": hold.get("until")})
        for e in rec.events:
            p = e.payload
            if is_flag(p.get("type")):
                flags.append({"contract_no": rec.row["contract_no"], "type": p["type"], "ts": e.ts, "reason": p.get("reason")})
            if not has_money(e):
                continue
            m = money_of(e)
            due = max((d for s, d in dues if s < e.seq), default=None)
            day = event_day(p)
            day = day.isoformat() if day else None
            payment = {"contract_no": rec.row["contract_no"], "seq": e.seq, "ts": e.ts, "type": p.get("type"), "day": day,
                       "due_date": due, **{k: v for k, v in m.items() if k.endswith("_vnd")}}
            payments.append(payment)
            if due and day and day > due:
                late.append({**payment, "days_late": (date.fromisoformat(day) - date.fromisoformat(due)).days})
        if rec.row["status"] == "active" and rec.row["due_date"] < on.isoformat():
            late.append({"contract_no": rec.row["contract_no"], "seq": None, "ts": None, "type": "overdue_now",
                         "day": on.isoformat(), "due_date": rec.row["due_date"],
                         "days_late": (on - date.fromisoformat(rec.row["due_date"])).days})
    note_entries = [e for e in read(book, note_seqs).values() if e is not None]
    return {"subject": subject, "as_of": on.isoformat(), "person": person,
            "contracts": [_contract(r, on) for r in reversed(recs)], "payments": payments, "late": late, "flags": flags,
            "notes": [{"seq": e.seq, "ts": e.ts, "text": e.payload.get("text"), "by": (e.payload.get("by") or {}).get("user")}
                      for e in note_entries]}
