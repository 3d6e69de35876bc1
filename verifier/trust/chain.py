"""Certificate path validation for passive authentication: Document Signer (DSC) -> installed CSCA.

The ``dsc_chain`` check of :mod:`verifier.trust.passive` (ICAO 9303-11 §5.1 step 2, ICAO 9303-12
§5 and §7.1 certificate profiles, RFC 5280 §6.1 path validation with a path of one): the DSC
fits the Document Signer profile (:mod:`verifier.trust.profile`) and was issued and signed by
a CSCA in the trust store (found by authority key identifier and issuer name, self-signed
anchors only, link certificates never used as intermediates), validity per the policy
(:data:`verifier.trust.passive.VALIDITY_POLICIES`), no unknown critical extension (RFC 5280
§4.2). When the issuing CSCA is *not installed* the chain is ``not_performed`` with a reason
that names the missing authority and what to install (:func:`not_installed`); it *fails* only
on positive evidence, including issuer and subject countries and the issuing state that
disagree (:func:`country_conflict`).
"""

from __future__ import annotations

from datetime import datetime

from verifier import verdict
from verifier.errors import ChipidError, ParseError
from verifier.trust import cccd
from verifier.trust.certs import Certificate, signed_by
from verifier.trust.countries import alpha2
from verifier.trust.profile import dsc_profile_problems
from verifier.trust.sod import SOD
from verifier.trust.store import TrustEntry, TrustStore, self_signed
from verifier.verdict import Check

#: Extensions understood here (RFC 5280 §4.2, ICAO 9303-12 §7.1.1); any other marked critical is refused.
KNOWN_EXTENSIONS = frozenset({
    "2.5.29.14", "2.5.29.15", "2.5.29.16", "2.5.29.17", "2.5.29.18", "2.5.29.19", "2.5.29.30", "2.5.29.31",
    "2.5.29.32", "2.5.29.35", "2.5.29.36", "2.5.29.37", "2.5.29.54",
    "2.23.136.1.1.6.1",  # ICAO name change
    "2.23.136.1.1.6.2",  # ICAO document type list
})


def verifies(cert: Certificate, issuer: Certificate) -> bool:
    try:
        return cert.is_signed_by(issuer)
    except ChipidError:
        return False


def validity_window(dsc: Certificate, csca: Certificate, sod: SOD, at: datetime,
                    validity: str) -> tuple[list[str], list[str], dict]:
    """Problems (en, vi) under the validity policy ``validity`` (:data:`verifier.trust.passive.VALIDITY_POLICIES`),
    and the times used."""
    en, vi = [], []
    info: dict = {"validity_policy": validity, "checked_at": at.isoformat(),
                  "dsc_valid": [dsc.not_before.isoformat(), dsc.not_after.isoformat()],
                  "csca_valid": [csca.not_before.isoformat(), csca.not_after.isoformat()]}
    if validity == "shell":
        dsc_time, csca_time = at, at
    else:
        csca_time = dsc.not_before
        dsc_time = at
        if validity == "signing-time":
            st = sod.signer.signing_time
            if st is None:
                info["signing_time"] = None
                info["note"] = "EF.SOD has no signing-time attribute: the DSC is checked at the time of the check"
            else:
                dsc_time = st
                info["signing_time"] = st.isoformat()
    info.update(dsc_checked_at=dsc_time.isoformat(), csca_checked_at=csca_time.isoformat())
    # the DSC not yet valid by this computer's clock (not by a time the card carries): a clock set in the
    # past, not a forged card (a forger gains nothing from a DSC dated in the future)
    info["clock_behind"] = dsc_time is at and at < dsc.not_before
    for cert, when, who_en, who_vi in ((dsc, dsc_time, "document signer", "cơ quan ký dữ liệu"),
                                       (csca, csca_time, "national authority (CSCA)", "cơ quan cấp gốc (CSCA)")):
        if when < cert.not_before:
            en.append(f"the {who_en} certificate was not yet valid on {when:%Y-%m-%d} (valid from {cert.not_before:%Y-%m-%d})")
            vi.append(f"chứng thư của {who_vi} chưa có hiệu lực vào ngày {when:%d/%m/%Y}")
        elif when > cert.not_after:
            en.append(f"the {who_en} certificate had expired on {when:%Y-%m-%d} (valid until {cert.not_after:%Y-%m-%d})")
            vi.append(f"chứng thư của {who_vi} đã hết hạn vào ngày {when:%d/%m/%Y}")
    return en, vi, info


def safe_ski(cert: Certificate) -> bytes | None:
    try:
        return cert.subject_key_identifier
    except ParseError:
        return None


def country_conflict(dsc: Certificate, mrz_state: str | None) -> tuple[str, str] | None:
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


def not_installed(dsc: Certificate, store: TrustStore, intact: str, base: dict) -> Check:
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


