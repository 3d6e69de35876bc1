"""The pawn book read back from the chain for the shop's reports (due lists, cash book, register, customer file).

The chain is the record: every figure of a report comes from decrypted ledger entries, read through the
ledger's reader the way the counter reads a contract (:func:`verifier.ledger.pawn_view.read_entries`: an
entry that cannot be read, or that :class:`~verifier.ledger.verify.DamageWatch` names as bad, is left out
and reported as damaged, never fatal). The pawn book's projection (:mod:`verifier.ledger.pawn_store`) only
says which entries belong to which contract.

What crossed the counter is each entry's ``money`` block (the agreed money schema: ``cash_in_vnd``,
``cash_out_vnd``, ``interest_vnd``, ``principal_in_vnd``, ``principal_out_vnd``, ``fees_vnd``, ``sale_vnd``,
``surplus_vnd``, ``interest_to``); a contract (``transaction`` entry, ``type: pawn_contract``) counts as the
loan paid out and the fees taken at signing (:func:`money_of`). The records carry personal data: the caller
logs the access (``ledger.log_access``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from verifier.ledger import interest
from verifier.ledger.entry import Entry, utc_bound
from verifier.ledger.pawn_events import TRANSITIONS, status_after
from verifier.ledger.pawn_view import read_entries
from verifier.local_time import VN_TZ, parse_utc

#: Entries decrypted per query (SQLite's bound-parameter limit is far above).
CHUNK = 2000
#: The money fields of an event's ``money`` block (whole đồng); missing ones are 0.
MONEY_FIELDS = interest.AMOUNT_KEYS


@dataclass
class Record:
    """One contract: its pawn-book row (clear columns), its contract entry (None: damaged) and its readable
    events in seq order."""

    row: dict
    contract: Entry | None
    events: list[Entry] = field(default_factory=list)
    damaged_seqs: list[int] = field(default_factory=list)

    @property
    def payload(self) -> dict:
        return self.contract.payload if self.contract is not None else {}

    @property
    def pawner(self) -> dict:
        return self.payload.get("pawner") or {}

    def status_at(self, last_seq: int | None = None) -> str:
        """The contract's status after its entries up to ``last_seq`` (all: the pawn book's status), by the
        transitions of :mod:`verifier.ledger.pawn_events`."""
        if last_seq is None:
            return self.row["status"]
        status = "active"
        for e in self.events:
            if e.seq > last_seq:
                break
            if e.payload.get("type") in TRANSITIONS:
                status = status_after(e.payload) or status
        return status

    def event_payloads(self, last_seq: int | None = None) -> list[dict]:
        return [e.payload for e in self.events if last_seq is None or e.seq <= last_seq]

    def principal_at(self, last_seq: int | None = None) -> int:
        """Outstanding principal after the entries up to ``last_seq`` (:func:`verifier.ledger.interest.fold`)."""
        return interest.fold(self.payload, self.event_payloads(last_seq)).principal

    def money(self, on: date) -> dict:
        """The contract's ``money`` block on day ``on`` (:func:`verifier.ledger.interest.money_state`)."""
        return interest.money_state(self.payload, self.event_payloads(), on)

    def items(self) -> list[dict]:
        """The items, as corrected by the last correction that changed them."""
        items = self.payload.get("items") or []
        for e in self.events:
            if e.payload.get("type") == "correction" and "items" in (e.payload.get("fields") or {}):
                items = e.payload["fields"]["items"]
        return list(items)


def money_of(entry: Entry) -> dict:
    """What ``entry`` moved, every :data:`MONEY_FIELDS` key present (0 when not), plus ``interest_to``.

    A contract: the loan out and the fees taken at signing (:func:`verifier.ledger.interest.contract_money`). An
    event: its ``money`` block (an event without one moved nothing)."""
    p = entry.payload
    if entry.kind == "transaction" and p.get("type") == "pawn_contract":
        m = interest.contract_money(p)
    else:
        m = p.get("money") if entry.kind == "event" else None
    m = m if isinstance(m, dict) else {}
    out = {k: _int(m.get(k)) for k in MONEY_FIELDS}
    out["interest_to"] = m.get("interest_to")
    return out


