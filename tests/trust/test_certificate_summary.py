"""Certificate.summary(): what ``chipid trust list``, ``chipid lds show`` and the diagnose bundle show.

Checked on the real CCCD Document Signer against the facts of cccd/README.md, on generated
certificates (RSA bits, no extensions), and on a malformed extension (reported, never raised).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from drivers.emulator import pki as p
from tests.conftest import SHARED_DATA
from verifier.trust.certs import load_certificate

REAL_DSC = (SHARED_DATA / "cccd" / "dsc_national_identification_00013.der").read_bytes()
UTC = timezone.utc


def test_real_cccd_document_signer():
    s = load_certificate(REAL_DSC).summary()
    assert json.loads(json.dumps(s)) == s  # JSON types only
    assert (s["key"], s["key_algorithm"], s["curve"], s["key_bits"]) == ("ECDSA brainpoolP384r1", "ec", "brainpoolP384r1", 384)
    assert (s["not_before"][:10], s["not_after"][:10]) == ("2021-05-28", "2043-08-21")
    assert {k: v[:10] for k, v in s["private_key_usage"].items()} == {"not_before": "2021-05-28", "not_after": "2021-08-26"}
    extensions = {e["name"]: e["critical"] for e in s["extensions"]}
    assert extensions == {"basicConstraints": True, "authorityKeyIdentifier": False, "authorityInfoAccess": False,
                          "subjectAltName": False, "cRLDistributionPoints": False, "subjectKeyIdentifier": False,
                          "privateKeyUsagePeriod": False, "keyUsage": True}
    assert s["extensions"][0] == {"oid": "2.5.29.19", "name": "basicConstraints", "critical": True}  # order as in the DER
    assert s["key_usage"] == ["digital_signature"]
    assert s["authority_key_identifier"] == "57AB7508224483F049CC635B2C95C4E446A58808"
    assert s["subject_key_identifier"] == "337912895DFDF1D31AF9DFD10310058267A26F54"
    assert s["crl_urls"] == ["http://npkd.gov.vn/crl/eid-csca-vietnam.crl", "http://ca.gov.vn/crl/eid-csca-vietnam.crl"]
    assert s["ca_issuer_urls"] == ["http://npkd.gov.vn/crt/eid-csca-vietnam.crt", "http://ca.gov.vn/crt/eid-csca-vietnam.crt"]
    assert s["extension_errors"] == {}


def test_generated_rsa_dsc_with_a_usage_period_and_urls():
    csca = p.make_csca("VN", "rsa2048", "chipid summary CSCA")
    start, end = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
    dsc = p.make_dsc(csca, key="rsa2048", not_before=start, private_key_usage=(start, end),
                     crl_urls=("http://example.test/a.crl",), ca_issuer_urls=("http://example.test/csca.crt",))
    s = load_certificate(dsc.der).summary()
    assert (s["key"], s["key_algorithm"], s["curve"], s["key_bits"]) == ("RSA-2048", "rsa", None, 2048)
    assert s["private_key_usage"] == {"not_before": start.isoformat(), "not_after": end.isoformat()}
    assert s["crl_urls"] == ["http://example.test/a.crl"] and s["ca_issuer_urls"] == ["http://example.test/csca.crt"]
    assert len(s["authority_key_identifier"]) == len(s["subject_key_identifier"]) == 40


def test_csca_without_usage_period_or_urls():
    s = load_certificate(p.make_csca("VN", "secp256r1", "chipid summary CSCA").der).summary()
    assert s["private_key_usage"] is None and s["crl_urls"] == s["ca_issuer_urls"] == []
    assert s["key_usage"] == ["key_cert_sign", "crl_sign"]
    assert {"name": "keyUsage", "oid": "2.5.29.15", "critical": True} in s["extensions"]


def test_a_malformed_extension_is_reported_not_raised():
    pkup = bytes.fromhex("3022800f")  # privateKeyUsagePeriod: SEQUENCE, [0] notBefore ...
    assert REAL_DSC.count(pkup) == 1
    broken = REAL_DSC.replace(pkup, bytes.fromhex("3022820f"))  # ... made [2], which does not exist
    s = load_certificate(broken).summary()
    assert s["private_key_usage"] is None
    assert "privateKeyUsagePeriod" in s["extension_errors"]["private_key_usage_period"]
    assert s["crl_urls"] and s["key"] == "ECDSA brainpoolP384r1"  # the rest is still shown
