"""What flows through the counter service, typed: a scan's progress and result, the face
decision, and the pawn contract the ledger records.

One card at the counter (ARCHITECTURE.md "The flow") produces, in order:

* :class:`ScanStep` events while the chip is read (:func:`verifier.scan.run_scan` emits them;
  the API's scan registry publishes them; ``chipid read`` tells the clerk about a lifted card);
* a :class:`ScanResult`: the :class:`ChipEvidence` (files read with their sizes and hashes, what
  the chip refused, how it was opened, how often the card was put back), the :class:`Holder`
  as read, the checks and the graded verdict. Its :meth:`ScanResult.to_json` is the object
  ``chipid read --json`` prints and ``GET /api/v1/scans/{id}`` returns (README "chipid read
  --json"); :meth:`ScanResult.from_json` reads one back;
* a :class:`FaceDecision` (``POST /api/v1/scans/{id}/face``): what the face step decided and
  against which thresholds;
* a :class:`ContractPayload`: the ``pawn_contract`` entry of the ledger (``verifier/ledger/pawn_contract.py``),
  the shape the sync batch carries and the police backend indexes (``sync/backend/index.py``).

Personal data (the MRZ, the holder's fields) is kept out of ``repr`` so a stray log line
never carries it; the key that opened the chip is never serialised.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from verifier import verdict as V


# --------------------------------------------------------------------------- progress

class ScanStep(str, enum.Enum):
    """A step of one scan, emitted by the scan itself (never guessed from text).

    ``status`` is the coarse state the API reports (``waiting_for_card``, ``reading``,
    ``verifying``, ``done``, ``failed``); a lifted card and its return are steps of reading."""

    WAITING_FOR_CARD = "waiting_for_card"
    READING = "reading"
    CARD_LIFTED = "card_lifted"
    CARD_BACK = "card_back"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return _STEP_LABELS[self][0]

    @property
    def label_vi(self) -> str:
        return _STEP_LABELS[self][1]

    @property
    def status(self) -> str:
        return ScanStep.READING.value if self in (ScanStep.CARD_LIFTED, ScanStep.CARD_BACK) else self.value

    @property
    def active(self) -> bool:
        return self not in (ScanStep.DONE, ScanStep.FAILED)


_STEP_LABELS = {
    ScanStep.WAITING_FOR_CARD: ("waiting for a card on the reader", "đang chờ đặt thẻ lên đầu đọc"),
    ScanStep.READING: ("reading the chip", "đang đọc chip"),
    ScanStep.CARD_LIFTED: ("the card was lifted: put it back to read on", "thẻ bị nhấc ra, đặt lại thẻ để đọc tiếp"),
    ScanStep.CARD_BACK: ("the card is back: reading on", "đã đặt lại thẻ, đang đọc tiếp"),
    ScanStep.VERIFYING: ("verifying signatures and the chip", "đang xác thực chữ ký và chip"),
    ScanStep.DONE: ("done", "đã xong"),
    ScanStep.FAILED: ("the card could not be read", "không đọc được thẻ"),
}
#: The statuses of a scan the API reports, in order.
SCAN_STATUSES = ("waiting_for_card", "reading", "verifying", "done", "failed")

Progress = Callable[[ScanStep], None]


# --------------------------------------------------------------------------- the chip's evidence

@dataclass(frozen=True)
class FileRead:
    """One file as read: its size and SHA-256 (ARCHITECTURE.md "Hash the bytes that were read")."""

    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> "FileRead":
        return cls(len(data), hashlib.sha256(data).hexdigest())

    def to_json(self) -> dict:
        return {"size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Mapping) -> "FileRead":
        return cls(int(data["size"]), str(data["sha256"]))


@dataclass(frozen=True)
class AccessEvidence:
    """How the chip was opened (ICAO 9303-11 §4): ``protocol`` PACE or BAC, ``key`` the kind of key
    (a description, never the key), ``attempts`` what was tried in order."""

    protocol: str | None
    key: str | None
    attempts: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"protocol": self.protocol, "key": self.key, "attempts": list(self.attempts)}

    @classmethod
    def from_json(cls, data: Mapping) -> "AccessEvidence":
        return cls(data.get("protocol"), data.get("key"), tuple(data.get("attempts") or ()))


@dataclass(frozen=True)
class ChipEvidence:
    """What the session with the chip produced, besides the files' contents."""

    reader: str
    access: AccessEvidence
    files: Mapping[str, FileRead] = field(default_factory=dict)
    #: file -> reason with its status word (e.g. DG3 behind EAC: ``access-protected (SW 6982)``)
    not_readable: Mapping[str, str] = field(default_factory=dict)
    resumes: int = 0
    apdus: int = 0
    bytes: int = 0
    elapsed_ms: float = 0.0
    #: the BACKey / CANKey that opened the chip (for the access-data check); never serialised
    opened_with: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class AAEvidence:
    """An Active Authentication as a contract carries it (ICAO 9303-11 §6.1): the inputs of the
    transaction-bound challenge (:func:`verifier.evidence.challenge_inputs`), the 8-byte challenge
    sent and the chip's signature, byte for byte."""

    challenge_inputs: Mapping[str, Any]
    challenge: bytes
    signature: bytes = field(repr=False)

    def to_json(self) -> dict:
        return {"challenge_inputs": dict(self.challenge_inputs), "challenge": self.challenge.hex(),
                "signature": base64.b64encode(self.signature).decode()}

    @classmethod
    def from_json(cls, data: Mapping) -> "AAEvidence":
        """Raises ValueError for another shape."""
        if not isinstance(data, Mapping) or not isinstance(data.get("challenge_inputs"), Mapping):
            raise ValueError("evidence.aa: expected {challenge_inputs, challenge, signature}")
        try:
            return cls(dict(data["challenge_inputs"]), bytes.fromhex(str(data["challenge"])),
                       base64.b64decode(str(data["signature"]), validate=True))
        except (KeyError, binascii.Error) as e:
            raise ValueError(f"evidence.aa: {e}") from e