def check_chain(dsc: Certificate | None, sod: SOD, store: TrustStore, at: datetime, validity: str,
                mrz_state: str | None = None, intact: str = "") -> tuple[Check, TrustEntry | None]:
    """The ``dsc_chain`` check (see the module docstring), and the trust entry of the CSCA that
    issued ``dsc`` when one is installed and verifies it. ``validity``: the validity policy;
    ``intact``: what :func:`verifier.trust.passive.verify_passive` found intact, for the reason."""
    name = verdict.DSC_CHAIN
    if dsc is None:
        return verdict.not_performed(name, "There is no document signer certificate to check",
                                     "Không có chứng thư của cơ quan ký để kiểm tra"), None
    base = {"dsc_subject": dsc.subject, "dsc_issuer": dsc.issuer, "dsc_sha256": dsc.sha256,
            "validity_policy": validity}
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
        via_link = [e for e in links if verifies(dsc, e.cert)]
        if links and not via_link:
            return verdict.failed(name, "The document signer certificate was not signed by the authority it names "
                                        "(the installed certificate of that name or key identifier does not verify it)",
                                  "Chứng thư của cơ quan ký không do cơ quan cấp mà nó ghi tên ký (dấu hiệu giả mạo)",
                                  **base, links_only=True), None
        conflict = country_conflict(dsc, mrz_state)
        if conflict:
            return verdict.failed(name, f"The document signer cannot be genuine: {conflict[0]}",
                                  f"Cơ quan ký không hợp lệ: {conflict[1]}", **base, country_conflict=True), None
        if via_link:
            return verdict.not_performed(
                name, "The document signer was signed by a newer CSCA generation that is known only through a link "
                      "certificate; link certificates are not trusted on their own. Load that CSCA's own certificate.",
                "Cơ quan ký thuộc thế hệ CSCA mới chưa có trong danh sách tin cậy (chỉ có chứng thư liên kết); "
                "cần nạp chứng thư CSCA mới", **base, links_only=True, issuer_installed=False), None
        return not_installed(dsc, store, intact, base), None
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
        if any(verifies(dsc, e.cert) for e in store.link_candidates(dsc)):
            # Same name as an older generation, key only known through a link certificate (key rollover).
            return verdict.not_performed(
                name, "The document signer was signed by a newer CSCA generation that is known only through a link "
                      "certificate; link certificates are not trusted on their own. Load that CSCA's own certificate.",
                "Cơ quan ký thuộc thế hệ CSCA mới chưa có trong danh sách tin cậy (chỉ có chứng thư liên kết); "
                "cần nạp chứng thư CSCA mới", **base, tried=tried[:10], links_only=True, issuer_installed=False), None
        if aki and not any(safe_ski(e.cert) == aki for e in (*candidates, *store.link_candidates(dsc))):
            # the installed CSCAs share the issuer's name but none holds the key the DSC names (its
            # authority key identifier), not even through a link certificate: a new CSCA generation not
            # installed yet (a key rollover; master lists lag), so "issuer not installed", never "forged"
            # (a genuine card stays unverified). A DSC naming an installed key it does not verify under fails.
            conflict = country_conflict(dsc, mrz_state)
            if conflict:
                return verdict.failed(name, f"The document signer cannot be genuine: {conflict[0]}",
                                      f"Cơ quan ký không hợp lệ: {conflict[1]}", **base, country_conflict=True), None
            return not_installed(dsc, store, intact, base), None
        return verdict.failed(name, "The document signer certificate was not signed by the national authority it names",
                              "Chứng thư của cơ quan ký không do cơ quan cấp gốc ký (dấu hiệu giả mạo)",
                              **base, tried=tried[:10]), None

    def rank(e: TrustEntry):
        c = e.cert
        return (not self_signed(c),  # a self-issued link certificate without key identifiers is no anchor
                c.subject_name != dsc.issuer_name,
                not (aki and safe_ski(c) == aki),
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
    if aki and safe_ski(csca) and aki != safe_ski(csca):
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
    v_en, v_vi, v_info = validity_window(dsc, csca, sod, at, validity)
    details.update(v_info)
    problems_en += v_en
    problems_vi += v_vi
    details["key_usage"] = sorted(ku) if ku is not None else None
    if problems_en and problems_en == v_en and len(v_en) == 1 and v_info["clock_behind"]:
        return verdict.not_performed(
            name, f"The document signer certificate is valid only from {dsc.not_before:%Y-%m-%d}, after this computer's "
                  f"date ({at:%Y-%m-%d}): check the computer's clock, then read the card again",
            f"Chứng thư của cơ quan ký chỉ có hiệu lực từ ngày {dsc.not_before:%d/%m/%Y}, sau ngày của máy tính "
            f"({at:%d/%m/%Y}): hãy kiểm tra đồng hồ máy tính rồi đọc lại thẻ", **details), entry
    if problems_en:
        return verdict.failed(name, "The signing authority cannot be trusted: " + "; ".join(problems_en),
                              "Không thể tin cậy cơ quan ký: " + "; ".join(problems_vi), **details), entry
    return verdict.passed(name, f"The document signer was issued by {csca.subject}, a trusted national authority",
                          f"Cơ quan ký dữ liệu được cấp bởi cơ quan nhà nước tin cậy ({csca.country or '?'})",
                          **details), entry
