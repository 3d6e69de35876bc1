"""The four real EF.SOD files verify and chain to exactly the given CSCA using only the German master list."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from verifier.trust.sod import parse_sod
from verifier.trust.certs import load_certificate
from verifier.trust.passive import passive_authentication, verify_passive
from verifier.verdict import Status

MRZ_STATE = {"DE": "D<<", "FR": "FRA", "MY": "MYS", "US": "USA"}
AT = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("label", ["DE", "FR", "MY", "US"])
def test_real_sod_verifies_and_chains_to_the_given_csca(label, real_sods, german_store):
    case = next(c for c in real_sods if c["label"] == label)
    raw = bytes.fromhex(case["sod"])
    sod = parse_sod(raw)
    assert sod.dg_hashes[1].hex() == case["dg1_hash"]
    assert sod.dg_hashes[2].hex() == case["dg2_hash"]
    if case["lds_version"]:
        assert (sod.lds_version, sod.unicode_version) == (case["lds_version"], case["unicode_version"])
    result = verify_passive(raw, {}, german_store, at=AT, mrz_issuing_state=MRZ_STATE[label], com_dgs=None)
    checks = {c.name: c for c in result.checks}
    assert checks["sod_signature"].status is Status.PASSED, checks["sod_signature"].reason
    assert checks["dsc_chain"].status is Status.PASSED, checks["dsc_chain"].reason
    assert checks["issuer_country"].status is Status.PASSED, checks["issuer_country"].reason
    assert result.dsc.der == bytes.fromhex(case["dsc"])
    assert result.csca.der == bytes.fromhex(case["csca"])
    assert checks["dsc_chain"].details["csca_sha256"] == load_certificate(bytes.fromhex(case["csca"])).sha256
    assert checks["revocation"].status is Status.NOT_PERFORMED  # no CRL loaded, and it says so
    assert "CRL" in checks["revocation"].reason


def test_real_sod_with_one_bit_flipped_in_the_signature_fails(real_sods, german_store):
    case = next(c for c in real_sods if c["label"] == "FR")
    raw = bytearray(bytes.fromhex(case["sod"]))
    sod = parse_sod(bytes(raw))
    pos = bytes(raw).rindex(sod.signer.signature)
    raw[pos + 10] ^= 0x01
    checks = {c.name: c for c in passive_authentication(bytes(raw), {}, german_store, at=AT,
                                                        mrz_issuing_state="FRA", com_dgs=None)}
    assert checks["sod_signature"].status is Status.FAILED


def test_real_sod_with_a_changed_dg_hash_fails_the_message_digest(real_sods, german_store):
    case = next(c for c in real_sods if c["label"] == "US")
    raw = bytes.fromhex(case["sod"])
    h = bytes.fromhex(case["dg1_hash"])
    forged = raw.replace(h, bytes([h[0] ^ 0x80]) + h[1:])
    checks = {c.name: c for c in passive_authentication(forged, {}, german_store, at=AT,
                                                        mrz_issuing_state="USA", com_dgs=None)}
    assert checks["sod_signature"].status is Status.FAILED
    assert "digest" in checks["sod_signature"].reason


def test_real_sod_against_the_wrong_country_in_the_mrz(real_sods, german_store):
    case = next(c for c in real_sods if c["label"] == "MY")
    checks = {c.name: c for c in passive_authentication(bytes.fromhex(case["sod"]), {}, german_store, at=AT,
                                                        mrz_issuing_state="VNM", com_dgs=None)}
    assert checks["issuer_country"].status is Status.FAILED
    assert checks["sod_signature"].status is Status.PASSED


def test_shipped_default_trust_verifies_the_real_sods(real_sods):
    from verifier.trust.store import TrustStore

    store = TrustStore.default()
    for case in real_sods:
        result = verify_passive(bytes.fromhex(case["sod"]), {}, store, at=AT,
                                mrz_issuing_state=MRZ_STATE[case["label"]], com_dgs=None)
        assert result.csca is not None and result.csca.der == bytes.fromhex(case["csca"]), case["label"]


@pytest.mark.parametrize("policy", ["shell", "chain", "signing-time"])
def test_real_sods_under_each_validity_policy(real_sods, german_store, policy):
    for case in real_sods:
        checks = {c.name: c for c in passive_authentication(bytes.fromhex(case["sod"]), {}, german_store, at=AT,
                                                            mrz_issuing_state=MRZ_STATE[case["label"]], com_dgs=None,
                                                            policy=policy)}
        chain = checks["dsc_chain"]
        assert chain.status is Status.PASSED, (case["label"], chain.reason)
        assert chain.details["validity_policy"] == policy
    # Far in the future every DSC has expired under the shell policy.
    late = datetime(2045, 1, 1, tzinfo=timezone.utc)
    checks = {c.name: c for c in passive_authentication(bytes.fromhex(real_sods[0]["sod"]), {}, german_store, at=late,
                                                        mrz_issuing_state="D", com_dgs=None)}
    assert checks["dsc_chain"].status is Status.FAILED and "expired" in checks["dsc_chain"].reason