@dataclass(frozen=True)
class ContractEvidence:
    """What the chip gave at the counter, as a contract carries it (issue 19 item 1; checked by
    :func:`verifier.evidence.verify_evidence`): EF.SOD, DG1, DG13, DG14 and DG15 exactly as read
    (ARCHITECTURE.md "Hash the bytes that were read"), DG2's SHA-256 (the photo stays at the shop)
    and the transaction-bound Active Authentication, None when the chip has none. JSON: the files
    base64 under ``sod``, ``dg1``, ``dg13``, ``dg14``, ``dg15`` (null when not read),
    ``dg2_sha256`` (hex) and ``aa``."""

    files: Mapping[str, bytes] = field(repr=False)
    dg2_sha256: str | None = None
    aa: AAEvidence | None = None

    FORMAT = "chipid-evidence/1"
    #: the files carried, in the JSON's order
    FILES = ("SOD", "DG1", "DG13", "DG14", "DG15")

    @classmethod
    def of(cls, files: Mapping[str, bytes], aa: AAEvidence | None) -> "ContractEvidence":
        """From the files of a scan (name -> bytes as read)."""
        return cls({k: bytes(files[k]) for k in cls.FILES if k in files},
                   hashlib.sha256(files["DG2"]).hexdigest() if "DG2" in files else None, aa)

    def to_json(self) -> dict:
        out: dict[str, Any] = {"format": self.FORMAT}
        for name in self.FILES:
            raw = self.files.get(name)
            out[name.lower()] = base64.b64encode(raw).decode() if raw is not None else None
        out["dg2_sha256"] = self.dg2_sha256
        out["aa"] = self.aa.to_json() if self.aa is not None else None
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> "ContractEvidence":
        """Raises ValueError for another shape (a malformed block is no evidence)."""
        if not isinstance(data, Mapping) or data.get("format") != cls.FORMAT:
            raise ValueError(f"evidence: expected format {cls.FORMAT!r}")
        files = {}
        for name in cls.FILES:
            value = data.get(name.lower())
            if value is not None:
                try:
                    files[name] = base64.b64decode(str(value), validate=True)
                except binascii.Error as e:
                    raise ValueError(f"evidence.{name.lower()}: not base64: {e}") from e
        dg2 = data.get("dg2_sha256")
        if dg2 is not None and not (isinstance(dg2, str) and len(dg2) == 64):
            raise ValueError("evidence.dg2_sha256: expected 64 hex digits")
        aa = data.get("aa")
        return cls(files, dg2, AAEvidence.from_json(aa) if aa is not None else None)


