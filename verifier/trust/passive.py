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
   cannot sign for another);
3. ``revocation``: neither the DSC nor the CSCA is on a verified CRL of the CSCA; a CRL
   past its nextUpdate plus the grace period is reported as stale;
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
from dataclasses import dataclass, field
from datetime import datetime, timezone

from verifier import verdict
from verifier.errors import ChipidError, ParseError, VerificationError
from verifier.trust.sod import SOD, parse_sod
from verifier.trust import cccd, cms, signatures
from verifier.trust.certs import Certificate, load_certificate, signed_by
from verifier.trust.profile import dsc_profile_problems
from verifier.trust.countries import alpha2
from verifier.trust.store import TrustEntry, TrustStore, self_signed
from verifier.verdict import Check

log = logging.getLogger(__name__)

VALIDITY_POLICIES = ("shell", "chain", "signing-time")

#: Extensions understood here (RFC 5280 §4.2, ICAO 9303-12 §7.1.1); any other marked critical is refused.
KNOWN_EXTENSIONS = frozenset({
    "2.5.29.14", "2.5.29.15", "2.5.29.16", "2.5.29.17", "2.5.29.18", "2.5.29.19", "2.5.29.30", "2.5.29.31",
    "2.5.29.32", "2.5.29.35", "2.5.29.36", "2.5.29.37", "2.5.29.54",
    "2.23.136.1.1.6.1",  # ICAO name change
    "2.23.136.1.1.6.2",  # ICAO document type list
})

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
                   policy: PAPolicy | str = PAPolicy()) -> PAResult:
    """Like :func:`passive_authentication`, returning the parsed SOD, DSC and CSCA too."""
    if isinstance(policy, str):
        policy = PAPolicy(validity=policy)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    dg_files = _dg_files(files)

    try:
        sod = parse_sod(sod_raw)
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
    sig_check, dsc = _check_signature(sod)
    checks.append(sig_check)
    hash_checks = _check_dg_hashes(sod, dg_files)
    intact = _intact(sig_check, hash_checks)
    chain_check, csca_entry = _check_chain(dsc, sod, store, at, policy, mrz_issuing_state, intact)
    checks.append(chain_check)
    checks.append(_check_revocation(dsc, csca_entry, store, at, policy))
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


def _find_dsc(sod: SOD) -> tuple[Certificate | None, str, str | None]:
    """The embedded certificate the SignerInfo names: (certificate, how it matched, problem).

    A malformed embedded certificate (or one whose key identifier cannot be read) is
    skipped and named in the problem; ``how`` is then "malformed" when no other matched."""
    loose = None
    problems = []
    for i, raw in enumerate(sod.certificates):
        try:
            cert = load_certificate(raw, what=f"embedded certificate {i + 1}")
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


def _check_signature(sod: SOD) -> tuple[Check, Certificate | None]:
    name = verdict.SOD_SIGNATURE
    dsc, how, problem = _find_dsc(sod)
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


def _verifies(cert: Certificate, issuer: Certificate) -> bool:
    try:
        return cert.is_signed_by(issuer)
    except ChipidError:
        return False


def _validity_window(dsc: Certificate, csca: Certificate, sod: SOD, at: datetime, policy: PAPolicy) -> tuple[list[str], list[str], dict]:
    """Problems (en, vi) under the validity policy, and the times used."""
    en, vi = [], []
    info: dict = {"validity_policy": policy.validity, "checked_at": at.isoformat(),
                  "dsc_valid": [dsc.not_before.isoformat(), dsc.not_after.isoformat()],
                  "csca_valid": [csca.not_before.isoformat(), csca.not_after.isoformat()]}
    if policy.validity == "shell":
        dsc_time, csca_time = at, at
    else:
        csca_time = dsc.not_before
        dsc_time = at
        if policy.validity == "signing-time":
            st = sod.signer.signing_time
            if st is None:
                info["signing_time"] = None
                info["note"] = "EF.SOD has no signing-time attribute: the DSC is checked at the time of the check"
            else:
                dsc_time = st
                info["signing_time"] = st.isoformat()
    info.update(dsc_checked_at=dsc_time.isoformat(), csca_checked_at=csca_time.isoformat())
    for cert, when, who_en, who_vi in ((dsc, dsc_time, "document signer", "cơ quan ký dữ liệu"),
                                       (csca, csca_time, "national authority (CSCA)", "cơ quan cấp gốc (CSCA)")):
        if when < cert.not_before:
            en.append(f"the {who_en} certificate was not yet valid on {when:%Y-%m-%d} (valid from {cert.not_before:%Y-%m-%d})")
            vi.append(f"chứng thư của {who_vi} chưa có hiệu lực vào ngày {when:%d/%m/%Y}")
        elif when > cert.not_after:
            en.append(f"the {who_en} certificate had expired on {when:%Y-%m-%d} (valid until {cert.not_after:%Y-%m-%d})")
            vi.append(f"chứng thư của {who_vi} đã hết hạn vào ngày {when:%d/%m/%Y}")
    return en, vi, info


