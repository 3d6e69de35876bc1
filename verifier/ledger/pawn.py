"""The pawn book: contracts and their lifecycle events, as ledger entries.

A contract is a ``transaction`` entry (payload ``type: pawn_contract``); everything after is
an ``event`` entry (``redeemed``, ``extended``, ``partial_payment``, ``forfeited``,
``liquidated``, ``correction``, ``suspicious``). Nothing is edited or deleted in place: the
current state of a contract is the fold of its entries. The fields follow the pawn ledger of
Decree 96/2016/NĐ-CP art. 29 (pawner identity, item and ownership evidence, value, loan,
rate, dates, outcome).

Search without plaintext at rest: the projection tables hold only keyed hashes (HMAC,
"blind index") of normalised search terms (ID number, each word of the name, item serials),
so search is by exact ID number, whole words of the name (accents optional) or exact serial,
or by the last 4-6 characters of an ID number or a serial (:data:`TAILS`: a tail term is indexed
for each length, ``id_tail`` and ``serial_tail``). An ID number that cannot be one (letters, a
length other than 9 (CMND), 12 (CCCD) or a tail) is refused (:class:`BadSearch`), never "0 results".

A contract whose ledger entry cannot be read (damaged or rewritten, :class:`~verifier.ledger.verify.DamageWatch`)
is still listed, from the clear columns of the pawn book, marked ``damaged``.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

from verifier import verdict as V
from verifier.errors import InputError, LedgerError, NotFoundError, TamperError
from verifier import text as search_text
from verifier.ledger.entry import VN_TZ, Entry, canonical_json, utc_bound, utc_now, utc_text
from verifier.ledger.idempotency import IdempotencyKeys, Replayed, Request
from verifier.ledger.pawn_store import PawnStore
from verifier.ledger.store import Ledger
from verifier.ledger.verify import DamageWatch
from verifier.results import (
    ContractFace,
    ContractPayload,
    FaceDecision,
    IdentityCheck,
    Override,
    ScanResult,
    is_demo,
)
from verifier.users import allowed


STATUSES = ("active", "redeemed", "forfeited", "liquidated", "cancelled")
#: Lengths of the ID number and serial tails indexed for search ("the last 4-6 digits").
TAILS = (4, 5, 6)
#: Lengths of a whole ID number: 9 (old CMND) or 12 (CCCD, Circular 59/2021/TT-BCA art. 13).
ID_LENGTHS = (9, 12)
EVENT_TYPES = ("redeemed", "extended", "partial_payment", "forfeited", "liquidated", "correction", "suspicious")
#: Which status each event requires and leads to (None: any status, unchanged).
TRANSITIONS: dict[str, tuple[tuple[str, ...] | None, str | None]] = {
    "redeemed": (("active",), "redeemed"),
    "extended": (("active",), None),
    "partial_payment": (("active",), None),
    "forfeited": (("active",), "forfeited"),
    "liquidated": (("forfeited",), "liquidated"),
    "correction": (None, None),
    "suspicious": (None, None),
}
CORRECTABLE = ("items", "notes", "valuation_vnd", "fees_vnd", "ownership_evidence")
#: What makes a contract the same contract when a clerk sends it again (not its id, number or scan).
_RETRY_FIELDS = ("type", "pawner", "items", "ownership_evidence", "valuation_vnd", "loan_vnd", "interest_rate_year_pct",
                 "term_days", "fees_vnd", "start_date", "notes")



class ContractRefused(InputError):
    """A contract or event breaks a rule (legal rate cap, unverified card, face not confirmed...)."""

    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code  # the catalogue code (verifier.messages): the API answers in the caller's language
        self.details = details or {}


class BadSearch(InputError):
    """A search term that cannot be what it claims to be (an ID number with letters, of a wrong length)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # the catalogue code (verifier.messages)


def _created(entry: Entry) -> dict:
    """The answer to a recorded contract (also what an idempotent replay returns)."""
    return {"id": entry.payload["id"], "contract_no": entry.payload["contract_no"], "seq": entry.seq, "demo": entry.demo}


def today_vn() -> date:
    return datetime.now(VN_TZ).date()


