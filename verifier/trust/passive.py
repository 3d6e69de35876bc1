"""Passive authentication (ICAO 9303-11 §5.1; BSI TR-03105 Part 5.1 test cases in spirit).

Proves that the data groups read from the chip are those the issuing state signed:

1. ``sod_signature``: the SignerInfo of EF.SOD verifies with the Document Signer (DSC)
   certificate embedded in EF.SOD (content-type and message-digest attributes checked,
   RFC 5652 §5.4/§5.6);
2. ``dsc_chain``: the DSC fits the Document Signer profile (:mod:`verifier.trust.profile`)
   and was issued and signed by a CSCA in the trust store (found by authority key identifier
   and issuer name, self-signed anchors only, link certificates never used as intermediates),
   validity per the policy. When the issuing CSCA is *not installed* the chain is
   ``not_performed`` (verdict ``unverified``), with a reason that names the missing authority
   (subject, key identifier), says whether the signature and hashes are intact and what to
   install (for a CCCD: the eID CSCA, :mod:`verifier.trust.cccd`). It *fails* only on positive
   evidence: a profile violation, a self-signed DSC, an installed CSCA of that name or key
   identifier whose key does not verify it, a validity or key-usage breach, or issuer and
   subject countries and the issuing state that disagree (a rogue authority of one state
   cannot sign for another) (:mod:`verifier.trust.chain`);
3. ``revocation``: neither the DSC nor the CSCA is on a verified CRL of the CSCA; a CRL
   past its nextUpdate plus the grace period is reported as stale (:mod:`verifier.trust.revocation`);
4. ``dg_hash_<n>``: the hash of each data group *as read* equals the signed hash;
5. ``sod_completeness``: EF.COM and EF.SOD list the same data groups;
6. ``issuer_country``: the DSC's subject and issuer countries (and the installed CSCA's)
   agree with each other and with the issuing state of the MRZ (alpha-3 "VNM" vs alpha-2 "VN").

Each check says passed / failed / not_performed with a reason a clerk understands, in
English and Vietnamese, and details for the report. Validity policies (``trust.validity_policy``):

* ``shell``: the DSC and the CSCA are both valid at ``at`` (the time of the check);
* ``chain`` (the default; ICAO 9303-12 §5, key management: a DSC's validity is its private key
  usage period plus the validity of the documents it signs, so it may outlive its CSCA): the
  CSCA was valid when the DSC was issued, the DSC is valid at ``at``;
* ``signing-time``: the CSCA was valid when the DSC was issued, the DSC was valid when
  EF.SOD was signed (signing-time attribute; without it, falls back to ``at`` and says so).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from verifier import verdict
from verifier.errors import ChipidError, VerificationError
from verifier.trust import cms, signatures
from verifier.trust.certs import Certificate, load_certificate
from verifier.trust.chain import check_chain, country_conflict
from verifier.trust.countries import alpha2
from verifier.trust.revocation import check_revocation
from verifier.trust.sod import SOD, parse_sod
from verifier.trust.store import TrustStore
from verifier.verdict import Check

log = logging.getLogger(__name__)

VALIDITY_POLICIES = ("shell", "chain", "signing-time")


_DEMO_EN = "[DEMO test authority, not a real card] "
_DEMO_VI = "[DEMO: cơ quan thử nghiệm, không phải thẻ thật] "


@dataclass(frozen=True)
class PAPolicy:
    """How strict passive authentication is. ``validity``: one of :data:`VALIDITY_POLICIES`."""

    validity: str = "chain"
    crl_max_age_days: int = 90

    def __post_init__(self) -> None:
        if self.validity not in VALIDITY_POLICIES:
            raise VerificationError(f"validity policy {self.validity!r}: expected one of {', '.join(VALIDITY_POLICIES)}")

    @classmethod
    def from_config(cls, cfg) -> "PAPolicy":
        """From a :class:`verifier.config.Config` (or any mapping with the ``trust.*`` keys)."""
        return cls(validity=cfg["trust.validity_policy"], crl_max_age_days=int(cfg["trust.crl_max_age_days"]))


@dataclass(frozen=True)
class PAResult:
    """Everything passive authentication found; ``checks`` is what the verdict uses."""

    checks: list[Check]
    sod: SOD | None = None
    dsc: Certificate | None = None
    csca: Certificate | None = None
    demo: bool = False
    signature_valid: bool | None = None
    details: dict = field(default_factory=dict)


def passive_authentication(sod_raw: bytes, files: dict[str, bytes], store: TrustStore, *, at: datetime,
                           mrz_issuing_state: str | None, com_dgs: list[int] | None,
                           policy: PAPolicy | str = PAPolicy()) -> list[Check]:
    """Run passive authentication; returns the checks (see the module docstring).

    ``files``: file name ("DG1", "DG2", ...) -> bytes exactly as read from the chip; other
    names are ignored. ``com_dgs``: the data group numbers EF.COM lists (None when not read).
    ``at``: the time of the check (aware; naive means UTC). Never raises for bad card data:
    an unreadable EF.SOD gives a failed ``sod_signature``.
    """
    return verify_passive(sod_raw, files, store, at=at, mrz_issuing_state=mrz_issuing_state,
                          com_dgs=com_dgs, policy=policy).checks


def verify_passive(sod_raw: bytes, files: dict[str, bytes], store: TrustStore, *, at: datetime,
                   mrz_issuing_state: str | None, com_dgs: list[int] | None,
                   policy: PAPolicy | str = PAPolicy(), parsed: SOD | None = None,
                   certificate: Callable[..., Certificate] = load_certificate) -> PAResult:
    """Like :func:`passive_authentication`, returning the parsed SOD, DSC and CSCA too.

    ``parsed``: ``sod_raw`` already parsed by the reader (files are parsed once); None parses it here.
    ``certificate``: how an embedded certificate's DER becomes a :class:`Certificate` (a memo keyed by
    every byte, e.g. :class:`verifier.evidence.CertificateCache`, for a verifier of many cards).
    """
    if isinstance(policy, str):
        policy = PAPolicy(validity=policy)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    dg_files = _dg_files(files)

    try:
        sod = parsed if parsed is not None else parse_sod(sod_raw)
    except ChipidError as e:
        log.info("EF.SOD unreadable: %s", e)
        checks = [
            verdict.failed(verdict.SOD_SIGNATURE, f"The chip's security data (EF.SOD) is malformed: {e}",
                           "Dữ liệu bảo mật của chip (EF.SOD) bị lỗi cấu trúc, không thể kiểm tra chữ ký", error=str(e)),
            verdict.not_performed(verdict.DSC_CHAIN, "The signer could not be checked because the security data is malformed",
                                  "Không kiểm tra được cơ quan ký vì dữ liệu bảo mật bị lỗi"),
            verdict.not_performed(verdict.REVOCATION, "Revocation could not be checked because the security data is malformed",
                                  "Không kiểm tra được thu hồi chứng thư vì dữ liệu bảo mật bị lỗi"),
        ]
        for n in sorted(dg_files):
            checks.append(verdict.not_performed(f"dg_hash_{n}", f"DG{n} could not be checked: the security data is malformed",
                                                f"Không kiểm tra được DG{n}: dữ liệu bảo mật bị lỗi"))
        return PAResult(checks, signature_valid=False)

    checks: list[Check] = []
    sig_check, dsc = _check_signature(sod, certificate)
    checks.append(sig_check)
    hash_checks = _check_dg_hashes(sod, dg_files)
    intact = _intact(sig_check, hash_checks)
    chain_check, csca_entry = check_chain(dsc, sod, store, at, policy.validity, mrz_issuing_state, intact)
    checks.append(chain_check)
    checks.append(check_revocation(dsc, csca_entry, store, at, policy.crl_max_age_days))
    checks.extend(hash_checks)
    checks.append(_check_completeness(sod, com_dgs))
    checks.append(_check_country(dsc, csca_entry.cert if csca_entry else None, mrz_issuing_state))

    demo = bool(csca_entry and csca_entry.demo)
    if demo:
        checks = [_mark_demo(c) for c in checks]
    return PAResult(checks, sod=sod, dsc=dsc, csca=csca_entry.cert if csca_entry else None, demo=demo,
                    signature_valid=sig_check.status is verdict.Status.PASSED)


# --- the individual checks ---------------------------------------------------------------------

def _dg_files(files: dict[str, bytes]) -> dict[int, bytes]:
    out = {}
    for name, raw in files.items():
        m = re.fullmatch(r"(?i)dg(\d{1,2})", str(name).strip())
        if m and 1 <= int(m.group(1)) <= 16 and raw is not None:
            out[int(m.group(1))] = bytes(raw)
    return out


def _find_dsc(sod: SOD, certificate: Callable[..., Certificate] = load_certificate
              ) -> tuple[Certificate | None, str, str | None]:
    """The embedded certificate the SignerInfo names: (certificate, how it matched, problem).

    A malformed embedded certificate (or one whose key identifier cannot be read) is
    skipped and named in the problem; ``how`` is then "malformed" when no other matched."""
    loose = None
    problems = []
    for i, raw in enumerate(sod.certificates):
        try:
            cert = certificate(raw, what=f"embedded certificate {i + 1}")
            how = cms.signer_matches(sod.signer, cert)
        except ChipidError as e:
            problems.append(str(e))
            continue
        if how == "exact":
            return cert, how, None
        if how and loose is None:
            loose = (cert, how)
    if loose:
        return loose[0], loose[1], None
    if not sod.certificates:
        return None, "", "EF.SOD carries no Document Signer certificate"
    if problems:
        return None, "malformed", f"the Document Signer certificate in EF.SOD is malformed: {problems[0]}"
    return None, "", "no embedded certificate matches the signer identifier"


def _check_signature(sod: SOD, certificate: Callable[..., Certificate] = load_certificate
                     ) -> tuple[Check, Certificate | None]:
    name = verdict.SOD_SIGNATURE
    dsc, how, problem = _find_dsc(sod, certificate)
    sig_info = signatures.describe(sod.signer.signature_algorithm, sod.signer.signature_params, sod.signer.digest_algorithm)
    details = {"signature_algorithm": sig_info, "hash_algorithm": sod.hash_algorithm,
               "content_type": sod.content_type, "legacy_content_type": sod.legacy_content_type,
               "lds_version": sod.lds_version}
    if dsc is None and how == "malformed":
        # A genuine chip carries its signer's certificate well-formed: positive evidence.
        return verdict.failed(name, f"The chip's signer certificate is unusable: {problem}",
                              "Chứng thư của cơ quan ký trong dữ liệu chip bị lỗi cấu trúc, không dùng được", **details), None
    if dsc is None:
        return verdict.not_performed(
            name, f"The document signer certificate is missing from the chip data: {problem}",
            "Chip không chứa chứng thư của cơ quan ký dữ liệu, không thể kiểm tra chữ ký", **details), None
    details.update(dsc_subject=dsc.subject, dsc_sha256=dsc.sha256, signer_match=how)
    try:
        result = cms.check_signer(sod.signer, sod.econtent, sod.content_type, dsc.public_key)
    except VerificationError as e:
        refused = any(w in str(e) for w in ("MD5", "RIPEMD", "refused"))
        if refused:
            return verdict.failed(name, f"The chip data is signed with a broken algorithm: {e}",
                                  "Dữ liệu chip được ký bằng thuật toán không an toàn (đã bị loại bỏ)", **details), dsc
        return verdict.not_performed(name, f"The chip data's signature could not be checked: {e}",
                                     "Không kiểm tra được chữ ký số của dữ liệu chip (thuật toán không hỗ trợ)", **details), dsc
    except ChipidError as e:
        return verdict.failed(name, f"The chip data's signature is unusable: {e}",
                              "Chữ ký số của dữ liệu chip bị lỗi, không dùng được", **details), dsc
    if not result.valid:
        return verdict.failed(name, f"The chip data's digital signature is NOT valid: {result.problem}",
                              f"Chữ ký số của dữ liệu chip KHÔNG hợp lệ: {result.problem_vi}", **details), dsc
    return verdict.passed(name, "The chip data's digital signature is valid",
                          "Chữ ký số của dữ liệu chip hợp lệ", **details), dsc


def _intact(sig_check: Check, hash_checks: list[Check]) -> str:
    """"signature+hashes" when the signature and every data-group hash read passed, "signature" when
    the signature passed and no data group was given, "" otherwise."""
    if sig_check.status is not verdict.Status.PASSED:
        return ""
    if not hash_checks:
        return "signature"
    return "signature+hashes" if all(c.status is verdict.Status.PASSED for c in hash_checks) else ""


def _check_dg_hashes(sod: SOD, dg_files: dict[int, bytes]) -> list[Check]:
    out = []
    h = sod.hash_algorithm
    for n in sorted(dg_files):
        name = f"dg_hash_{n}"
        raw = dg_files[n]
        expected = sod.dg_hashes.get(n)
        if expected is None:
            out.append(verdict.failed(name, f"DG{n} was read but the signed security data has no hash for it",
                                      f"Dữ liệu DG{n} không được ký (không có trong dữ liệu bảo mật)", hash_algorithm=h))
            continue
        if h in signatures.REFUSED_DIGESTS:
            out.append(verdict.failed(name, f"DG{n} is protected only by {h.upper()}, a broken hash: refused",
                                      f"DG{n} chỉ được bảo vệ bằng thuật toán băm {h.upper()} không an toàn", hash_algorithm=h))
            continue
        if h not in signatures.DIGEST_SIZES:
            out.append(verdict.failed(name, f"DG{n}: unknown hash algorithm {h} in the security data",
                                      f"DG{n}: thuật toán băm không xác định", hash_algorithm=h))
            continue
        actual = hashlib.new(h, raw).digest()
        details = {"hash_algorithm": h, "expected": expected.hex(), "actual": actual.hex(), "length": len(raw)}
        if hmac.compare_digest(actual, expected):
            out.append(verdict.passed(name, f"DG{n} is exactly as signed by the issuer",
                                      f"Dữ liệu DG{n} đúng như cơ quan cấp đã ký", **details))
        else:
            out.append(verdict.failed(name, f"DG{n} was CHANGED after signing: its hash does not match",
                                      f"Dữ liệu DG{n} ĐÃ BỊ THAY ĐỔI sau khi ký (giá trị băm không khớp)", **details))
    return out


#: Data groups behind Extended Access Control (fingerprints, iris: ICAO 9303-11 §7), never read here.
_EAC_ONLY_GROUPS = frozenset({3, 4})


def _check_completeness(sod: SOD, com_dgs: list[int] | None) -> Check:
    name = verdict.SOD_COMPLETENESS
    if com_dgs is None:
        return verdict.not_performed(name, "EF.COM was not read, so the list of data groups was not compared",
                                     "Chưa đọc EF.COM nên chưa đối chiếu danh sách nhóm dữ liệu")
    com, signed = set(com_dgs), set(sod.dg_hashes)
    details = {"com": sorted(com), "sod": sorted(signed)}
    # Real CCCDs list DG3 (fingerprints, EAC-protected: 6982) in EF.COM but do not hash it in EF.SOD
    # (/work/shared/data/cccd/README.md); an EAC group a terminal cannot read is not a completeness failure.
    unsigned = sorted(com - signed - _EAC_ONLY_GROUPS)
    unlisted = sorted(signed - com)
    if unsigned or unlisted:
        parts_en, parts_vi = [], []
        if unsigned:
            parts_en.append(f"listed in EF.COM but not signed: {', '.join(f'DG{n}' for n in unsigned)}")
            parts_vi.append(f"có trong EF.COM nhưng không được ký: {', '.join(f'DG{n}' for n in unsigned)}")
        if unlisted:
            parts_en.append(f"signed but missing from EF.COM: {', '.join(f'DG{n}' for n in unlisted)}")
            parts_vi.append(f"được ký nhưng không có trong EF.COM: {', '.join(f'DG{n}' for n in unlisted)}")
        return verdict.failed(name, "The chip's file list does not match the signed data: " + "; ".join(parts_en),
                              "Danh sách tệp trên chip không khớp với dữ liệu đã ký: " + "; ".join(parts_vi),
                              **details, unsigned=unsigned, unlisted=unlisted)
    return verdict.passed(name, "Every data group the chip lists is covered by the signature",
                          "Mọi nhóm dữ liệu trên chip đều được ký", **details)


def _check_country(dsc: Certificate | None, csca: Certificate | None, mrz_state: str | None) -> Check:
    name = verdict.ISSUER_COUNTRY
    mrz_cc = alpha2(mrz_state) if mrz_state else None
    details = {"mrz_issuing_state": mrz_state, "mrz_country": mrz_cc,
               "dsc_country": dsc.country if dsc else None, "dsc_issuer_country": dsc.issuer_country if dsc else None,
               "csca_country": csca.country if csca else None}
    if dsc is None:
        return verdict.not_performed(name, "No document signer certificate: the issuing country was not compared",
                                     "Không có chứng thư cơ quan ký, chưa đối chiếu quốc gia cấp")
    if mrz_state and mrz_cc is None:
        return verdict.not_performed(name, f"The issuing state code {mrz_state!r} of the MRZ is unknown",
                                     "Mã quốc gia cấp trên vùng MRZ không xác định", **details)
    if csca is None:
        # The issuer is not installed: its country is only what the DSC says, which must agree
        # with the DSC's own country and the card's issuing state (a forged signer country).
        conflict = country_conflict(dsc, mrz_state)
        if conflict:
            return verdict.failed(name, "The countries do not agree: " + conflict[0],
                                  "Quốc gia không khớp: " + conflict[1], **details)
    if csca is not None and dsc.country and csca.country and dsc.country != csca.country:
        return verdict.failed(name, f"The document signer is from {dsc.country} but its authority is from {csca.country}",
                              f"Quốc gia của cơ quan ký ({dsc.country}) khác quốc gia của cơ quan cấp gốc ({csca.country})", **details)
    signer_cc = (csca.country if csca is not None else None) or dsc.country
    if mrz_cc and signer_cc and mrz_cc != signer_cc:
        return verdict.failed(name, f"The card says it was issued by {mrz_state} but it was signed by an authority of {signer_cc}",
                              f"Thẻ ghi quốc gia cấp là {mrz_state} nhưng được ký bởi cơ quan của {signer_cc} (dấu hiệu giả mạo)",
                              **details)
    if csca is None:
        return verdict.not_performed(name, "The signing authority is unknown, so the issuing country is not confirmed",
                                     "Chưa xác định được cơ quan ký nên chưa xác nhận quốc gia cấp", **details)
    if not mrz_cc:
        return verdict.not_performed(name, "No MRZ issuing state to compare with the signing authority's country",
                                     "Không có mã quốc gia cấp trên MRZ để đối chiếu", **details)
    return verdict.passed(name, f"The issuing country ({mrz_state}) matches the signing authority ({signer_cc})",
                          f"Quốc gia cấp ({mrz_state}) khớp với cơ quan ký ({signer_cc})", **details)


def _mark_demo(check: Check) -> Check:
    details = dict(check.details, demo=True)
    return Check(check.name, check.status, _DEMO_EN + check.reason, _DEMO_VI + (check.reason_vi or check.reason), details)