def has_money(entry: Entry) -> bool:
    """Whether ``entry`` is a money movement (a contract, or an event with a ``money`` block)."""
    p = entry.payload
    return (entry.kind == "transaction" and p.get("type") == "pawn_contract") or (
        entry.kind == "event" and isinstance(p.get("money"), dict))


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def read(book, seqs: list[int]) -> dict[int, Entry | None]:
    """Entries at ``seqs`` (None: damaged), decrypted in chunks (:func:`read_entries`)."""
    out: dict[int, Entry | None] = {}
    for i in range(0, len(seqs), CHUNK):
        out.update(read_entries(book.ledger, book.damage, seqs[i:i + CHUNK]))
    return out


def records(book, *, status: str | None = None, terms: list | None = None,
            created: tuple[str, str] | None = None) -> list[Record]:
    """Contracts of the pawn book ``book`` (:class:`verifier.ledger.pawn.PawnBook`), oldest first: all, those of a
    stored ``status``, those holding the blind search ``terms`` (:func:`verifier.ledger.pawn_search.query_terms`),
    those recorded between the UTC texts ``created``."""
    lo, hi = created or (None, None)
    rows, _ = book.store.find(terms or [], status=status, created_from=lo, created_to=hi, limit=10**9)
    rows.reverse()
    seqs_of = {r["id"]: book.store.entry_seqs(r["id"]) for r in rows}
    read_ = read(book, [s for seqs in seqs_of.values() for s in seqs])
    out = []
    for r in rows:
        seqs = seqs_of[r["id"]] or [r["seq"]]
        first = read_.get(seqs[0])
        contract = first if first is not None and first.payload.get("type") == "pawn_contract" else None
        events = [read_[s] for s in seqs[1:] if read_.get(s) is not None]
        out.append(Record(r, contract, events, [s for s in seqs if read_.get(s) is None]))
    return out


def day_bounds(start: date, end: date) -> tuple[str, str]:
    """The UTC text bounds of the local (Vietnam) days ``start`` to ``end``, both whole."""
    return utc_bound(start.isoformat(), start=True), utc_bound(end.isoformat(), start=False)


def iter_entries(book, lo: int, hi: int):
    """``(seq, entry or None)`` for seqs ``lo`` to ``hi`` in order, decrypted a chunk at a time (a long ledger is
    never held in memory at once)."""
    for start in range(lo, hi + 1, CHUNK):
        found = read(book, list(range(start, min(hi, start + CHUNK - 1) + 1)))
        yield from found.items()


def seqs_between(book, start: date, end: date) -> tuple[int, int] | None:
    """First and last seq recorded on the local days ``start`` to ``end`` (both whole); None when none."""
    lo, hi = book.ledger.seq_range(*day_bounds(start, end))
    return None if lo is None else (lo, hi)


def entries_between(book, start: date, end: date) -> tuple[list[Entry], list[int]]:
    """The entries recorded on the local days ``start`` to ``end`` (both whole), in seq order, and the seqs in
    that range that could not be read (damaged)."""
    span = seqs_between(book, start, end)
    if span is None:
        return [], []
    found = list(iter_entries(book, *span))
    return [e for _, e in found if e is not None], [s for s, e in found if e is None]


def last_seq_before(book, start: date) -> int:
    """The last seq recorded before the local day ``start`` (0: none)."""
    first_of_day = book.ledger.seq_range(utc_bound(start.isoformat(), start=True), "9999")[0]
    return first_of_day - 1 if first_of_day is not None else book.ledger.head()[0]


def local_day(ts: str) -> date:
    """The Vietnam day of an entry's UTC time."""
    return parse_utc(ts).astimezone(VN_TZ).date()


def local_datetime(ts: str) -> datetime:
    """An entry's UTC time as a naive Vietnam local datetime (for spreadsheets, labelled in the header)."""
    return parse_utc(ts).astimezone(VN_TZ).replace(tzinfo=None)


def clerk_of(entry: Entry) -> str:
    """Who recorded ``entry``: a contract's ``created_by.user``, an event's ``by.user``."""
    p = entry.payload
    who = p.get("created_by") if entry.kind == "transaction" else p.get("by")
    return str((who or {}).get("user") or "")