def fold_text(text: str) -> str:
    """Name words to index and search: 'Nguyễn Văn A.' -> 'nguyen van a'. Folded as the police
    backend folds (:func:`verifier.text.fold`), then only letters and digits kept."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", search_text.fold(str(text))).split())


def norm_serial(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(text).upper())


def norm_id(text: str) -> str:
    return re.sub(r"\D", "", str(text))


def tails(value: str) -> list[str]:
    """The last :data:`TAILS` characters of a normalised ID number or serial (when it is longer)."""
    return [value[-n:] for n in TAILS if len(value) > n]


def id_search(text: str) -> tuple[str, str]:
    """An ID number as typed -> ``("id" | "id_tail", digits)``; :class:`BadSearch` when it cannot be one."""
    raw = re.sub(r"[\s.\-]", "", str(text))
    if not raw.isdigit() or not raw.isascii():
        raise BadSearch("bad_id_number", f"id_number: expected digits only, found {len(raw)} characters with other signs")
    if len(raw) in ID_LENGTHS:
        return "id", raw
    if len(raw) in TAILS:
        return "id_tail", raw
    raise BadSearch("bad_id_number", f"id_number: expected 12 digits (CCCD), 9 (CMND) or the last 4-6 digits; found {len(raw)} digits")


def admit(scan: ScanResult, face: FaceDecision | None, *, user: str, role: str, face_confirmed_by: str | None,
          override_reason: str | None) -> Override | None:
    """The one rule for recording a contract from a scan and a face decision (README "POST
    /transactions"); returns the manager's :class:`Override`, if one was needed.

    * a written ``override_reason`` may come only from a role with ``txn.override`` (a manager):
      anyone else is refused (``override_needs_manager``) whatever the verdict;
    * a verdict other than ``authentic`` needs that override (``scan_not_authentic``);
    * the face decision must be ``match``, or ``refer`` confirmed by the clerk (``face_not_confirmed``):
      no override lifts this one;
    * the holder must have an ID number and a name (``scan_incomplete``).
    """
    verdict = scan.verdict.value
    if override_reason and not allowed(role, "txn.override"):
        raise ContractRefused("override_needs_manager",
                              f"only a manager may override a {verdict!r} verdict; you are {role!r}")
    override = None
    if scan.verdict is not V.Outcome.AUTHENTIC:
        if not override_reason:
            raise ContractRefused(
                "scan_not_authentic",
                f"the card's verdict is {verdict!r}, not 'authentic'; a manager may override with a written reason",
                {"verdict": verdict},
            )
        override = Override(by=user, role=role, reason=str(override_reason), verdict=verdict)
    decision = face.decision if face is not None else None
    if not (decision == "match" or (decision == "refer" and face_confirmed_by)):
        raise ContractRefused(
            "face_not_confirmed",
            f"the face decision is {decision!r}: a contract needs 'match', or 'refer' confirmed by the clerk",
            {"decision": decision},
        )
    if not scan.holder.id_number or not scan.holder.full_name:
        raise ContractRefused("scan_incomplete", "the scan has no holder ID number or name")
    return override


def contract_payload(scan: ScanResult, face: FaceDecision, form: dict, *, user: str, role: str,
                     face_confirmed_by: str | None, override: Override | None, photos: dict[str, bytes],
                     scan_id: str | None, demo: bool, rate: float, start: date) -> ContractPayload:
    """The ``pawn_contract`` payload of a scan, its face decision and the clerk's form."""
    term = int(form["term_days"])
    return ContractPayload(
        id=str(uuid.uuid4()),
        created_by={"user": user, "role": role},
        pawner=scan.holder,
        identity_check=IdentityCheck.of(scan, scan_id, demo=demo, face=face),
        face=ContractFace(face, confirmed_by=face_confirmed_by,
                          camera_photo_sha256=hashlib.sha256(photos["camera"]).hexdigest() if "camera" in photos else None),
        override=override,
        items=tuple({k: str(v) for k, v in item.items() if v not in (None, "")} for item in form["items"]),
        ownership_evidence=form.get("ownership_evidence") or "",
        valuation_vnd=int(form["valuation_vnd"]),
        loan_vnd=int(form["loan_vnd"]),
        interest_rate_year_pct=rate,
        term_days=term,
        fees_vnd=int(form.get("fees_vnd") or 0),
        start_date=start.isoformat(),
        due_date=(start + timedelta(days=term)).isoformat(),
        notes=form.get("notes") or "",
    )


class PawnBook:
    """Contracts over a :class:`Ledger`; registers its projection on the ledger's write path."""

    def __init__(self, ledger: Ledger, *, max_rate: float = 20.0, prefix: str = "HĐ") -> None:
        self.ledger = ledger
        self.max_rate = float(max_rate)
        self.prefix = prefix
        self.store = PawnStore(ledger)  # the tables and queries (verifier/ledger/pawn_store.py)
        self.keys = IdempotencyKeys(ledger)  # client Idempotency-Key answers (verifier/ledger/idempotency.py)
        self.damage = DamageWatch(ledger)  # a damaged ledger: loud, not fatal (verifier/ledger/verify.py)
        if self._project not in ledger.projectors:
            ledger.projectors.append(self._project)
        ledger.write(self._index_tails)

    @classmethod
    def from_config(cls, ledger: Ledger, cfg: Any) -> "PawnBook":
        return cls(ledger, max_rate=cfg["pawn.max_interest_rate_year_pct"], prefix=cfg["pawn.contract_prefix"])

    # --- the projection (runs inside the entry's write transaction) --------------------
    def _terms(self, payload: dict) -> set[str]:
        blind = self.ledger.sealer.blind
        pawner = payload.get("pawner") or {}
        terms = set()
        if pawner.get("id_number"):
            number = norm_id(pawner["id_number"])
            terms.add(blind("id", number))
            terms.update(blind("id_tail", t) for t in tails(number))
        for word in fold_text(pawner.get("full_name", "")).split():
            terms.add(blind("name", word))
        for item in payload.get("items") or []:
            serial = norm_serial(item.get("serial") or "")
            if serial:
                terms.add(blind("serial", serial))
                terms.update(blind("serial_tail", t) for t in tails(serial))
        return terms

    def _index_tails(self, conn: sqlite3.Connection) -> None:
        """Once per ledger (``meta`` ``search.tails``): index the tails of contracts recorded before tails
        were indexed, from their entries (an entry that cannot be read is skipped: it is reported as damage)."""
        if conn.execute("SELECT 1 FROM meta WHERE key = 'search.tails'").fetchone():
            return
        chain = self.ledger.chain
        blind = self.ledger.sealer.blind
        for txn_id, seqs in self.store.all_contract_seqs(conn):
            marks = ",".join("?" * len(seqs))
            for row in conn.execute(f"SELECT seq, ts, kind, demo, prev_hash, hash, payload FROM entries WHERE seq IN ({marks})", seqs):
                try:
                    p = chain._entry_from_row(row).payload
                except (TamperError, ValueError):
                    continue
                items = p.get("items") or (p.get("fields") or {}).get("items") or []
                found = {blind("id_tail", t) for t in tails(norm_id((p.get("pawner") or {}).get("id_number") or ""))}
                for item in items:
                    found.update(blind("serial_tail", t) for t in tails(norm_serial(item.get("serial") or "")))
                self.store.add_terms(conn, txn_id, found)
        conn.execute("INSERT INTO meta (key, value) VALUES ('search.tails', '1')")

    def _project(self, conn: sqlite3.Connection, entry: Entry) -> None:
        p = entry.payload
        kind = p.get("type")
        if entry.kind == "transaction" and kind == "pawn_contract":
            self.store.record_contract(conn, entry, self._terms(p))
        elif entry.kind == "event" and kind in EVENT_TYPES:
            _, to = TRANSITIONS[kind]
            if kind == "correction" and p.get("cancel"):
                to = "cancelled"
            corrected_items = kind == "correction" and "items" in (p.get("fields") or {})
            self.store.record_event(conn, p["txn_id"], entry.seq, status=to,
                                    due_date=p["new_due_date"] if kind == "extended" else None, flagged=kind == "suspicious",
                                    corrected=kind == "correction",
                                    terms=self._terms({"items": p["fields"]["items"]}) if corrected_items else set())

    # --- writing -------------------------------------------------------------------------
    def _capped_rate(self, value: Any) -> float:
        """The yearly interest rate, refused above the legal cap (Civil Code art. 468)."""
        rate = float(value)
        if rate > self.max_rate:
            raise ContractRefused(
                "interest_rate_above_cap",
                f"interest rate {rate:g} %/year exceeds the legal cap of {self.max_rate:g} %/year (Civil Code art. 468)",
                {"interest_rate_year_pct": rate, "max_interest_rate_year_pct": self.max_rate},
            )
        return rate

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
        """Record a contract from a finished scan. Raises :class:`ContractRefused` when a rule forbids it
        (:func:`admit`). ``demo`` (default: the scan's and the face decision's, :func:`is_demo`) marks the entry.
        With ``idempotency`` (a client key, :mod:`verifier.ledger.idempotency`), a request already answered gets
        that answer, checked and recorded inside the write so two concurrent requests make one contract."""
        rate = self._capped_rate(form["interest_rate_year_pct"])
        if int(form["loan_vnd"]) > int(form["valuation_vnd"]):
            raise ContractRefused("loan_above_valuation", f"loan {form['loan_vnd']} VND exceeds the valuation {form['valuation_vnd']} VND")
        override = admit(scan, face, user=user, role=role, face_confirmed_by=face_confirmed_by,
                         override_reason=override_reason)
        demo = is_demo(scan, face) if demo is None else is_demo(demo, scan, face)
        start = today_vn()
        photos = photos or {}
        payload = contract_payload(scan, face, form, user=user, role=role, face_confirmed_by=face_confirmed_by,
                                   override=override, photos=photos, scan_id=scan_id, demo=demo, rate=rate,
                                   start=start).to_json()
        year = start.year
        prefix = self.prefix

        def prepare(conn: sqlite3.Connection, body: dict) -> dict:
            self.keys.check(conn, idempotency)
            number = self.store.next_number(conn)
            body["number"] = number
            body["contract_no"] = f"{prefix}-{year}-{number:06d}"
            return body

        def store_photos(conn: sqlite3.Connection, entry: Entry) -> None:
            for kind, data in photos.items():
                if data:
                    self.store.store_photo(conn, entry.payload["id"], kind, data, entry.ts)
            self.keys.record(conn, idempotency, 201, _created(entry))

        # The same contract sent again (a clerk's retry after "the ledger failed") has the same retry key: if its
        # first append was reported as failed but came back from the write-ahead log at restart, the retry gets it.
        retry_key = self.ledger.sealer.blind("retry", canonical_json({k: payload[k] for k in _RETRY_FIELDS}).decode())
        recovered = self.ledger.claim_recovered(retry_key)
        if recovered is not None:
            return {"id": recovered.payload["id"], "contract_no": recovered.payload["contract_no"], "seq": recovered.seq,
                    "demo": recovered.demo, "recovered": True}
        try:
            entry = self.ledger.append("transaction", payload, demo=demo, prepare=prepare, also=store_photos,
                                       retry_key=retry_key)
        except Replayed as r:  # the same key was answered while this request waited
            return r.answer.body
        return _created(entry)

    def add_event(self, txn_id: str, event_type: str, body: dict, *, user: str, role: str,
                  idempotency: Request | None = None) -> dict:
        """Record a lifecycle event. A ``correction`` (đính chính, with ``fields``; or hủy, ``cancel: true``,
        which makes the contract ``cancelled``) is a manager's, with a written reason; the ledger is not edited."""
        if event_type not in EVENT_TYPES:
            raise ContractRefused("unknown_event", f"event type: expected one of {', '.join(EVENT_TYPES)}, found {event_type!r}")
        row = self.store.contract(txn_id)
        if row is None:
            raise NotFoundError(f"no contract {txn_id!r}")
        payload: dict[str, Any] = {"type": event_type, "txn_id": txn_id, "by": {"user": user, "role": role}}
        for key in ("amount_vnd", "reason", "notes"):
            if body.get(key) not in (None, ""):
                payload[key] = body[key]
        if event_type == "correction" and not allowed(role, "txn.override"):
            raise ContractRefused("correction_needs_manager", f"only a manager may correct or cancel a contract; you are {role!r}")
        if event_type in ("partial_payment",) and not (isinstance(body.get("amount_vnd"), int) and body["amount_vnd"] > 0):
            raise ContractRefused("amount_required", "a partial payment needs amount_vnd > 0")
        if event_type in ("correction", "suspicious", "forfeited") and not body.get("reason"):
            raise ContractRefused("reason_required", f"a {event_type} event needs a written reason")
        if event_type == "extended":
            days = body.get("extend_days")
            if not isinstance(days, int) or days <= 0 or days > 3650:
                raise ContractRefused("extend_days_required", f"an extension needs extend_days between 1 and 3650, found {days!r}")
            payload["extend_days"] = days
            payload["new_due_date"] = (date.fromisoformat(row["due_date"]) + timedelta(days=days)).isoformat()
            if body.get("interest_rate_year_pct") is not None:
                payload["interest_rate_year_pct"] = self._capped_rate(body["interest_rate_year_pct"])
        if event_type == "correction" and body.get("cancel"):
            if body.get("fields"):
                raise ContractRefused("bad_correction", "a cancellation changes no fields: send cancel or fields, not both")
            payload["cancel"] = True
        elif event_type == "correction":
            fields = body.get("fields") or {}
            bad = [k for k in fields if k not in CORRECTABLE]
            if not fields or bad:
                raise ContractRefused("bad_correction", f"a correction changes some of {', '.join(CORRECTABLE)}; found {sorted(fields) or 'nothing'}")
            _check_correction(fields)
            payload["fields"] = fields
        if event_type == "suspicious":
            payload["target"] = body.get("target") or "pawner"
        allowed_from, _ = TRANSITIONS[event_type]

        def prepare(conn: sqlite3.Connection, p: dict) -> dict:
            self.keys.check(conn, idempotency)
            current = self.store.status_in(conn, txn_id)
            if payload.get("cancel") and current == "cancelled":
                raise ContractRefused("bad_transition", "the contract is already cancelled", {"status": current})
            if allowed_from is not None and current not in allowed_from:
                raise ContractRefused(
                    "bad_transition",
                    f"cannot record {event_type!r} on a contract that is {current!r} (needs {' or '.join(allowed_from)})",
                    {"status": current},
                )
            p["at"] = utc_now()
            return p

        def answer(e: Entry) -> dict:
            return {"seq": e.seq, "type": event_type, "txn_id": txn_id, "ts": e.ts}

        try:
            entry = self.ledger.append("event", payload, demo=row["demo"], prepare=prepare,
                                       also=lambda conn, e: self.keys.record(conn, idempotency, 201, answer(e)))
        except Replayed as r:
            return r.answer.body
        return answer(entry)

    # --- reading -------------------------------------------------------------------------
    def _read(self, seqs: list[int]) -> dict[int, Entry | None]:
        """The entries at ``seqs``; None for one that cannot be read or that :class:`DamageWatch` names as bad."""
        bad = self.damage.bad_seqs()
        try:
            found = {e.seq: e for e in self.ledger.entries_by_seq(seqs)}
        except (TamperError, LedgerError, ValueError, sqlite3.Error):
            found = {}
            for seq in seqs:
                try:
                    found.update((e.seq, e) for e in self.ledger.entries_by_seq([seq]))
                except (TamperError, LedgerError, ValueError, sqlite3.Error):
                    pass
        return {seq: (None if seq in bad else found.get(seq)) for seq in seqs}

    def get(self, txn_id: str) -> dict | None:
        """The contract folded from its entries (identity decrypted: log the access!). A damaged entry is
        left out and the contract marked ``damaged`` (its first entry damaged: only the clear columns)."""
        row = self.store.contract(txn_id)
        if row is None:
            return None
        seqs = self.store.entry_seqs(txn_id)
        read = self._read(seqs)
        damaged = [seq for seq, e in read.items() if e is None]
        first = read.get(seqs[0]) if seqs else None
        if first is None or first.payload.get("type") != "pawn_contract":
            view = {**row, "pawner": None, "items": [], "events": [], "photos": [], "paid_vnd": 0,
                    "damaged": True, "damaged_seqs": damaged or [row["seq"]]}
            return view
        view = dict(first.payload)
        view.update(seq=first.seq, created_at=first.ts, demo=first.demo, status=row["status"], flagged=row["flagged"],
                    due_date=row["due_date"], corrected=row["corrected"], damaged=bool(damaged), damaged_seqs=damaged)
        view["paid_vnd"] = 0
        events = []
        for seq in seqs[1:]:
            e = read[seq]
            if e is None:
                events.append({"seq": seq, "type": "damaged", "damaged": True})
                continue
            p = e.payload
            events.append({"seq": e.seq, "ts": e.ts, **{k: v for k, v in p.items() if k != "txn_id"}})
            if p["type"] == "partial_payment":
                view["paid_vnd"] += int(p.get("amount_vnd") or 0)
            elif p["type"] == "extended" and "interest_rate_year_pct" in p:
                view["interest_rate_year_pct"] = p["interest_rate_year_pct"]
            elif p["type"] == "correction":
                view.update(p.get("fields") or {})
                if p.get("cancel"):
                    view["cancelled_at"] = e.ts
            elif p["type"] in ("redeemed", "forfeited", "liquidated"):
                view["closed_at" if p["type"] != "forfeited" else "forfeited_at"] = e.ts
        view["events"] = events
        view["photos"] = self.store.photo_kinds(txn_id)
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
        """Matching contracts, newest first: summaries with the pawner's name and ID (log the access!)."""
        blind = self.ledger.sealer.blind
        terms: list[str | tuple[str, ...]] = []
        if id_number:
            terms.append(blind(*id_search(id_number)))
        if name:
            words = fold_text(name).split()
            if not words:
                raise InputError("name: expected at least one letter or digit")
            terms += [blind("name", w) for w in words]
        if serial:
            wanted = norm_serial(serial)
            if not wanted:
                raise BadSearch("bad_serial", "serial: expected letters or digits")
            # the whole serial, or its last 4-6 characters
            terms.append((blind("serial", wanted), blind("serial_tail", wanted)) if len(wanted) in TAILS else blind("serial", wanted))
        if status and status != "overdue" and status not in STATUSES:
            raise InputError(f"status: expected one of {', '.join(STATUSES + ('overdue',))}, found {status!r}")
        rows, total = self.store.find(
            terms, status=status if status != "overdue" else None,
            overdue_on=today_vn().isoformat() if status == "overdue" else None, flagged=flagged,
            created_from=utc_bound(date_from, start=True) if date_from else None,
            created_to=utc_bound(date_to, start=False) if date_to else None, limit=limit, offset=offset,
        )
        entries = self._read([r["seq"] for r in rows])
        out = []
        for r in rows:
            e = entries[r["seq"]]
            p = e.payload if e is not None else {}
            pawner = p.get("pawner") or {}
            out.append(
                {
                    "id": r["id"],
                    "contract_no": r["contract_no"],
                    "created_at": r["created_at"],
                    "status": r["status"],
                    "flagged": r["flagged"],
                    "demo": r["demo"],
                    "due_date": r["due_date"],
                    "pawner_name": pawner.get("full_name"),
                    "pawner_id_number": pawner.get("id_number"),
                    "items": [i.get("description", "") for i in p.get("items", [])],
                    "loan_vnd": r["loan_vnd"],
                    "corrected": r["corrected"],
                    "damaged": e is None,
                }
            )
        return out, total

    # --- retention -----------------------------------------------------------------------
    def purge_photos(self, older_than_days: int, now: datetime | None = None) -> int:
        """Delete stored face images older than the retention period (privacy.face_retention_days)."""
        cutoff = utc_text((now or datetime.now(timezone.utc)) - timedelta(days=int(older_than_days)))
        return self.store.purge_photos(cutoff)


def _check_correction(fields: dict) -> None:
    """The corrected values must have the types of the originals."""
    for key in ("valuation_vnd", "fees_vnd"):
        if key in fields and (not isinstance(fields[key], int) or isinstance(fields[key], bool) or not 0 <= fields[key] <= 10**13):
            raise ContractRefused("bad_correction", f"{key}: expected a whole number of VND, found {fields[key]!r}")
    for key in ("notes", "ownership_evidence"):
        if key in fields and (not isinstance(fields[key], str) or len(fields[key]) > 2000):
            raise ContractRefused("bad_correction", f"{key}: expected text (at most 2000 characters), found {type(fields[key]).__name__}")
    if "items" in fields:
        items = fields["items"]
        ok = isinstance(items, list) and 1 <= len(items) <= 50 and all(
            isinstance(i, dict) and isinstance(i.get("description"), str) and i["description"]
            and all(isinstance(v, str) and len(v) <= 500 for v in i.values()) for i in items)
        if not ok:
            raise ContractRefused("bad_correction", "items: expected 1-50 items, each with a description and text fields")