def _intact(sig_check: Check, hash_checks: list[Check]) -> str:
    """"signature+hashes" when the signature and every data-group hash read passed, "signature" when
    the signature passed and no data group was given, "" otherwise."""
    if sig_check.status is not verdict.Status.PASSED:
        return ""
    if not hash_checks:
        return "signature"
    return "signature+hashes" if all(c.status is verdict.Status.PASSED for c in hash_checks) else ""


def _safe_ski(cert: Certificate) -> bytes | None:
    try:
        return cert.subject_key_identifier
    except ParseError:
        return None


def _country_conflict(dsc: Certificate, mrz_state: str | None) -> tuple[str, str] | None:
    """Issuer country, subject country and issuing state that disagree: (en, vi), or None."""
    mrz_cc = alpha2(mrz_state) if mrz_state else None
    named = {"issuer": dsc.issuer_country, "subject": dsc.country, "card": mrz_cc}
    seen = {v for v in named.values() if v}
    if len(seen) <= 1:
        return None
    return (f"the document signer claims {dsc.country or '?'} but its issuing authority is of "
            f"{dsc.issuer_country or '?'} and the card names {mrz_state or '?'} as issuing state: an authority "
            f"signs only for its own state",
            f"cơ quan ký ghi quốc gia {dsc.country or '?'} nhưng cơ quan cấp thuộc quốc gia {dsc.issuer_country or '?'} "
            f"và thẻ ghi quốc gia cấp {mrz_state or '?'}: một quốc gia chỉ ký cho thẻ của chính mình (dấu hiệu giả mạo)")


def _not_installed(dsc: Certificate, store: TrustStore, intact: str, base: dict) -> Check:
    """The issuing CSCA is not in the trust store: ``not_performed`` (verdict ``unverified``),
    naming the missing authority, what was proven and what to install."""
    try:
        aki = dsc.authority_key_identifier
    except ParseError:
        aki = None
    key_id = aki.hex().upper() if aki else "none"
    eid = cccd.is_eid_issuer(dsc, store.witnesses)
    try:
        aia = dsc.ca_issuer_urls
    except ParseError:
        aia = ()
    if eid is not None:
        urls = eid.cert_urls or aia
        what_en = (f"Vietnam's eID CSCA {eid.authority_name!r} (run `chipid trust refresh`, or `chipid trust import` "
                   f"the certificate published at {' or '.join(urls)})")
        what_vi = (f"chứng thư gốc eID {eid.authority_name!r} của Việt Nam (chạy `chipid trust refresh`, hoặc "
                   f"`chipid trust import` chứng thư được công bố tại {' hoặc '.join(urls)})")
    elif aia:
        urls = aia
        what_en = f"that authority's CSCA certificate (published at {' or '.join(aia)}) or a master list holding it"
        what_vi = f"chứng thư CSCA của cơ quan đó (công bố tại {' hoặc '.join(aia)}) hoặc danh sách CSCA có chứa nó"
    else:
        urls = ()
        what_en = f"the CSCA certificate of {dsc.issuer_country or 'that state'} or a master list holding it"
        what_vi = f"chứng thư CSCA của quốc gia {dsc.issuer_country or ''} hoặc danh sách CSCA có chứa nó"
    proven_en = {"signature+hashes": "The card's signature and data hashes are intact, but",
                 "signature": "The card's signature is intact, but"}.get(intact, "So")
    proven_vi = {"signature+hashes": "Chữ ký số và giá trị băm của dữ liệu thẻ vẫn toàn vẹn, nhưng",
                 "signature": "Chữ ký số của dữ liệu thẻ vẫn toàn vẹn, nhưng"}.get(intact, "Vì vậy")
    return verdict.not_performed(
        verdict.DSC_CHAIN,
        f"The authority that issued the document signer is not installed: {dsc.issuer} (key identifier {key_id}) "
        f"is not in the trust list. {proven_en} the chain to the national authority cannot be checked. "
        f"Install {what_en}.",
        f"Chưa cài đặt cơ quan cấp chứng thư cho cơ quan ký: {dsc.issuer} (mã khóa {key_id}) chưa có trong danh sách "
        f"tin cậy. {proven_vi} chưa kiểm tra được chuỗi chứng thực đến cơ quan nhà nước. Cần cài đặt {what_vi}.",
        **base, no_anchor=True, issuer_installed=False, missing_issuer=dsc.issuer, missing_key_id=key_id,
        install_urls=list(urls), eid_csca=eid is not None)


