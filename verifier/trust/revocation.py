"""Revocation for passive authentication: the DSC and its CSCA against the CSCA's CRLs.

The ``revocation`` check of :mod:`verifier.trust.passive` (ICAO 9303-11 §5.1, ICAO 9303-12 §7.1.4
CRL profile, RFC 5280 §6.3 CRL validation): the trust store holds only CRLs that verified under
their installed issuer (:mod:`verifier.trust.store`, :mod:`verifier.trust.crl`); a DSC or CSCA
serial on one of them is revoked; the newest CRL past its nextUpdate plus the grace period is
stale and revocation is then not confirmed.
"""

from __future__ import annotations

from datetime import datetime

from verifier import verdict
from verifier.trust.certs import Certificate
from verifier.trust.store import TrustEntry, TrustStore
from verifier.verdict import Check


def check_revocation(dsc: Certificate | None, csca_entry: TrustEntry | None, store: TrustStore, at: datetime,
                     crl_max_age_days: int) -> Check:
    """The ``revocation`` check: ``dsc`` and its CSCA (``csca_entry``, from :func:`verifier.trust.chain.check_chain`)
    against the CSCA's verified CRLs in ``store``; the newest CRL past its nextUpdate plus
    ``crl_max_age_days`` of grace is stale."""
    name = verdict.REVOCATION
    if dsc is None or csca_entry is None:
        return verdict.not_performed(name, "Revocation was not checked because the signing authority is not established",
                                     "Chưa kiểm tra thu hồi vì chưa xác định được cơ quan ký")
    csca = csca_entry.cert
    crls = store.crls_for(csca.subject_name)
    if not crls:
        return verdict.not_performed(name, f"No revocation list (CRL) of {csca.subject} is loaded, so revocation was not checked",
                                     "Chưa có danh sách thu hồi (CRL) của cơ quan cấp, chưa kiểm tra được việc thu hồi",
                                     csca_subject=csca.subject)
    revoked = []
    for stored in crls:
        if dsc.serial in stored.crl.revoked and dsc.issuer_name == stored.crl.issuer_name:
            revoked.append(("dsc", stored))
        if csca.serial in stored.crl.revoked:
            revoked.append(("csca", stored))
    newest = crls[0].crl
    fresh = newest.freshness(at, crl_max_age_days)
    details = {"crl_issuer": newest.issuer, "crl_this_update": newest.this_update.isoformat(),
               "crl_next_update": newest.next_update.isoformat() if newest.next_update else None,
               "crl_sha256": newest.sha256, "crl_freshness": fresh, "crls": len(crls)}
    if revoked:
        whom = {w for w, _ in revoked}
        en = " and ".join(x for x, k in (("the document signer certificate", "dsc"), ("the national authority certificate (CSCA)", "csca")) if k in whom)
        vi = " và ".join(x for x, k in (("chứng thư của cơ quan ký", "dsc"), ("chứng thư gốc CSCA", "csca")) if k in whom)
        return verdict.failed(name, f"REVOKED: {en} is on the issuer's revocation list",
                              f"ĐÃ BỊ THU HỒI: {vi} nằm trong danh sách thu hồi", **details, revoked=sorted(whom))
    if fresh == "stale":
        return verdict.not_performed(
            name, f"The revocation list is out of date (next update was due {newest.next_update:%Y-%m-%d}); "
                  f"not on it, but revocation cannot be confirmed. Load a current CRL.",
            "Danh sách thu hồi đã quá hạn; cần cập nhật danh sách mới để kiểm tra thu hồi", **details, stale=True)
    if fresh == "future":
        return verdict.not_performed(name, "The revocation list is dated in the future; check the computer's clock",
                                     "Danh sách thu hồi có ngày trong tương lai; hãy kiểm tra đồng hồ máy tính", **details)
    note = "" if fresh == "current" else " (the list is past its next-update date but within the grace period)"
    note_vi = "" if fresh == "current" else " (danh sách đã quá ngày cập nhật nhưng còn trong thời gian cho phép)"
    return verdict.passed(name, f"Not revoked: the signer is not on the current revocation list{note}",
                          f"Chứng thư không bị thu hồi{note_vi}", **details)
