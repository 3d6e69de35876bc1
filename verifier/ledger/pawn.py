"""The pawn book: contracts and their lifecycle events, as ledger entries (:class:`PawnBook`).

A contract is a ``transaction`` entry (payload ``type: pawn_contract``); everything after is
an ``event`` entry (``interest_paid``, ``partial_payment``, ``principal_added``, ``extended``, ``redeemed``,
``forfeited``, ``liquidated``, ``correction``, ``suspicious``); a money event carries the amounts the server
computed inside its write (:mod:`verifier.ledger.interest`). Nothing is edited or deleted in place: the
current state of a contract is the fold of its entries. The fields follow the pawn ledger of
Decree 96/2016/NĐ-CP art. 29 (pawner identity, item and ownership evidence, value, loan,
rate, dates, outcome).

This module is the facade; each job has its own module:

* :mod:`verifier.ledger.admission`: who may record a contract from which scan (verdict, face
  decision, manager override), the legal rate cap; :class:`~verifier.ledger.admission.ContractRefused`;
* :mod:`verifier.ledger.pawn_contract`: the contract payload from a typed scan, its number, retry key
  and answer;
* :mod:`verifier.ledger.pawn_events`: event types, status transitions, corrections (manager-only), each
  money event's amounts and their confirmation;
* :mod:`verifier.ledger.interest`: rate units, the cap with fees, interest per day, the money state, quotes;
* :mod:`verifier.ledger.pawn_search`: blind-index terms and search (ID number, tail, serial, folded
  name words); :class:`~verifier.ledger.pawn_search.BadSearch`;
* :mod:`verifier.ledger.pawn_view`: a contract folded from its entries, damaged entries marked;
* :mod:`verifier.ledger.pawn_store`: the tables and every SQL query;
* :mod:`verifier.ledger.idempotency`: client Idempotency-Key answers, checked inside the write.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from verifier.errors import NotFoundError, TamperError
from verifier.ledger.admission import ContractRefused, admit, check_loan, contract_rate
from verifier.ledger.entry import Entry, utc_bound, utc_now, utc_text
from verifier.ledger.idempotency import IdempotencyKeys, Replayed, Request
from verifier.ledger.pawn_contract import contract_no, contract_payload, created, recovered, retry_key, today_vn
from verifier.ledger.pawn_events import (EVENT_TYPES, MONEY_EVENTS, check_event_type, check_transition, event_money,
                                         event_payload, status_after)
from verifier.ledger.pawn_search import check_status, index_tails, index_terms, query_terms
from verifier.ledger.pawn_store import PawnStore
from verifier.ledger.pawn_view import contract_view, read_entries, search_result
from verifier.ledger.store import Ledger
from verifier.ledger.verify import DamageWatch
from verifier.results import FaceDecision, ScanResult, is_demo


class PawnBook:
    """Contracts over a :class:`Ledger`; registers its projection on the ledger's write path."""

    def __init__(self, ledger: Ledger, *, max_rate: float = 20.0, prefix: str = "HĐ") -> None:
        self.ledger = ledger
        self.max_rate = float(max_rate)
        self.prefix = prefix
        self.store = PawnStore(ledger)  # the tables and queries (verifier/ledger/pawn_store.py)
        self.keys = IdempotencyKeys(ledger)  # client Idempotency-Key answers (verifier/ledger/idempotency.py)
        self.damage = DamageWatch(ledger)  # a damaged ledger: loud, not fatal (verifier/ledger/verify.py)
        #: Checks run inside the write of every event, after its status transition: ``guard(conn, txn_id, payload)``
        #: raises :class:`~verifier.ledger.admission.ContractRefused` to refuse it (a police hold, for one).
        self.guards: list[Callable[[sqlite3.Connection, str, dict], None]] = []
        #: Called on every contract view :meth:`get` returns: ``annotate(txn_id, view)`` adds to it (a police hold).
        self.annotations: list[Callable[[str, dict], None]] = []
        if self._project not in ledger.projectors:
            ledger.projectors.append(self._project)
        ledger.write(self.index_tails)

    @classmethod
    def from_config(cls, ledger: Ledger, cfg: Any) -> "PawnBook":
        return cls(ledger, max_rate=cfg["pawn.max_interest_rate_year_pct"], prefix=cfg["pawn.contract_prefix"])

    # --- the projection (runs inside the entry's write transaction) --------------------
    def index_tails(self, conn: sqlite3.Connection) -> None:
        """Once per ledger: the search tails of contracts recorded before tails were indexed (:func:`index_tails`)."""
        index_tails(conn, self.ledger, self.store)

    def _project(self, conn: sqlite3.Connection, entry: Entry) -> None:
        p = entry.payload
        kind = p.get("type")
        blind = self.ledger.sealer.blind
        if entry.kind == "transaction" and kind == "pawn_contract":
            self.store.record_contract(conn, entry, index_terms(blind, p))
        elif entry.kind == "event" and kind in EVENT_TYPES:
            corrected_items = kind == "correction" and "items" in (p.get("fields") or {})
            self.store.record_event(conn, p["txn_id"], entry.seq, status=status_after(p),
                                    due_date=p["new_due_date"] if kind == "extended" else None, flagged=kind == "suspicious",
                                    corrected=kind == "correction",
                                    terms=index_terms(blind, {"items": p["fields"]["items"]}) if corrected_items else set())

    # --- writing -------------------------------------------------------------------------
    def create(
        self,
        scan: ScanResult,
        form: dict,
        *,
        user: str,
        role: str,
        face: FaceDecision | None,
        face_confirmed_by: str | None = None,
        override_reason: str | None = None,
        photos: dict[str, bytes] | None = None,
        scan_id: str | None = None,
        demo: bool | None = None,
        idempotency: Request | None = None,
    ) -> dict:
        """Record a contract from a finished scan. Raises :class:`~verifier.ledger.admission.ContractRefused`
        when a rule forbids it (:func:`~verifier.ledger.admission.admit`). ``demo`` (default: the scan's and the
        face decision's, :func:`is_demo`) marks the entry. With ``idempotency`` (a client key,
        :mod:`verifier.ledger.idempotency`), a request already answered gets that answer, checked and recorded
        inside the write so two concurrent requests make one contract."""
        rate, rate_input = contract_rate(form, self.max_rate)  # as typed (rate_input), capped with its fees
        check_loan(form)
        override = admit(scan, face, user=user, role=role, face_confirmed_by=face_confirmed_by,
                         override_reason=override_reason)
        demo = is_demo(scan, face) if demo is None else is_demo(demo, scan, face)
        start = today_vn()
        photos = photos or {}
        payload = contract_payload(scan, face, form, user=user, role=role, face_confirmed_by=face_confirmed_by,
                                   override=override, photos=photos, scan_id=scan_id, demo=demo, rate=rate,
                                   start=start).to_json()
        if rate_input is not None:
            payload["rate_input"] = rate_input
        year = start.year
        prefix = self.prefix

        def prepare(conn: sqlite3.Connection, body: dict) -> dict:
            self.keys.check(conn, idempotency)
            number = self.store.next_number(conn)
            body["number"] = number
            body["contract_no"] = contract_no(prefix, year, number)
            return body

        def store_photos(conn: sqlite3.Connection, entry: Entry) -> None:
            for kind, data in photos.items():
                if data:
                    self.store.store_photo(conn, entry.payload["id"], kind, data, entry.ts)
            self.keys.record(conn, idempotency, 201, created(entry))

        # The same contract sent again (a clerk's retry after "the ledger failed") has the same retry key: if its
        # first append was reported as failed but came back from the write-ahead log at restart, the retry gets it.
        key = retry_key(self.ledger.sealer.blind, payload)
        earlier = self.ledger.claim_recovered(key)
        if earlier is not None:
            return recovered(earlier)
        try:
            entry = self.ledger.append("transaction", payload, demo=demo, prepare=prepare, also=store_photos,
                                       retry_key=key)
        except Replayed as r:  # the same key was answered while this request waited
            return r.answer.body
        return created(entry)

    def add_event(self, txn_id: str, event_type: str, body: dict, *, user: str, role: str,
                  idempotency: Request | None = None) -> dict:
        """Record a lifecycle event (:mod:`verifier.ledger.pawn_events`). A ``correction`` (đính chính, with
        ``fields``; or hủy, ``cancel: true``, which makes the contract ``cancelled``) is a manager's, with a
        written reason; the ledger is not edited. A money event's amounts are computed inside the write from the
        contract's entries at that moment (:func:`~verifier.ledger.pawn_events.event_money`) and must be what the
        clerk confirmed (``body["expected"]``), else ``amount_changed`` and nothing is recorded."""
        check_event_type(event_type)
        row = self.store.contract(txn_id)
        if row is None:
            raise NotFoundError(f"no contract {txn_id!r}")
        payload = event_payload(txn_id, event_type, body, user=user, role=role, max_rate=self.max_rate)
        expected = body.get("expected")

        def prepare(conn: sqlite3.Connection, p: dict) -> dict:
            self.keys.check(conn, idempotency)
            check_transition(p, self.store.status_in(conn, txn_id))
            for guard in self.guards:  # before the money: a held item is refused before any cash is asked
                guard(conn, txn_id, p)
            if event_type in MONEY_EVENTS:
                contract, events = self._payloads(self.store.entries_in(conn, txn_id))
                p = event_money(p, contract, events, today_vn(), max_rate=self.max_rate, expected=expected)
            p["at"] = utc_now()
            return p

        def answer(e: Entry) -> dict:
            out = {"seq": e.seq, "type": event_type, "txn_id": txn_id, "ts": e.ts}
            if "money" in e.payload:
                out["money"] = e.payload["money"]
            return out

        try:
            entry = self.ledger.append("event", payload, demo=row["demo"], prepare=prepare,
                                       also=lambda conn, e: self.keys.record(conn, idempotency, 201, answer(e)))
        except Replayed as r:
            return r.answer.body
        return answer(entry)

    @staticmethod
    def _payloads(entries: list[Entry]) -> tuple[dict, list[dict]]:
        """(the contract's payload, its event payloads) from its entries, contract first."""
        if not entries or entries[0].payload.get("type") != "pawn_contract":
            raise TamperError("the contract's first entry is not a pawn contract")
        return entries[0].payload, [e.payload for e in entries[1:]]

    def quote(self, txn_id: str, event_type: str, body: dict, *, user: str, role: str, on: date | None = None) -> dict:
        """What money event ``event_type`` with ``body`` would record on day ``on`` (default today), recording
        nothing: ``{"type", "money", "new_due_date"?}`` (the rules of :func:`~verifier.ledger.pawn_events.event_money`
        apply; the status is not checked)."""
        check_event_type(event_type)
        if event_type not in MONEY_EVENTS:
            raise ContractRefused("unknown_event", f"a quote is for a money event: one of {', '.join(MONEY_EVENTS)}; "
                                  f"found {event_type!r}")
        if self.store.contract(txn_id) is None:
            raise NotFoundError(f"no contract {txn_id!r}")
        payload = event_payload(txn_id, event_type, body, user=user, role=role, max_rate=self.max_rate)
        seqs = self.store.entry_seqs(txn_id)
        contract, events = self._payloads(self.ledger.entries_by_seq(seqs))
        p = event_money(payload, contract, events, on or today_vn(), max_rate=self.max_rate, confirm=False)
        out = {"type": event_type, "money": p["money"]}
        if "new_due_date" in p:
            out["new_due_date"] = p["new_due_date"]
        return out

    # --- reading -------------------------------------------------------------------------
    def get(self, txn_id: str) -> dict | None:
        """The contract folded from its entries (identity decrypted: log the access!). A damaged entry is
        left out and the contract marked ``damaged`` (its first entry damaged: only the clear columns)."""
        row = self.store.contract(txn_id)
        if row is None:
            return None
        seqs = self.store.entry_seqs(txn_id)
        read = read_entries(self.ledger, self.damage, seqs)
        view = contract_view(row, seqs, read, lambda: self.store.photo_kinds(txn_id), on=today_vn())
        for annotate in self.annotations:
            annotate(txn_id, view)
        return view

    def photo(self, txn_id: str, kind: str) -> bytes | None:
        return self.store.photo(txn_id, kind)

    def search(
        self,
        *,
        id_number: str | None = None,
        name: str | None = None,
        serial: str | None = None,
        status: str | None = None,
        flagged: bool | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict], int]:
        """Matching contracts, newest first: summaries with the pawner's name and ID (log the access!).
        The terms: :func:`~verifier.ledger.pawn_search.query_terms`."""
        terms = query_terms(self.ledger.sealer.blind, id_number=id_number, name=name, serial=serial)
        check_status(status)
        rows, total = self.store.find(
            terms, status=status if status != "overdue" else None,
            overdue_on=today_vn().isoformat() if status == "overdue" else None, flagged=flagged,
            created_from=utc_bound(date_from, start=True) if date_from else None,
            created_to=utc_bound(date_to, start=False) if date_to else None, limit=limit, offset=offset,
        )
        entries = read_entries(self.ledger, self.damage, [r["seq"] for r in rows])
        return [search_result(r, entries[r["seq"]]) for r in rows], total

    # --- retention -----------------------------------------------------------------------
    def purge_photos(self, older_than_days: int, now: datetime | None = None) -> int:
        """Delete stored face images older than the retention period (privacy.face_retention_days)."""
        cutoff = utc_text((now or datetime.now(timezone.utc)) - timedelta(days=int(older_than_days)))
        return self.store.purge_photos(cutoff)
