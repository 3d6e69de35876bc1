"""The backend's verdict on a contract's chip evidence (issue 19 item 1), pure.

A contract entry's payload carries the shop's verdict (``identity_check.verdict`` with its checks)
and the chip's ``evidence`` (:class:`verifier.results.ContractEvidence`). :func:`judge` re-verifies
the evidence with the backend's own trust store (:func:`verifier.evidence.verify_evidence`: SOD
signature and chain, every carried hash, DG1/DG13 against the payload's holder fields, the AA
signature against DG15's key and the recomputed, transaction-bound challenge) and says which alert,
if any, the difference calls for:

* ``evidence_missing``: the shop says ``authentic`` but the contract carries no evidence;
* ``evidence_mismatch``: the evidence does not prove what the contract says (a signature, a hash,
  the holder's fields, the AA signature or its challenge fails): the backend says ``not_authentic``;
* ``evidence_unverifiable``: the shop says ``authentic``, the evidence is intact but the backend
  cannot finish the proof (a CSCA it lacks: "the authority is not installed", never "forged");
* ``aa_replay``: the AA signature was already seen on another contract (decided by the caller, who
  keeps the signatures: :mod:`sync.backend.evidence_worker`).

An alert is raised when the backend proves less than the shop claims (authentic > unverified >
not_authentic); a backend that proves more (a shop without the CSCA) is shown, not alerted. The
alert's detail is Vietnamese and names checks and fields, never personal values.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# the backend's trust (the shipped trust and its data directory's trust/) is the verifier core's
from verifier.evidence import (AA_CHECKS, CertificateCache, import_trust, open_trust, trust_version,  # noqa: F401
                               verify_evidence)
from verifier.results import ContractEvidence

#: The alert kinds of chip evidence (police_common.md).
EVIDENCE_MISMATCH = "evidence_mismatch"
EVIDENCE_MISSING = "evidence_missing"
EVIDENCE_UNVERIFIABLE = "evidence_unverifiable"
AA_REPLAY = "aa_replay"
ALERT_KINDS = (EVIDENCE_MISMATCH, EVIDENCE_MISSING, EVIDENCE_UNVERIFIABLE, AA_REPLAY)

AUTHENTIC, UNVERIFIED, NOT_AUTHENTIC = "authentic", "unverified", "not_authentic"
#: A verdict before the worker reached the contract.
PENDING = "pending"
_RANK = {AUTHENTIC: 2, UNVERIFIED: 1, NOT_AUTHENTIC: 0}


@dataclass(frozen=True)
class Judgement:
    """The backend's verdict on one contract: ``reasons`` (each ``{check, status, reason, reason_vi}``),
    the alert kind it calls for (None: none) with its Vietnamese detail, and the AA signature's SHA-256."""

    verdict: str
    reasons: list[dict] = field(default_factory=list)
    alert: str | None = None
    detail: str = ""
    aa_signature_sha256: str | None = None


def reason(check: str, status: str, en: str, vi: str) -> dict:
    return {"check": check, "status": status, "reason": en, "reason_vi": vi}


def shop_verdict(payload: Mapping) -> dict:
    """The shop's verdict as the contract records it: ``{verdict, reasons}`` (the checks not passed,
    or all of them when every one passed), without personal data."""
    ic = payload.get("identity_check") if isinstance(payload.get("identity_check"), Mapping) else {}
    checks = ic.get("checks") if isinstance(ic.get("checks"), Mapping) else {}
    reasons = [{"check": str(k), "status": str(v)} for k, v in checks.items() if v != "passed"] \
        or [{"check": str(k), "status": str(v)} for k, v in checks.items()]
    override = payload.get("override")
    if isinstance(override, Mapping):
        reasons.append({"check": "override", "status": "manager_override", "by": override.get("by")})
    return {"verdict": str(ic.get("verdict") or UNVERIFIED), "reasons": reasons}


def _where(payload: Mapping, device_id: str, seq: int) -> str:
    no = payload.get("contract_no") or payload.get("id") or "?"
    return f"Hợp đồng {no} (thiết bị {device_id}, bản ghi số {seq})"


