"""The Document Signer certificate profile (ICAO 9303-12 §7.1.1, tables 6 and 7; BSI TR-03105
Part 5.1 test cases H_50 to H_63 in spirit).

A genuine Document Signer certificate is an X.509 v3 certificate with

* a ``keyUsage`` extension, marked critical, asserting ``digitalSignature`` (and only a
  signer's usages);
* an ``authorityKeyIdentifier`` extension with the keyIdentifier of the CSCA key that issued it
  (how the CSCA generation is found: ICAO 9303-12 §7.1.1.1, RFC 5280 §4.2.1.1);
* a ``countryName`` in both its issuer and its subject name (ICAO 9303-12 §7.1.1: the
  issuing state is named in both).

A certificate outside that profile was not issued by a state's document-signing process:
refusing it is positive evidence, reported as a failed ``dsc_chain`` whether or not the
issuing CSCA is installed. :func:`dsc_profile_problems` lists every departure, in English
and Vietnamese.
"""

from __future__ import annotations

from verifier.errors import ParseError
from verifier.trust.certs import Certificate

_KU, _AKI = "2.5.29.15", "2.5.29.35"


def dsc_profile_problems(dsc: Certificate) -> tuple[list[str], list[str]]:
    """Departures of ``dsc`` from the Document Signer profile: (English, Vietnamese), same order."""
    en: list[str] = []
    vi: list[str] = []
    if not dsc.extensions:
        en.append("the document signer certificate has no extensions at all (ICAO 9303-12 §7.1.1 requires "
                  "keyUsage and authorityKeyIdentifier)")
        vi.append("chứng thư của cơ quan ký không có phần mở rộng nào (thiếu mục đích sử dụng khóa và mã khóa cơ quan cấp)")
    else:
        _key_usage_problems(dsc, en, vi)
        _aki_problems(dsc, en, vi)
    for who_en, who_vi, country in (("issuer", "cơ quan cấp", dsc.issuer_country), ("subject", "chủ thể", dsc.country)):
        if not country:
            en.append(f"the document signer certificate's {who_en} name has no country (countryName)")
            vi.append(f"tên {who_vi} trong chứng thư của cơ quan ký không có mã quốc gia")
    return en, vi


def _key_usage_problems(dsc: Certificate, en: list[str], vi: list[str]) -> None:
    ext = dsc.extensions.get(_KU)
    if ext is None:
        en.append("the document signer certificate has no keyUsage extension (ICAO 9303-12 §7.1.1 requires it, critical)")
        vi.append("chứng thư của cơ quan ký không ghi mục đích sử dụng khóa (keyUsage)")
        return
    if not ext.critical:
        en.append("the document signer certificate's keyUsage extension is not marked critical (ICAO 9303-12 §7.1.1)")
        vi.append("mục đích sử dụng khóa (keyUsage) trong chứng thư của cơ quan ký không được đánh dấu bắt buộc")
    try:
        ku = dsc.key_usage
    except ParseError as e:
        en.append(f"the document signer certificate's keyUsage is malformed: {e}")
        vi.append("mục đích sử dụng khóa trong chứng thư của cơ quan ký bị lỗi cấu trúc")
        return
    if ku is not None and "digital_signature" not in ku:
        en.append(f"the document signer certificate is not allowed to sign documents "
                  f"(key usage: {', '.join(sorted(ku)) or 'none'})")
        vi.append("chứng thư của cơ quan ký không được phép ký dữ liệu (sai mục đích sử dụng khóa)")


def _aki_problems(dsc: Certificate, en: list[str], vi: list[str]) -> None:
    if _AKI not in dsc.extensions:
        en.append("the document signer certificate has no authorityKeyIdentifier (ICAO 9303-12 §7.1.1 requires it)")
        vi.append("chứng thư của cơ quan ký không ghi mã định danh khóa của cơ quan cấp")
        return
    try:
        aki = dsc.authority_key_identifier
    except ParseError as e:
        en.append(f"the document signer certificate's authorityKeyIdentifier is malformed: {e}")
        vi.append("mã định danh khóa của cơ quan cấp trong chứng thư của cơ quan ký bị lỗi cấu trúc")
        return
    if not aki:
        en.append("the document signer certificate's authorityKeyIdentifier carries no keyIdentifier")
        vi.append("chứng thư của cơ quan ký không ghi mã định danh khóa của cơ quan cấp")