# --------------------------------------------------------------------------- the holder

HOLDER_FIELDS = (
    "id_number", "full_name", "date_of_birth", "sex", "nationality", "ethnicity", "religion",
    "place_of_origin", "place_of_residence", "issue_date", "expiry_date", "personal_identification",
    "old_id_number", "father_name", "mother_name", "spouse_name",
)


@dataclass(frozen=True, repr=False)
class Holder:
    """The holder's data as read (DG13, falling back to DG1's MRZ field by field). Dates are ISO text."""

    id_number: str | None = None
    full_name: str | None = None
    date_of_birth: str | None = None
    sex: str | None = None
    nationality: str | None = None
    ethnicity: str | None = None
    religion: str | None = None
    place_of_origin: str | None = None
    place_of_residence: str | None = None
    issue_date: str | None = None
    expiry_date: str | None = None
    personal_identification: str | None = None
    old_id_number: str | None = None
    father_name: str | None = None
    mother_name: str | None = None
    spouse_name: str | None = None
    #: fields of DG1's MRZ the CCCD does not repeat in DG13 (``chipid read --json`` shows them)
    document_number: str | None = None
    issuing_state: str | None = None

    def __repr__(self) -> str:  # personal data stays out of logs
        return f"Holder(<redacted: {len(self.to_json())} fields>)"

    def to_json(self) -> dict:
        """The fields that hold a value, in the documented order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, "")}

    @classmethod
    def from_json(cls, data: Mapping | None) -> "Holder":
        known = {f.name for f in fields(cls)}
        return cls(**{k: None if v is None else str(v) for k, v in (data or {}).items() if k in known})

    def contract_fields(self) -> dict:
        """The pawner as a contract records it (:data:`HOLDER_FIELDS` that hold a value)."""
        return {k: getattr(self, k) for k in HOLDER_FIELDS if getattr(self, k) not in (None, "")}


@dataclass(frozen=True)
class PortraitInfo:
    """The chip portrait's description (DG2; ISO/IEC 19794-5 or 39794-5)."""

    format: str
    width: int
    height: int
    sha256: str
    standard: str | None = None

    def to_json(self) -> dict:
        return {"format": self.format, "width": self.width, "height": self.height, "sha256": self.sha256,
                "standard": self.standard}

    @classmethod
    def from_json(cls, data: Mapping | None) -> "PortraitInfo | None":
        if not data:
            return None
        return cls(str(data.get("format")), int(data.get("width") or 0), int(data.get("height") or 0),
                   str(data.get("sha256")), data.get("standard"))


# --------------------------------------------------------------------------- the scan result

def check_from_json(name: str, data: Mapping) -> V.Check:
    """A check as :meth:`verifier.verdict.Check.to_json` wrote it."""
    return V.Check(name, V.Status(data["status"]), str(data.get("reason", "")), str(data.get("reason_vi", "")),
                   dict(data.get("details") or {}))