def _check_chain(dsc: Certificate | None, sod: SOD, store: TrustStore, at: datetime, policy: PAPolicy,
                 mrz_state: str | None = None, intact: str = "") -> tuple[Check, TrustEntry | None]:
    name = verdict.DSC_CHAIN
    if dsc is None:
        return verdict.not_performed(name, "There is no document signer certificate to check",
                                     "Không có chứng thư của cơ quan ký để kiểm tra"), None
    base = {"dsc_subject": dsc.subject, "dsc_issuer": dsc.issuer, "dsc_sha256": dsc.sha256,
            "validity_policy": policy.validity}
    profile_en, profile_vi = dsc_profile_problems(dsc)
    if profile_en:
        return verdict.failed(name, "The document signer certificate does not fit the ICAO profile: " + "; ".join(profile_en),
                              "Chứng thư của cơ quan ký không đúng chuẩn ICAO: " + "; ".join(profile_vi),
                              **base, profile=profile_en), None
    ku = dsc.key_usage
    if dsc.self_issued and self_signed(dsc):
        return verdict.failed(name, "The document signer certificate signed itself: it was not issued by a national authority",
                              "Chứng thư của cơ quan ký tự ký, không do cơ quan nhà nước cấp (dấu hiệu giả mạo)", **base), None
    candidates = store.issuer_candidates(dsc)
    if not candidates:
        links = store.link_candidates(dsc)
        via_link = [e for e in links if _verifies(dsc, e.cert)]
        if links and not via_link:
            return verdict.failed(name, "The document signer certificate was not signed by the authority it names "
                                        "(the installed certificate of that name or key identifier does not verify it)",
                                  "Chứng thư của cơ quan ký không do cơ quan cấp mà nó ghi tên ký (dấu hiệu giả mạo)",
                                  **base, links_only=True), None
        conflict = _country_conflict(dsc, mrz_state)
        if conflict:
            return verdict.failed(name, f"The document signer cannot be genuine: {conflict[0]}",
                                  f"Cơ quan ký không hợp lệ: {conflict[1]}", **base, country_conflict=True), None
        if via_link:
            return verdict.not_performed(
                name, "The document signer was signed by a newer CSCA generation that is known only through a link "
                      "certificate; link certificates are not trusted on their own. Load that CSCA's own certificate.",
                "Cơ quan ký thuộc thế hệ CSCA mới chưa có trong danh sách tin cậy (chỉ có chứng thư liên kết); "
                "cần nạp chứng thư CSCA mới", **base, links_only=True, issuer_installed=False), None
        return _not_installed(dsc, store, intact, base), None
    aki = dsc.authority_key_identifier
    tried = []
    verified = []
    for entry in candidates:
        c = entry.cert
        try:
            ok = signed_by(dsc, c)
        except ChipidError as e:
            tried.append(f"{c.subject}: {e}")
            continue
        if not ok:
            tried.append(f"{c.subject} ({c.sha256[:12]}): signature does not verify")
            continue
        verified.append(entry)
    if not verified:
        if any(_verifies(dsc, e.cert) for e in store.link_candidates(dsc)):
            # Same name as an older generation, key only known through a link certificate (key rollover).
            return verdict.not_performed(
                name, "The document signer was signed by a newer CSCA generation that is known only through a link "
                      "certificate; link certificates are not trusted on their own. Load that CSCA's own certificate.",
                "Cơ quan ký thuộc thế hệ CSCA mới chưa có trong danh sách tin cậy (chỉ có chứng thư liên kết); "
                "cần nạp chứng thư CSCA mới", **base, tried=tried[:10], links_only=True, issuer_installed=False), None
        return verdict.failed(name, "The document signer certificate was not signed by the national authority it names",
                              "Chứng thư của cơ quan ký không do cơ quan cấp gốc ký (dấu hiệu giả mạo)",
                              **base, tried=tried[:10]), None

    def rank(e: TrustEntry):
        c = e.cert
        return (not self_signed(c),  # a self-issued link certificate without key identifiers is no anchor
                c.subject_name != dsc.issuer_name,
                not (aki and _safe_ski(c) == aki),
                not c.valid_at(at), -c.not_after.timestamp(), c.sha256)

    verified.sort(key=rank)
    entry = verified[0]
    csca = entry.cert
    details = dict(base, csca_subject=csca.subject, csca_sha256=csca.sha256, csca_source=entry.source,
                   demo=entry.demo, also_verified_by=[e.cert.sha256 for e in verified[1:]])
    problems_en, problems_vi = [], []
    if csca.subject_name != dsc.issuer_name:
        problems_en.append(f"the document signer names its issuer {dsc.issuer!r} but was signed by {csca.subject!r}")
        problems_vi.append("tên cơ quan cấp trong chứng thư không khớp với cơ quan đã ký")
    if aki and _safe_ski(csca) and aki != _safe_ski(csca):
        problems_en.append("the document signer's authority key identifier does not match the CSCA")
        problems_vi.append("mã định danh khóa của cơ quan cấp không khớp")
    if not self_signed(csca):
        problems_en.append(f"the CSCA certificate {csca.subject} does not verify its own signature")
        problems_vi.append("chứng thư gốc CSCA không tự xác thực được")
    try:
        cku = csca.key_usage
    except ParseError:
        cku = frozenset()
    if (cku is not None and "key_cert_sign" not in cku) or (cku is None and not csca.is_ca):
        problems_en.append("the CSCA certificate is not allowed to issue certificates (key usage)")
        problems_vi.append("chứng thư gốc CSCA không được phép cấp chứng thư")
    for cert, who_en, who_vi in ((dsc, "document signer", "cơ quan ký"), (csca, "CSCA", "CSCA")):
        unknown = sorted(cert.critical_extensions - KNOWN_EXTENSIONS)
        if unknown:
            problems_en.append(f"the {who_en} certificate has a critical extension this verifier does not know "
                               f"({', '.join(unknown)}), which RFC 5280 requires to refuse")
            problems_vi.append(f"chứng thư {who_vi} có phần mở rộng bắt buộc không xác định")
    v_en, v_vi, v_info = _validity_window(dsc, csca, sod, at, policy)
    details.update(v_info)
    problems_en += v_en
    problems_vi += v_vi
    details["key_usage"] = sorted(ku) if ku is not None else None
    if problems_en:
        return verdict.failed(name, "The signing authority cannot be trusted: " + "; ".join(problems_en),
                              "Không thể tin cậy cơ quan ký: " + "; ".join(problems_vi), **details), entry
    return verdict.passed(name, f"The document signer was issued by {csca.subject}, a trusted national authority",
                          f"Cơ quan ký dữ liệu được cấp bởi cơ quan nhà nước tin cậy ({csca.country or '?'})",
                          **details), entry


def _check_revocation(dsc: Certificate | None, csca_entry: TrustEntry | None, store: TrustStore, at: datetime,
                      policy: PAPolicy) -> Check:
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
    fresh = newest.freshness(at, policy.crl_max_age_days)
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
        conflict = _country_conflict(dsc, mrz_state)
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
