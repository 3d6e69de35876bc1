"""A pawn contract as the ledger records it: its payload, its number, its retry key and its answer.

A contract is a ``transaction`` entry whose payload (``type: pawn_contract``,
:class:`verifier.results.ContractPayload`) holds the fields of the pawn ledger of Decree
96/2016/NĐ-CP art. 29: pawner identity and how it was checked, item and ownership evidence,
value, loan, rate, dates. :func:`contract_payload` builds it from a typed scan, its face decision
and the clerk's form; the number (:func:`contract_no`) is given inside the write, in order.
:func:`retry_key` is what makes a contract sent again the same contract (after "the ledger
failed"); :func:`created` is the answer, also what an idempotent replay returns.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime, timedelta
from typing import Callable

from verifier.ledger.entry import VN_TZ, Entry, canonical_json
from verifier.ledger.pawn_items import check_items
from verifier.results import ContractFace, ContractPayload, FaceDecision, IdentityCheck, Override, ScanResult

#: What makes a contract the same contract when a clerk sends it again (not its id, number or scan).
RETRY_FIELDS = ("type", "pawner", "items", "ownership_evidence", "valuation_vnd", "loan_vnd", "interest_rate_year_pct",
                "term_days", "fees_vnd", "start_date", "notes")


def today_vn() -> date:
    return datetime.now(VN_TZ).date()


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
        items=tuple(check_items(form["items"])),  # each item's fields by category (verifier/ledger/pawn_items.py)
        ownership_evidence=form.get("ownership_evidence") or "",
        valuation_vnd=int(form["valuation_vnd"]),
        loan_vnd=int(form["loan_vnd"]),
        interest_rate_year_pct=rate,
        term_days=term,
        fees_vnd=int(form.get("fees_vnd") or 0),
        start_date=start.isoformat(),
        due_date=(start + timedelta(days=term)).isoformat(),
        notes=form.get("notes") or "",
        pawner_phone=form.get("pawner_phone") or None,
        current_address=form.get("current_address") or None,
        old_id_number=form.get("old_id_number") or None,
        evidence=scan.evidence,
    )


def contract_no(prefix: str, year: int, number: int) -> str:
    """The printed contract number: ``HĐ-2026-000001`` (setting ``pawn.contract_prefix``)."""
    return f"{prefix}-{year}-{number:06d}"


def retry_key(blind: Callable[[str, str], str], payload: dict) -> str:
    """The blinded :data:`RETRY_FIELDS` of a contract payload (``blind``: :meth:`verifier.ledger.keys.Sealer.blind`)."""
    return blind("retry", canonical_json({k: payload[k] for k in RETRY_FIELDS}).decode())


def created(entry: Entry) -> dict:
    """The answer to a recorded contract (also what an idempotent replay returns)."""
    return {"id": entry.payload["id"], "contract_no": entry.payload["contract_no"], "seq": entry.seq, "demo": entry.demo}


def recovered(entry: Entry) -> dict:
    """The answer to a contract sent again whose first append came back from the write-ahead log at restart."""
    return {"id": entry.payload["id"], "contract_no": entry.payload["contract_no"], "seq": entry.seq,
            "demo": entry.demo, "recovered": True}