def judge(payload: Mapping, *, device_id: str, seq: int, store, at: _dt.datetime,
          chain_hash: Callable[[int], str | None], certificate: Callable | None = None) -> Judgement:
    """The backend's verdict on the contract entry ``payload`` of ``device_id`` at ``seq``
    (``store``: the backend's trust store for this entry; ``chain_hash(seq)``: that device's entry hash;
    ``certificate``: a :class:`verifier.evidence.CertificateCache`, None parses EF.SOD's certificate anew)."""
    claimed = shop_verdict(payload)["verdict"]
    where = _where(payload, device_id, seq)
    raw = payload.get("evidence")
    if raw is None:
        why = reason("evidence", "not_performed", "the contract carries no chip evidence",
                     "Hợp đồng không kèm bằng chứng từ chip")
        if claimed == AUTHENTIC:  # one alert per device, counted up (the first contract's seq): old software
            return Judgement(UNVERIFIED, [why], EVIDENCE_MISSING,
                             f"Thiết bị {device_id}: hợp đồng ghi thẻ hợp lệ nhưng không kèm bằng chứng từ chip "
                             "(EF.SOD, DG1, DG13, chữ ký xác thực chủ động): máy chủ không kiểm tra lại được")
        return Judgement(UNVERIFIED, [why])
    try:
        evidence = ContractEvidence.from_json(raw)
    except ValueError as e:
        why = reason("evidence", "failed", f"the chip evidence is malformed: {e}", "Bằng chứng từ chip bị lỗi cấu trúc")
        return Judgement(NOT_AUTHENTIC, [why], EVIDENCE_MISMATCH if claimed != NOT_AUTHENTIC else None,
                         f"{where}: bằng chứng từ chip bị lỗi cấu trúc, không kiểm tra được")
    ic = payload.get("identity_check") if isinstance(payload.get("identity_check"), Mapping) else {}
    pawner = payload.get("pawner") if isinstance(payload.get("pawner"), Mapping) else {}
    result = verify_evidence(evidence, pawner=pawner, scan_id=ic.get("scan_id"), device_id=device_id, seq=seq,
                             store=store, at=at, chain_hash=chain_hash,
                             **({"certificate": certificate} if certificate is not None else {}))
    reasons = [reason(c.name, c.status.value, c.reason, c.reason_vi or c.reason) for c in result.checks]
    verdict = result.verdict.value
    alert, detail = None, ""
    if _RANK[verdict] < _RANK.get(claimed, 0) or (verdict == NOT_AUTHENTIC and claimed != NOT_AUTHENTIC):
        bad = [r for r in reasons if r["status"] == "failed"]
        if verdict == NOT_AUTHENTIC:
            alert = EVIDENCE_MISMATCH
            detail = (f"{where}: cửa hàng ghi «{claimed}» nhưng bằng chứng từ chip không khớp: "
                      + "; ".join(r["reason_vi"] for r in bad))
        else:
            alert = EVIDENCE_UNVERIFIABLE
            open_ = [r for r in reasons if r["status"] != "passed"]
            detail = (f"{where}: cửa hàng ghi thẻ hợp lệ; máy chủ chưa xác minh đủ (không phải dấu hiệu giả mạo, "
                      "thường do chưa cài chứng thư CSCA của cơ quan cấp): "
                      + "; ".join(r["reason_vi"] for r in open_))
    return Judgement(verdict, reasons, alert, detail, result.aa_signature_sha256)


def replayed(judgement: Judgement, payload: Mapping, *, device_id: str, seq: int, first: tuple[str, str, int]) -> Judgement:
    """``judgement`` when its AA signature was first seen on the contract ``first`` (shop, device, seq):
    a copied answer of the chip, not the chip at this counter."""
    why = reason("aa_replay", "failed", f"the AA signature was already used by entry {first[2]} of device {first[1]}",
                 f"Chữ ký xác thực chủ động đã được dùng cho bản ghi số {first[2]} của thiết bị {first[1]}")
    detail = (f"{_where(payload, device_id, seq)}: chữ ký xác thực chủ động của chip là bản sao của một giao dịch "
              f"trước (thiết bị {first[1]}, bản ghi số {first[2]}): chip không có mặt tại quầy cho hợp đồng này")
    return Judgement(NOT_AUTHENTIC, judgement.reasons + [why], AA_REPLAY, detail, judgement.aa_signature_sha256)

