"""Issue 15 item 2: the Document Signer certificate profile (ICAO 9303-12 §7.1.1; BSI TR-03105 H_50-63),
and issue 14 item 3: the chain validity model is the default (a CCCD signer outlives its CSCA)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drivers.emulator import pki as p
from verifier.trust.certs import load_certificate
from verifier.trust.passive import PAPolicy, passive_authentication
from verifier.trust.profile import dsc_profile_problems
from verifier.trust.store import TrustStore
from verifier.verdict import Outcome, Status, decide

from .conftest import SHARED

UTC = timezone.utc
AT = datetime(2026, 6, 1, tzinfo=UTC)
DGS = {1: b"\x61\x03abc", 2: b"\x75\x01\x00"}
REAL_DSC = SHARED / "cccd" / "dsc_national_identification_00013.der"


def checks_for(dsc, store, *, at=AT, policy=PAPolicy()):
    sod = p.build_sod(DGS, dsc.key, dsc)
    checks = passive_authentication(sod, {f"DG{n}": b for n, b in DGS.items()}, store, at=at,
                                    mrz_issuing_state="VNM", com_dgs=[1, 2], policy=policy)
    return {c.name: c for c in checks}


@pytest.fixture(scope="module")
def csca():
    return p.make_csca("VN", "secp256r1", "chipid DEMO CSCA profile")


@pytest.mark.parametrize("kwargs,words_en,words_vi", [
    ({"key_usage_critical": False}, "not marked critical", "không được đánh dấu bắt buộc"),
    ({"key_usage_critical": None}, "no keyUsage extension", "không ghi mục đích sử dụng khóa"),
    ({"with_aki": False}, "no authorityKeyIdentifier", "mã định danh khóa của cơ quan cấp"),
    ({"with_extensions": False}, "no extensions at all", "không có phần mở rộng nào"),
    ({"key_usage": ("key_cert_sign",)}, "not allowed to sign", "không được phép ký dữ liệu"),
], ids=["ku-not-critical", "no-ku", "no-aki", "no-extensions", "ku-without-digital-signature"])
def test_dsc_outside_the_profile_fails_the_chain(csca, kwargs, words_en, words_vi):
    dsc = p.make_dsc(csca, key="secp256r1", **kwargs)
    # issuer installed or not: a profile breach is positive evidence
    installed = TrustStore()
    installed.add_certificate(csca.der)
    for store in (installed, TrustStore()):
        checks = checks_for(dsc, store)
        chain = checks["dsc_chain"]
        assert chain.status is Status.FAILED, chain.reason
        assert words_en in chain.reason and words_vi in chain.reason_vi
        assert checks["sod_signature"].status is Status.PASSED
        assert decide(list(checks.values())) is Outcome.NOT_AUTHENTIC


def test_a_profile_conform_dsc_passes(csca):
    store = TrustStore()
    store.add_certificate(csca.der)
    chain = checks_for(p.make_dsc(csca, key="secp256r1"), store)["dsc_chain"]
    assert chain.status is Status.PASSED, chain.reason


def test_the_real_cccd_dsc_and_the_real_sods_fit_the_profile(real_sods):
    assert dsc_profile_problems(load_certificate(REAL_DSC.read_bytes())) == ([], [])
    for case in real_sods:
        assert dsc_profile_problems(load_certificate(bytes.fromhex(case["dsc"]))) == ([], []), case["label"]


def test_a_dsc_without_a_country_fails():
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    csca = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA nocountry")
    dsc = p.make_dsc(csca, subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "no country DSC")]))
    en, vi = dsc_profile_problems(load_certificate(dsc.der))
    assert any("subject name has no country" in x for x in en) and len(vi) == len(en)


def test_chain_model_is_the_default_and_accepts_a_dsc_that_outlives_its_csca():
    # CCCD-shaped: the CSCA ends in 2031, its DSC (3 months of key use) is valid to 2043.
    csca = p.make_csca("VN", "brainpoolP384r1", "chipid DEMO CSCA eid-like", not_before=datetime(2019, 1, 1, tzinfo=UTC),
                       not_after=datetime(2031, 1, 1, tzinfo=UTC))
    nb = datetime(2021, 5, 28, tzinfo=UTC)
    dsc = p.make_dsc(csca, key="brainpoolP384r1", not_before=nb, not_after=datetime(2043, 8, 21, tzinfo=UTC),
                     private_key_usage=(nb, nb + timedelta(days=90)))
    store = TrustStore()
    store.add_certificate(csca.der)
    later = datetime(2032, 6, 1, tzinfo=UTC)  # the CSCA has expired, the card and its DSC have not
    assert PAPolicy().validity == "chain"
    chain = checks_for(dsc, store, at=later)["dsc_chain"]
    assert chain.status is Status.PASSED, chain.reason
    assert chain.details["validity_policy"] == "chain"
    shell = checks_for(dsc, store, at=later, policy=PAPolicy(validity="shell"))["dsc_chain"]
    assert shell.status is Status.FAILED and "expired" in shell.reason


def test_config_default_is_chain():
    from verifier.config import Config

    assert Config()["trust.validity_policy"] == "chain"
    assert PAPolicy.from_config(Config()).validity == "chain"