@dataclass(frozen=True)
class ScanResult:
    """One card read and verified. ``demo``: read under demo trust or from the emulated card
    (:func:`is_demo`), never a real card's verdict."""

    chip: ChipEvidence
    demo: bool
    holder: Holder
    checks: tuple[V.Check, ...]
    verdict: V.Outcome
    mrz: str | None = field(default=None, repr=False)
    #: holder field -> "DG13" or "DG1" (the MRZ)
    holder_source: Mapping[str, str] = field(default_factory=dict)
    #: when DG13 was read but could not be parsed: ``reason``, ``reason_vi``, ``fields_from_mrz``
    dg13_error: Mapping | None = None
    face_image: PortraitInfo | None = None
    warnings: tuple[str, ...] = ()
    #: the chip's evidence for the contract (:class:`ContractEvidence`): in memory, never in :meth:`to_json`
    evidence: ContractEvidence | None = field(default=None, repr=False, compare=False)

    @property
    def holder_verified(self) -> bool:
        """The holder's data counts as verified only when the verdict is ``authentic``."""
        return self.verdict is V.Outcome.AUTHENTIC

    def check_statuses(self) -> dict[str, str]:
        return {c.name: c.status.value for c in self.checks}

    def fields_from_mrz(self) -> list[str]:
        """Holder fields taken from DG1's MRZ instead of DG13."""
        return [k for k in HOLDER_FIELDS if self.holder_source.get(k) == "DG1"]

    def to_json(self) -> dict:
        """The ``chipid read --json`` object (README)."""
        chip = self.chip
        return {
            "reader": chip.reader,
            "demo": self.demo,
            "access": chip.access.to_json(),
            "files": {name: f.to_json() for name, f in chip.files.items()},
            "not_readable": dict(chip.not_readable),
            "mrz": self.mrz,
            "holder": self.holder.to_json(),
            "holder_source": dict(self.holder_source),
            "dg13_error": dict(self.dg13_error) if self.dg13_error else None,
            "holder_verified": self.holder_verified,
            "face_image": self.face_image.to_json() if self.face_image else None,
            "checks": V.checks_json(self.checks),
            "verdict": self.verdict.value,
            "warnings": list(self.warnings),
            "resumes": chip.resumes,
            "apdus": chip.apdus,
            "bytes": chip.bytes,
            "elapsed_ms": chip.elapsed_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping) -> "ScanResult":
        """A result as :meth:`to_json` wrote it (``holder_verified`` follows from the verdict)."""
        chip = ChipEvidence(
            reader=str(data.get("reader") or ""),
            access=AccessEvidence.from_json(data.get("access") or {}),
            files={name: FileRead.from_json(f) for name, f in (data.get("files") or {}).items()},
            not_readable=dict(data.get("not_readable") or {}),
            resumes=int(data.get("resumes") or 0),
            apdus=int(data.get("apdus") or 0),
            bytes=int(data.get("bytes") or 0),
            elapsed_ms=float(data.get("elapsed_ms") or 0.0),
        )
        return cls(
            chip=chip,
            demo=bool(data.get("demo")),
            holder=Holder.from_json(data.get("holder")),
            checks=tuple(check_from_json(name, c) for name, c in (data.get("checks") or {}).items()),
            verdict=V.Outcome(data.get("verdict") or V.Outcome.UNVERIFIED.value),
            mrz=data.get("mrz"),
            holder_source=dict(data.get("holder_source") or {}),
            dg13_error=data.get("dg13_error"),
            face_image=PortraitInfo.from_json(data.get("face_image")),
            warnings=tuple(data.get("warnings") or ()),
        )


def is_demo(*marks: Any) -> bool:
    """The one rule for the ``demo`` flag: anything read from the emulated card, under demo trust
    (``trust.demo``) or in a demo service, and anything derived from it (a face decision on a
    demo scan, the contract of a demo scan), is demo. ``marks`` are those facts: booleans, or
    objects with a ``demo`` attribute (a :class:`ScanResult`, a :class:`FaceDecision`)."""
    return any(bool(getattr(m, "demo", m)) for m in marks if m is not None)


# --------------------------------------------------------------------------- the face decision

#: How the face step got the picture of the customer.
FACE_SOURCES = ("camera", "upload", "demo_camera")


