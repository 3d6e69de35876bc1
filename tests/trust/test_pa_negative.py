"""Negative suite of passive authentication, in the spirit of BSI TR-03105 Part 5.1.

Each test builds a card with the test PKI of the emulated chip (drivers/emulator/pki.py),
breaks one thing, and checks that exactly the right check fails with a reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from drivers.emulator import pki as p
from verifier.errors import ParseError, TrustError
from verifier.trust.sod import parse_sod
from verifier.trust.passive import PAPolicy, passive_authentication
from verifier.trust.store import TrustStore
from verifier.verdict import Outcome, Status, decide

AT = datetime(2026, 6, 1, tzinfo=timezone.utc)
UTC = timezone.utc


def run(pki, sod, *, files=None, store=None, com=..., mrz="VNM", at=AT, policy="shell"):
    checks = passive_authentication(sod, {f"DG{n}": b for n, b in (files or pki.dgs).items()},
                                    pki.store() if store is None else store, at=at, mrz_issuing_state=mrz,
                                    com_dgs=pki.com if com is ... else com, policy=policy)
    return {c.name: c for c in checks}


def status(checks, name):
    return checks[name].status


def sod_for(pki, **kw):
    dsc = kw.pop("dsc", pki.dsc)
    return p.build_sod(pki.dgs, dsc.key, dsc, **kw)


def assert_all_passed(checks, except_=()):
    for name, c in checks.items():
        if name in except_:
            continue
        assert c.status is Status.PASSED, f"{name}: {c.reason}"


# --- the good card --------------------------------------------------------------------------

def test_good_card_passes_every_check(pki):
    checks = run(pki, sod_for(pki), store=pki.store(p.make_crl(pki.csca, this_update=AT - timedelta(days=1))))
    assert_all_passed(checks)
    assert {f"dg_hash_{n}" for n in pki.dgs} <= set(checks)
    assert checks["sod_signature"].reason_vi == "Chữ ký số của dữ liệu chip hợp lệ"
    assert checks["sod_signature"].reason == "The chip data's digital signature is valid"
    assert checks["dsc_chain"].details["validity_policy"] == "shell"


# --- data group hashes ------------------------------------------------------------------------

def test_dg_hash_mismatch_fails_that_dg_only(pki):
    files = dict(pki.dgs)
    files[2] = files[2][:-1] + b"\x00"
    checks = run(pki, sod_for(pki), files=files)
    assert status(checks, "dg_hash_2") is Status.FAILED
    assert "CHANGED" in checks["dg_hash_2"].reason
    assert status(checks, "dg_hash_1") is Status.PASSED
    assert status(checks, "sod_signature") is Status.PASSED


def test_extra_dg_in_sod_not_in_com_fails_completeness(pki):
    checks = run(pki, sod_for(pki, extra_dg_hashes={3: b"\x11" * 32}))
    assert status(checks, "sod_completeness") is Status.FAILED
    assert checks["sod_completeness"].details["unlisted"] == [3]
    assert "dg_hash_3" not in checks  # DG3 was not read (EAC-protected): nothing to compare


def test_dg_read_but_missing_from_sod_fails(pki):
    checks = run(pki, sod_for(pki, drop_dgs=[13]))
    assert status(checks, "dg_hash_13") is Status.FAILED
    assert "no hash" in checks["dg_hash_13"].reason
    assert status(checks, "sod_completeness") is Status.FAILED
    assert checks["sod_completeness"].details["unsigned"] == [13]


def test_sod_vs_com_mismatch(pki):
    checks = run(pki, sod_for(pki), com=[1, 2, 5, 13, 14, 15])
    assert status(checks, "sod_completeness") is Status.FAILED
    assert checks["sod_completeness"].details["unsigned"] == [5]
    # Real CCCDs list DG3 (EAC-protected fingerprints) in EF.COM without hashing it in EF.SOD (cccd/README.md).
    assert status(run(pki, sod_for(pki), com=[1, 2, 3, 13, 14, 15]), "sod_completeness") is Status.PASSED
    checks = run(pki, sod_for(pki), com=None)
    assert status(checks, "sod_completeness") is Status.NOT_PERFORMED


@pytest.mark.parametrize("econtent", [
    # duplicate DG number
    p.seq(p.integer(0), p.alg_id("2.16.840.1.101.3.4.2.1"),
          p.seq(p.seq(p.integer(1), p.octets(b"\x00" * 32)), p.seq(p.integer(1), p.octets(b"\x01" * 32)))),
    # DG number out of range
    p.seq(p.integer(0), p.alg_id("2.16.840.1.101.3.4.2.1"), p.seq(p.seq(p.integer(17), p.octets(b"\x00" * 32)))),
    # hash of the wrong length for SHA-256
    p.seq(p.integer(0), p.alg_id("2.16.840.1.101.3.4.2.1"), p.seq(p.seq(p.integer(1), p.octets(b"\x00" * 20)))),
    # entry with three fields
    p.seq(p.integer(0), p.alg_id("2.16.840.1.101.3.4.2.1"),
          p.seq(p.seq(p.integer(1), p.octets(b"\x00" * 32), p.integer(5)))),
    # LDSSecurityObject version 2
    p.seq(p.integer(2), p.alg_id("2.16.840.1.101.3.4.2.1"), p.seq(p.seq(p.integer(1), p.octets(b"\x00" * 32)))),
], ids=["duplicate", "dg17", "short-hash", "three-fields", "version2"])
def test_malformed_dg_entries_are_refused(pki, econtent):
    sod = sod_for(pki, econtent=econtent)
    with pytest.raises(ParseError):
        parse_sod(sod)
    checks = run(pki, sod)
    assert status(checks, "sod_signature") is Status.FAILED
    assert "malformed" in checks["sod_signature"].reason
    assert all(checks[f"dg_hash_{n}"].status is Status.NOT_PERFORMED for n in pki.dgs)


# --- the signature ---------------------------------------------------------------------------

@pytest.mark.parametrize("sig,key", [("ecdsa", "secp256r1"), ("ecdsa-plain", "brainpoolP256r1"),
                                     ("ecdsa", "brainpoolP512r1"), ("ecdsa-plain", "secp384r1"),
                                     ("rsa-pss", "rsa2048"), ("rsa-pkcs1", "rsa2048"), ("rsa-pkcs1-rsaenc", "rsa2048")])
def test_signature_algorithms_verify_and_a_flipped_bit_fails(pki, sig, key):
    dsc = p.make_dsc(pki.csca, key=key)
    good = run(pki, sod_for(pki, dsc=dsc, sig=sig))
    assert_all_passed(good, except_=("revocation",))
    bad = run(pki, sod_for(pki, dsc=dsc, sig=sig, flip_signature_bit=True))
    assert status(bad, "sod_signature") is Status.FAILED
    assert "NOT valid" in bad["sod_signature"].reason


@pytest.mark.parametrize("h", ["sha1", "sha224", "sha384", "sha512"])
def test_other_sha_variants_verify(pki, h):
    checks = run(pki, sod_for(pki, hash_alg=h))
    assert_all_passed(checks, except_=("revocation",))
    assert checks["dg_hash_1"].details["hash_algorithm"] == h


def test_wrong_message_digest_fails(pki):
    checks = run(pki, sod_for(pki, message_digest=b"\x00" * 32))
    assert status(checks, "sod_signature") is Status.FAILED
    assert "digest" in checks["sod_signature"].reason


def test_missing_message_digest_fails(pki):
    checks = run(pki, sod_for(pki, message_digest="omit"))
    assert status(checks, "sod_signature") is Status.FAILED
    assert "missing" in checks["sod_signature"].reason


def test_content_type_attribute_mismatch_fails(pki):
    checks = run(pki, sod_for(pki, content_type_attr="1.2.840.113549.1.7.1"))
    assert status(checks, "sod_signature") is Status.FAILED
    assert "content-type" in checks["sod_signature"].reason


def test_no_signed_attributes_fails(pki):
    checks = run(pki, sod_for(pki, no_signed_attrs=True))
    assert status(checks, "sod_signature") is Status.FAILED


def test_md5_in_the_lds_security_object_is_refused(pki):
    checks = run(pki, sod_for(pki, hash_alg="md5", signer_hash="sha256"))
    assert status(checks, "dg_hash_1") is Status.FAILED
    assert "MD5" in checks["dg_hash_1"].reason


def test_md5_signature_is_refused(pki):
    dsc = p.make_dsc(pki.csca, key="rsa2048")
    checks = run(pki, sod_for(pki, dsc=dsc, sig="rsa-pkcs1", signer_hash="md5"))
    assert status(checks, "sod_signature") is Status.FAILED
    assert "MD5" in checks["sod_signature"].reason


def test_signer_info_version_mismatch_fails(pki):
    checks = run(pki, sod_for(pki, signer_version=3))  # issuerAndSerialNumber requires v1
    assert status(checks, "sod_signature") is Status.FAILED
    assert "version" in checks["sod_signature"].reason
    checks = run(pki, sod_for(pki, sid="ski", signer_version=1))  # subjectKeyIdentifier requires v3
    assert status(checks, "sod_signature") is Status.FAILED


def test_subject_key_identifier_sid_verifies(pki):
    assert_all_passed(run(pki, sod_for(pki, sid="ski")), except_=("revocation",))


def test_two_signer_infos_are_refused(pki):
    with pytest.raises(ParseError, match="exactly one SignerInfo"):
        parse_sod(sod_for(pki, signer_infos=2))


def test_missing_dsc_certificate_is_not_performed(pki):
    checks = run(pki, sod_for(pki, include_certificate=False))
    assert status(checks, "sod_signature") is Status.NOT_PERFORMED
    assert status(checks, "dsc_chain") is Status.NOT_PERFORMED


def test_embedded_certificate_of_another_key_fails(pki):
    other = p.make_dsc(pki.csca, key="secp256r1", serial=pki.dsc.serial)
    sod = p.build_sod(pki.dgs, other.key, pki.dsc.cert)  # signed by a key that is not the certificate's
    checks = run(pki, sod)
    assert status(checks, "sod_signature") is Status.FAILED


@pytest.mark.parametrize("content_type", ["1.3.27.1.1.1", "1.2.840.113549.1.7.1"])
def test_legacy_content_types_accepted(pki, content_type):
    sod = sod_for(pki, content_type=content_type)
    assert parse_sod(sod).content_type == content_type
    assert_all_passed(run(pki, sod), except_=("revocation",))


def test_unknown_content_type_refused(pki):
    sod = sod_for(pki, content_type="1.2.3.4.5")
    with pytest.raises(ParseError, match="eContentType"):
        parse_sod(sod)
    assert status(run(pki, sod), "sod_signature") is Status.FAILED


def test_indefinite_length_sod_parses_and_verifies(pki):
    sod = sod_for(pki, indefinite=True)
    assert sod[1] == 0x80
    parsed = parse_sod(sod)
    assert parsed.dg_hashes == parse_sod(sod_for(pki)).dg_hashes
    assert_all_passed(run(pki, sod), except_=("revocation",))


# --- the chain -------------------------------------------------------------------------------

@pytest.mark.parametrize("country", ["VN", "FR", "MY"])
def test_issuer_not_installed_is_unverified_for_every_country(country):
    csca = p.make_csca(country, "secp256r1", f"chipid DEMO CSCA {country}")
    dsc = p.make_dsc(csca)
    dgs = {1: b"\x61\x03abc", 2: b"\x75\x01\x00"}
    mrz = {"VN": "VNM", "FR": "FRA", "MY": "MYS"}[country]
    other = p.make_csca(country, "secp256r1", "another CSCA")  # the same state's CSCAs are loaded, not this one
    for store in (TrustStore(), TrustStore.default()):
        store.add_certificate(other.der)
        checks = {c.name: c for c in passive_authentication(p.build_sod(dgs, dsc.key, dsc), {f"DG{n}": b for n, b in dgs.items()},
                                                            store, at=AT, mrz_issuing_state=mrz, com_dgs=[1, 2])}
        chain = checks["dsc_chain"]
        assert chain.status is Status.NOT_PERFORMED, chain.reason
        assert decide(list(checks.values())) is Outcome.UNVERIFIED
        assert f"CN=chipid DEMO CSCA {country}" in chain.reason and chain.details["missing_key_id"] in chain.reason
        assert "signature and data hashes are intact" in chain.reason
        assert "Chữ ký số và giá trị băm của dữ liệu thẻ vẫn toàn vẹn" in chain.reason_vi
        assert chain.details["no_anchor"] is True and chain.details["issuer_installed"] is False
        for c in checks.values():  # nothing suggests a fake card
            assert not re.search(r"(?i)fake|forg|giả", c.reason + c.reason_vi), (c.name, c.reason, c.reason_vi)
        assert status(checks, "revocation") is Status.NOT_PERFORMED
        assert status(checks, "issuer_country") is Status.NOT_PERFORMED


def test_a_new_csca_generation_with_the_same_name_is_not_installed_not_forged():
    """Key rollover: the installed CSCA and the one that signed the DSC share a name, but the DSC's
    authority key identifier names a key that is not installed (master lists lag new generations):
    unverified, never "forged". A DSC naming the installed key that it does not verify stays failed."""
    old = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA rollover")
    new = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA rollover")  # same subject, new key
    dgs = {1: b"\x61\x03abc", 2: b"\x75\x01\x00"}
    store = TrustStore()
    store.add_certificate(old.der)
    dsc = p.make_dsc(new)
    checks = {c.name: c for c in passive_authentication(p.build_sod(dgs, dsc.key, dsc), {f"DG{n}": b for n, b in dgs.items()},
                                                        store, at=AT, mrz_issuing_state="VNM", com_dgs=[1, 2])}
    chain = checks["dsc_chain"]
    assert chain.status is Status.NOT_PERFORMED, chain.reason
    assert chain.details["issuer_installed"] is False
    assert decide(list(checks.values())) is Outcome.UNVERIFIED
    for c in checks.values():
        assert not re.search(r"(?i)fake|forg|giả", c.reason + c.reason_vi), (c.name, c.reason, c.reason_vi)
    # a DSC that names the installed key (its AKI) but was signed by another key: positive evidence
    forged = p.make_dsc(old, signing_key=new.key, authority_key=old.key.public_key())
    checks = {c.name: c for c in passive_authentication(p.build_sod(dgs, forged.key, forged), {f"DG{n}": b for n, b in dgs.items()},
                                                        store, at=AT, mrz_issuing_state="VNM", com_dgs=[1, 2])}
    assert checks["dsc_chain"].status is Status.FAILED
    assert decide(list(checks.values())) is Outcome.NOT_AUTHENTIC


def test_a_computer_clock_set_in_the_past_is_no_forgery(pki):
    """The DSC is not yet valid by this computer's clock: the clerk is told to check the clock (unverified),
    the card is not called fake; a DSC that expired is still a failed chain (found by review)."""
    early = pki.dsc.cert.not_valid_before_utc - timedelta(days=30)
    checks = run(pki, sod_for(pki), at=early)
    chain = checks["dsc_chain"]
    assert chain.status is Status.NOT_PERFORMED, chain.reason
    assert "check the computer's clock" in chain.reason and "đồng hồ máy tính" in chain.reason_vi
    assert decide(list(checks.values())) is Outcome.UNVERIFIED
    late = pki.dsc.cert.not_valid_after_utc + timedelta(days=1)
    assert status(run(pki, sod_for(pki), at=late), "dsc_chain") is Status.FAILED


def test_issuer_not_installed_with_a_changed_data_group_does_not_claim_integrity(pki):
    files = dict(pki.dgs)
    files[2] = files[2][:-1] + b"\x00"
    checks = run(pki, sod_for(pki), files=files, store=TrustStore())
    assert status(checks, "dsc_chain") is Status.NOT_PERFORMED
    assert "intact" not in checks["dsc_chain"].reason and "toàn vẹn" not in checks["dsc_chain"].reason_vi
    assert decide(list(checks.values())) is Outcome.NOT_AUTHENTIC  # the hash mismatch decides


def test_an_installed_csca_of_that_name_whose_key_the_dsc_names_but_does_not_verify_fails(pki):
    lookalike = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA test")  # same subject, another key
    store = TrustStore()
    store.add_certificate(lookalike.der)
    # the genuine DSC names its own CSCA's key (AKI), which is not installed: not installed, not forged
    checks = run(pki, sod_for(pki), store=store)
    assert status(checks, "dsc_chain") is Status.NOT_PERFORMED
    # a DSC that names the installed key but was signed by another: positive evidence
    dsc = p.make_dsc(pki.csca, authority_key=lookalike.key.public_key())
    checks = run(pki, sod_for(pki, dsc=dsc), store=store)
    assert status(checks, "dsc_chain") is Status.FAILED
    assert "not signed by the national authority" in checks["dsc_chain"].reason


def test_forged_signer_country_is_not_authentic_even_without_its_issuer():
    # Issue 15 item 13: a rogue CSCA of ZZ issues a DSC that says C=VN, on a card whose MRZ says VNM.
    rogue = p.make_csca("ZZ", "secp256r1", "Rogue CSCA")
    dsc = p.make_dsc(rogue, country="VN")
    dgs = {1: b"\x61\x03abc", 2: b"\x75\x01\x00"}
    checks = {c.name: c for c in passive_authentication(p.build_sod(dgs, dsc.key, dsc), {f"DG{n}": b for n, b in dgs.items()},
                                                        TrustStore.default(), at=AT, mrz_issuing_state="VNM", com_dgs=[1, 2])}
    assert status(checks, "dsc_chain") is Status.FAILED and "ZZ" in checks["dsc_chain"].reason
    assert status(checks, "issuer_country") is Status.FAILED
    assert checks["issuer_country"].reason_vi
    assert decide(list(checks.values())) is Outcome.NOT_AUTHENTIC
    # A DSC of ZZ (issuer and subject) on a card that says VNM fails the same way.
    dsc_zz = p.make_dsc(rogue)
    checks = {c.name: c for c in passive_authentication(p.build_sod(dgs, dsc_zz.key, dsc_zz), {}, TrustStore(), at=AT,
                                                        mrz_issuing_state="VNM", com_dgs=None)}
    assert status(checks, "issuer_country") is Status.FAILED


def test_dsc_issuer_name_not_matching_the_csca_fails(pki):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    wrong = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, "Other CSCA")])
    dsc = p.make_dsc(pki.csca, issuer_name=wrong)  # signed by the CSCA's key, names someone else
    checks = run(pki, sod_for(pki, dsc=dsc))
    assert status(checks, "dsc_chain") is Status.FAILED
    assert "names its issuer" in checks["dsc_chain"].reason


def test_dsc_signed_by_another_key_fails(pki):
    rogue = p.new_key("secp256r1")
    dsc = p.make_dsc(pki.csca, signing_key=rogue, authority_key=pki.csca.key.public_key())  # names the real CSCA and its key
    checks = run(pki, sod_for(pki, dsc=dsc))
    assert status(checks, "dsc_chain") is Status.FAILED
    assert "not signed by the national authority" in checks["dsc_chain"].reason


def test_self_signed_dsc_fails(pki):
    dsc = p.make_dsc(None, "VN", name="chipid DEMO CSCA test")
    checks = run(pki, sod_for(pki, dsc=dsc))
    assert status(checks, "dsc_chain") is Status.FAILED
    assert "signed itself" in checks["dsc_chain"].reason


def test_dsc_with_bad_key_usage_fails(pki):
    dsc = p.make_dsc(pki.csca, key_usage=("key_cert_sign",))
    checks = run(pki, sod_for(pki, dsc=dsc))
    assert status(checks, "dsc_chain") is Status.FAILED
    assert "not allowed to sign" in checks["dsc_chain"].reason


def test_dsc_certificate_cannot_be_imported_as_a_trust_anchor(pki):
    with pytest.raises(TrustError, match="not a CSCA"):
        TrustStore().add_certificate(pki.dsc.der)


@pytest.mark.parametrize("which,nb,na", [
    ("dsc", datetime(2020, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),   # expired
    ("dsc", datetime(2027, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)),   # not yet valid
    ("csca", datetime(2010, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),  # expired
    ("csca", datetime(2026, 12, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC)),  # not yet valid
], ids=["dsc-expired", "dsc-not-yet-valid", "csca-expired", "csca-not-yet-valid"])
def test_validity_under_the_shell_policy(pki, which, nb, na):
    csca = pki.csca
    if which == "csca":
        csca = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA validity", not_before=nb, not_after=na)
        dsc = p.make_dsc(csca, not_before=max(nb, datetime(2025, 1, 1, tzinfo=UTC)), not_after=datetime(2035, 1, 1, tzinfo=UTC))
    else:
        dsc = p.make_dsc(csca, not_before=nb, not_after=na)
    store = TrustStore()
    store.add_certificate(csca.der)
    checks = run(pki, sod_for(pki, dsc=dsc), store=store)
    assert status(checks, "sod_signature") is Status.PASSED
    if which == "dsc" and nb > AT:  # by this computer's clock: check the clock, not a forgery
        assert status(checks, "dsc_chain") is Status.NOT_PERFORMED
        assert "check the computer's clock" in checks["dsc_chain"].reason
        return
    assert status(checks, "dsc_chain") is Status.FAILED
    assert ("expired" in checks["dsc_chain"].reason) == (na < AT)
    assert ("not yet valid" in checks["dsc_chain"].reason) == (nb > AT)
    assert status(checks, "sod_signature") is Status.PASSED


def test_chain_policy_accepts_a_csca_that_expired_after_issuing(pki):
    csca = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA old", not_before=datetime(2015, 1, 1, tzinfo=UTC),
                       not_after=datetime(2026, 1, 1, tzinfo=UTC))
    dsc = p.make_dsc(csca, not_before=datetime(2025, 1, 1, tzinfo=UTC), not_after=datetime(2035, 1, 1, tzinfo=UTC))
    store = TrustStore()
    store.add_certificate(csca.der)
    sod = sod_for(pki, dsc=dsc)
    assert status(run(pki, sod, store=store, policy="shell"), "dsc_chain") is Status.FAILED
    checks = run(pki, sod, store=store, policy="chain")
    assert status(checks, "dsc_chain") is Status.PASSED
    assert checks["dsc_chain"].details["validity_policy"] == "chain"


def test_signing_time_policy_uses_the_signing_time(pki):
    dsc = p.make_dsc(pki.csca, not_before=datetime(2025, 1, 1, tzinfo=UTC), not_after=datetime(2026, 1, 1, tzinfo=UTC))
    sod = sod_for(pki, dsc=dsc, signing_time=datetime(2025, 6, 1, tzinfo=UTC))
    assert status(run(pki, sod, policy="shell"), "dsc_chain") is Status.FAILED
    checks = run(pki, sod, policy=PAPolicy(validity="signing-time"))
    assert status(checks, "dsc_chain") is Status.PASSED
    assert checks["dsc_chain"].details["signing_time"].startswith("2025-06-01")
    # No signing time: falls back to the time of the check, and says so.
    checks = run(pki, sod_for(pki, dsc=dsc, signing_time=None), policy="signing-time")
    assert status(checks, "dsc_chain") is Status.FAILED
    assert "no signing-time" in checks["dsc_chain"].details["note"]


# --- revocation ------------------------------------------------------------------------------

def test_revoked_dsc_fails(pki):
    crl = p.make_crl(pki.csca, revoked=[pki.dsc], this_update=AT - timedelta(days=2))
    checks = run(pki, sod_for(pki), store=pki.store(crl))
    assert status(checks, "revocation") is Status.FAILED
    assert checks["revocation"].details["revoked"] == ["dsc"]
    assert "REVOKED" in checks["revocation"].reason


def test_no_crl_is_not_performed_with_a_reason(pki):
    checks = run(pki, sod_for(pki))
    assert status(checks, "revocation") is Status.NOT_PERFORMED
    assert "No revocation list" in checks["revocation"].reason


def test_stale_crl_is_reported(pki):
    crl = p.make_crl(pki.csca, this_update=AT - timedelta(days=300), next_update=AT - timedelta(days=200))
    checks = run(pki, sod_for(pki), store=pki.store(crl))
    assert status(checks, "revocation") is Status.NOT_PERFORMED
    assert checks["revocation"].details["stale"] is True
    assert "out of date" in checks["revocation"].reason
    # Past nextUpdate but within trust.crl_max_age_days: still used, and said so.
    late = p.make_crl(pki.csca, this_update=AT - timedelta(days=40), next_update=AT - timedelta(days=10))
    checks = run(pki, sod_for(pki), store=pki.store(late))
    assert status(checks, "revocation") is Status.PASSED
    assert checks["revocation"].details["crl_freshness"] == "late"
    # A stale CRL that lists the DSC still revokes it.
    revoking = p.make_crl(pki.csca, revoked=[pki.dsc], this_update=AT - timedelta(days=300), next_update=AT - timedelta(days=200))
    assert status(run(pki, sod_for(pki), store=pki.store(revoking)), "revocation") is Status.FAILED


def test_badly_signed_crl_is_refused(pki):
    crl = p.make_crl(pki.csca, signing_key=p.new_key("brainpoolP384r1"))
    with pytest.raises(TrustError, match="not signed by any loaded CSCA"):
        pki.store(crl)
    other = p.make_csca("VN", "secp256r1", "someone else")
    with pytest.raises(TrustError, match="no CSCA named"):
        pki.store(p.make_crl(other))


def test_revoked_old_csca_and_its_link_successor():
    old = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA gen", not_before=datetime(2020, 1, 1, tzinfo=UTC),
                      not_after=datetime(2035, 1, 1, tzinfo=UTC))
    new = p.make_csca("VN", "secp384r1", "chipid DEMO CSCA gen", not_before=datetime(2024, 1, 1, tzinfo=UTC),
                      not_after=datetime(2040, 1, 1, tzinfo=UTC))
    link = p.make_link_cert(old, new)
    dsc_old = p.make_dsc(old)
    dsc_new = p.make_dsc(new)
    dgs = {1: b"\x61\x03abc", 2: b"\x75\x01\x00"}

    def check(dsc, store):
        sod = p.build_sod(dgs, dsc.key, dsc)
        return {c.name: c for c in passive_authentication(sod, {f"DG{n}": b for n, b in dgs.items()}, store, at=AT,
                                                          mrz_issuing_state="VNM", com_dgs=[1, 2])}

    # Old and new generations side by side, link recognised: both DSCs chain to their own CSCA.
    store = TrustStore()
    store.add_certificate(old.der)
    assert store.add_certificate(link.der).kind == "link"
    store.add_certificate(new.der)
    for dsc, gen in ((dsc_old, old), (dsc_new, new)):
        c = check(dsc, store)
        assert c["dsc_chain"].status is Status.PASSED, c["dsc_chain"].reason
        assert c["dsc_chain"].details["csca_sha256"] == TrustStore().add_certificate(gen.der).sha256

    # The new CSCA revokes the old one (and the link the old key signed).
    crl = p.make_crl(new, revoked=[old, link], this_update=AT - timedelta(days=1))
    store.add_crl(crl)
    c_old = check(dsc_old, store)
    assert c_old["revocation"].status is Status.FAILED
    assert c_old["revocation"].details["revoked"] == ["csca"]
    c_new = check(dsc_new, store)
    assert c_new["dsc_chain"].status is Status.PASSED
    assert c_new["revocation"].status is Status.PASSED  # the link is never part of the chain

    # Link certificates are never used as intermediates: old CSCA + link only does not trust new DSCs.
    only_link = TrustStore()
    only_link.add_certificate(old.der)
    only_link.add_certificate(link.der)
    c = check(dsc_new, only_link)
    assert c["dsc_chain"].status is Status.NOT_PERFORMED  # verifies under the link's key: not installed, not fake
    assert c["dsc_chain"].details["links_only"] is True
    # A DSC that names the new generation but that the link's key does not verify: positive evidence.
    forged = p.make_dsc(new, signing_key=p.new_key("secp256r1"), authority_key=new.key.public_key())
    c = check(forged, only_link)
    assert c["dsc_chain"].status is Status.FAILED


# --- country ---------------------------------------------------------------------------------

def test_mrz_issuer_vs_csca_country_mismatch(pki):
    checks = run(pki, sod_for(pki), mrz="THA")
    assert status(checks, "issuer_country") is Status.FAILED
    assert "THA" in checks["issuer_country"].reason
    assert status(run(pki, sod_for(pki), mrz="VNM"), "issuer_country") is Status.PASSED
    assert status(run(pki, sod_for(pki), mrz=None), "issuer_country") is Status.NOT_PERFORMED


def test_dsc_country_differs_from_csca_country(pki):
    dsc = p.make_dsc(pki.csca, country="LA")
    checks = run(pki, sod_for(pki, dsc=dsc))
    assert status(checks, "issuer_country") is Status.FAILED


# --- demo ------------------------------------------------------------------------------------

def test_demo_card_verifies_under_demo_trust_only_and_is_marked():
    csca_der, dsc, key = p.load_demo()
    dgs = {1: b"\x61\x03abc", 2: b"\x75\x01\x00"}
    sod = p.build_sod(dgs, key, dsc)
    files = {f"DG{n}": b for n, b in dgs.items()}
    checks = {c.name: c for c in passive_authentication(sod, files, TrustStore.demo(), at=AT,
                                                        mrz_issuing_state="VNM", com_dgs=[1, 2])}
    assert checks["dsc_chain"].status is Status.PASSED
    assert all(c.details.get("demo") for c in checks.values())
    assert checks["sod_signature"].reason.startswith("[DEMO")
    assert "DEMO" in checks["dsc_chain"].details["csca_subject"]
    prod = {c.name: c for c in passive_authentication(sod, files, TrustStore.default(), at=AT,
                                                      mrz_issuing_state="VNM", com_dgs=[1, 2])}
    assert prod["dsc_chain"].status is Status.NOT_PERFORMED  # the demo CSCA is not installed: never authentic
    assert "chipid DEMO CSCA" in prod["dsc_chain"].reason
    assert decide(list(prod.values())) is Outcome.UNVERIFIED


def test_digest_algorithm_differing_from_the_message_digest_fails(pki):
    # SignerInfo says SHA-384 but the message digest attribute holds a SHA-256 value.
    checks = run(pki, sod_for(pki, digest_algorithm_oid="2.16.840.1.101.3.4.2.2"))
    assert status(checks, "sod_signature") is Status.FAILED
    assert "digest" in checks["sod_signature"].reason


def test_unreadable_sod_fails_without_raising(pki):
    checks = run(pki, b"\x77\x05\x30\x03\x02\x01\x01")
    assert status(checks, "sod_signature") is Status.FAILED
    assert status(checks, "dsc_chain") is Status.NOT_PERFORMED
    assert all(checks[f"dg_hash_{n}"].status is Status.NOT_PERFORMED for n in pki.dgs)


def test_dsc_with_an_unknown_critical_extension_fails(pki):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = p.new_key("secp256r1")
    builder = (x509.CertificateBuilder().subject_name(pki.dsc.cert.subject).issuer_name(pki.csca.cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC)).not_valid_after(datetime(2035, 1, 1, tzinfo=UTC))
               .add_extension(p._key_usage(("digital_signature",)), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.csca.key.public_key()), critical=False)
               .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"),
                              critical=True))
    dsc = p.Issued(builder.sign(pki.csca.key, hashes.SHA384()), key)
    checks = run(pki, sod_for(pki, dsc=dsc))
    assert status(checks, "dsc_chain") is Status.FAILED
    assert "1.3.6.1.4.1.99999.1" in checks["dsc_chain"].reason