@dataclass(frozen=True)
class FaceDecision:
    """What the face step decided (``biometrics.verify.FaceResult``), with the thresholds it
    decided against, where the picture came from and whether it is demo. ``liveness`` is None:
    the counter's face step runs no liveness challenge (``chipid face liveness`` is separate)."""

    decision: str
    distance: float | None = None
    score: int | None = None
    #: ``{"match": ..., "no_match": ...}`` (face.match_threshold, face.no_match_threshold)
    thresholds: Mapping[str, float] | None = None
    reasons: tuple[Mapping, ...] = ()
    quality: Mapping = field(default_factory=dict)
    liveness: Mapping | None = None
    source: str | None = None
    demo: bool = False
    elapsed_ms: float | None = None
    #: who ran the face step (the user name): for an ``upload``, who gave the picture (issue 17 item 7)
    probe_by: str | None = None
    #: every attempt of the face step on this scan, in order, this one last (:func:`face_attempt`):
    #: a later ``match`` never hides an earlier ``no_match`` or a refused copy of the chip portrait
    attempts: tuple[Mapping, ...] = ()

    @classmethod
    def from_result(cls, result: Any, *, source: str, demo: bool, probe_by: str | None = None) -> "FaceDecision":
        """From a :class:`biometrics.verify.FaceResult`'s JSON (the ``chipid face compare --json`` fields)."""
        data = result.to_json()
        return cls(decision=data["decision"], distance=data.get("distance"), score=data.get("score"),
                   thresholds=data.get("thresholds"), reasons=tuple(data.get("reasons") or ()),
                   quality=data.get("quality") or {}, source=source, demo=demo, elapsed_ms=data.get("elapsed_ms"),
                   probe_by=probe_by)

    def to_json(self) -> dict:
        """The API's face answer: the ``chipid face compare --json`` fields, ``liveness``, ``source``, ``demo``."""
        return {"decision": self.decision, "distance": self.distance, "score": self.score,
                "thresholds": dict(self.thresholds) if self.thresholds else None,
                "reasons": [dict(r) for r in self.reasons], "elapsed_ms": self.elapsed_ms,
                "quality": dict(self.quality), "liveness": self.liveness, "source": self.source, "demo": self.demo,
                "probe_by": self.probe_by, "attempts": [dict(a) for a in self.attempts]}

    @classmethod
    def from_json(cls, data: Mapping) -> "FaceDecision":
        return cls(decision=str(data["decision"]), distance=data.get("distance"), score=data.get("score"),
                   thresholds=data.get("thresholds"), reasons=tuple(data.get("reasons") or ()),
                   quality=data.get("quality") or {}, liveness=data.get("liveness"), source=data.get("source"),
                   demo=bool(data.get("demo")), elapsed_ms=data.get("elapsed_ms"), probe_by=data.get("probe_by"),
                   attempts=tuple(data.get("attempts") or ()))


def face_attempt(n: int, at: str, decision: str, *, source: str | None, probe_by: str | None, demo: bool,
                 distance: float | None = None, probe_sha256: str | None = None, refused: Mapping | None = None) -> dict:
    """One attempt of the face step as the scan and the contract keep it (no image, no template):
    its number, time (UTC), decision (``portrait_copy`` when the probe was the chip portrait and was
    refused, ``refused`` then says which rule), where the probe came from and who gave it."""
    return {"n": n, "at": at, "decision": decision, "distance": distance, "source": source, "probe_by": probe_by,
            "probe_sha256": probe_sha256, "demo": demo, "refused": dict(refused) if refused else None}


# --------------------------------------------------------------------------- the override

@dataclass(frozen=True)
class Override:
    """A manager's written acceptance of a card that is not ``authentic`` and/or of a face ``no_match``
    (the rule: :func:`verifier.ledger.admission.admit`). ``face_decision``: the face decision the
    manager accepted, None when the face matched."""

    by: str
    role: str
    reason: str
    verdict: str
    face_decision: str | None = None

    def to_json(self) -> dict:
        out = {"by": self.by, "role": self.role, "reason": self.reason, "verdict": self.verdict}
        if self.face_decision is not None:
            out["face_decision"] = self.face_decision
        return out


# --------------------------------------------------------------------------- the contract payload

@dataclass(frozen=True)
class IdentityCheck:
    """The scan behind a contract, as the contract records it (no personal data)."""

    scan_id: str | None
    verdict: str
    demo: bool
    reader: str | None
    access: Mapping | None
    checks: Mapping[str, str]
    chip_photo_sha256: str | None
    #: pawner fields taken from DG1's MRZ instead of DG13 (scan ``dg13_error``)
    holder_from_mrz: tuple[str, ...] = ()
    #: every face attempt on the scan, in order (:func:`face_attempt`; issue 17 item 7)
    face_attempts: tuple[Mapping, ...] = ()

    @classmethod
    def of(cls, scan: ScanResult, scan_id: str | None, *, demo: bool, face: "FaceDecision | None" = None) -> "IdentityCheck":
        return cls(scan_id=scan_id, verdict=scan.verdict.value, demo=demo, reader=scan.chip.reader,
                   access=scan.chip.access.to_json(), checks=scan.check_statuses(),
                   chip_photo_sha256=scan.face_image.sha256 if scan.face_image else None,
                   holder_from_mrz=tuple(scan.fields_from_mrz()),
                   face_attempts=tuple(face.attempts) if face is not None else ())

    def to_json(self) -> dict:
        return {"scan_id": self.scan_id, "verdict": self.verdict, "demo": self.demo, "reader": self.reader,
                "access": dict(self.access) if self.access is not None else None, "checks": dict(self.checks),
                "chip_photo_sha256": self.chip_photo_sha256, "holder_from_mrz": list(self.holder_from_mrz),
                "face_attempts": [dict(a) for a in self.face_attempts]}


@dataclass(frozen=True)
class ContractFace:
    """The face decision as a contract records it: the decision's measures, the customer's
    consent, who confirmed a ``refer``, and the camera photo's hash (never the photo)."""

    decision: FaceDecision
    confirmed_by: str | None = None
    camera_photo_sha256: str | None = None
    consent: bool = True

    def to_json(self) -> dict:
        d = self.decision
        return {"decision": d.decision, "consent": self.consent, "confirmed_by": self.confirmed_by,
                "distance": d.distance, "score": d.score, "thresholds": dict(d.thresholds) if d.thresholds else None,
                "quality": dict(d.quality), "liveness": d.liveness, "source": d.source, "probe_by": d.probe_by,
                "demo": d.demo, "camera_photo_sha256": self.camera_photo_sha256}


@dataclass(frozen=True)
class ContractPayload:
    """The ``pawn_contract`` payload of a ``transaction`` ledger entry (Decree 96/2016/NĐ-CP art. 29:
    the pawner's identity, the items and the evidence of ownership, value, loan, rate, dates).

    ``number`` and ``contract_no`` are given inside the ledger's write transaction
    (:meth:`verifier.ledger.pawn.PawnBook.create`). Keys the backend indexes
    (``sync/backend/index.py``): ``id``, ``contract_no``, ``pawner.id_number``, ``pawner.full_name``,
    ``items[].serial`` (and ``imei``...), ``items[].description``."""

    id: str
    created_by: Mapping[str, str]
    pawner: Holder
    identity_check: IdentityCheck
    face: ContractFace
    override: Override | None
    items: tuple[Mapping[str, str], ...]
    ownership_evidence: str
    valuation_vnd: int
    loan_vnd: int
    interest_rate_year_pct: float
    term_days: int
    fees_vnd: int
    start_date: str
    due_date: str
    notes: str
    #: typed by the clerk (issue 18): the pawner's phone, current address when not the permanent one, and the old
    #: 9- or 12-digit CMND when the chip's DG13 has none; in the payload only when given (older entries unchanged)
    pawner_phone: str | None = None
    current_address: str | None = None
    old_id_number: str | None = None
    #: what the chip gave (:class:`ContractEvidence`), re-verified by the police backend; in the payload only
    #: when the scan read the chip (a contract without it claiming ``authentic`` raises ``evidence_missing``)
    evidence: ContractEvidence | None = None

    TYPE = "pawn_contract"

    def to_json(self) -> dict:
        """The payload as the ledger hashes it (canonical JSON of this dict; ``demo`` is the entry's flag)."""
        return {
            "type": self.TYPE,
            "id": self.id,
            "created_by": dict(self.created_by),
            "pawner": self.pawner.contract_fields(),
            "identity_check": self.identity_check.to_json(),
            "face": self.face.to_json(),
            "override": self.override.to_json() if self.override else None,
            "items": [dict(i) for i in self.items],
            "ownership_evidence": self.ownership_evidence,
            "valuation_vnd": self.valuation_vnd,
            "loan_vnd": self.loan_vnd,
            "interest_rate_year_pct": self.interest_rate_year_pct,
            "term_days": self.term_days,
            "fees_vnd": self.fees_vnd,
            "start_date": self.start_date,
            "due_date": self.due_date,
            "notes": self.notes,
            **{k: v for k, v in (("pawner_phone", self.pawner_phone), ("current_address", self.current_address),
                                 ("old_id_number", self.old_id_number)) if v},
            **({"evidence": self.evidence.to_json()} if self.evidence is not None else {}),
        }
