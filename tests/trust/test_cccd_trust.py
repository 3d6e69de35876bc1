"""The CCCD CSCA witness rule, `chipid trust status` and the eID advice in passive authentication.

A genuine-shaped test pair (a test CSCA and a Document Signer it issued, the *witness*) stands in
for Vietnam's eID CSCA, which is not available here; the real shipped witness is used to show
that a look-alike of "CSCA Vietnam" is refused.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import NameOID

from drivers.emulator import pki as p
from verifier.commands.trust import trust
from verifier.errors import TrustError
from verifier.trust import cccd
from verifier.trust.cccd import Witness, cccd_status, check_presented_csca
from verifier.trust.certs import load_certificate
from verifier.trust.passive import verify_passive
from verifier.trust.store import TrustStore
from verifier.verdict import Status

AT = datetime(2026, 6, 1, tzinfo=timezone.utc)
EID_NAME = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vietnam Government Information Security Commission"),
    x509.NameAttribute(NameOID.SERIAL_NUMBER, "001"),
    x509.NameAttribute(NameOID.COMMON_NAME, "CSCA Vietnam"),
])
TEST_URLS = ("http://pkd.chipid-test.invalid/csca.crt",)
TEST_CRL_URLS = ("http://pkd.chipid-test.invalid/csca.crl",)


@pytest.fixture(scope="module")
def pair():
    """(test eID-like CSCA, its witness DSC, the Witness)."""
    csca = p.make_csca("VN", "brainpoolP384r1", "chipid TEST eID CSCA")
    dsc = p.make_dsc(csca, key="brainpoolP384r1", name="chipid TEST Document Signer 00001")
    return csca, dsc, Witness.of(dsc.der, cert_urls=TEST_URLS, crl_urls=TEST_CRL_URLS)


def test_shipped_witness_is_the_real_cccd_dsc():
    (w,) = cccd.shipped_witnesses()
    real = (cccd.DATA_DIR / "CCCD_DSC_witness_00013.der").read_bytes()
    assert w.cert.der == real
    assert w.authority_name == "CSCA Vietnam"
    assert w.authority_key_id == cccd.EID_CSCA_KEY_ID
    assert w.cert_urls == cccd.EID_CSCA_CERT_URLS and w.crl_urls == cccd.EID_CSCA_CRL_URLS


def test_genuine_csca_accepted_and_look_alikes_refused(pair):
    csca, _, w = pair
    store = TrustStore(witnesses=[w])
    assert store.add_certificate(csca.der).kind == "csca"
    same_name = p.make_csca(key="brainpoolP384r1", subject=csca.cert.subject)  # same subject, another key
    with pytest.raises(TrustError) as e:
        TrustStore(witnesses=[w]).add_certificate(same_name.der)
    assert "look-alike" in str(e.value) and "mạo danh" in str(e.value) and TEST_URLS[0] in str(e.value)
    same_key_id = p.make_csca("VN", "brainpoolP384r1", "some other name", ski=w.authority_key_id)
    with pytest.raises(TrustError, match="look-alike"):
        TrustStore(witnesses=[w]).add_certificate(same_key_id.der)
    unrelated = p.make_csca("VN", "secp256r1", "chipid TEST unrelated CSCA")  # presents as nothing: the rule does not apply
    assert check_presented_csca(load_certificate(unrelated.der), [w]) is None


@pytest.mark.parametrize("how", ["name", "key-id"])
def test_the_real_witness_refuses_a_look_alike_of_csca_vietnam(how):
    if how == "name":
        fake = p.make_csca(key="brainpoolP384r1", subject=EID_NAME)
    else:
        fake = p.make_csca("VN", "brainpoolP384r1", "Vietnam eID", ski=cccd.EID_CSCA_KEY_ID)
    with pytest.raises(TrustError) as e:
        TrustStore().add_certificate(fake.der)
    assert "CSCA Vietnam" in str(e.value) and "npkd.gov.vn" in str(e.value) and "bị từ chối" in str(e.value)


def test_cli_import_applies_the_witness_rule(tmp_path, pair, monkeypatch):
    csca, _, w = pair
    fake = tmp_path / "fake.der"
    fake.write_bytes(p.make_csca(key="brainpoolP384r1", subject=EID_NAME).der)
    r = CliRunner().invoke(trust, ["import", str(fake), "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 1 and "look-alike" in r.output and "mạo danh" in r.output
    monkeypatch.setattr(cccd, "shipped_witnesses", lambda: (w,))
    good = tmp_path / "good.der"
    good.write_bytes(csca.der)
    r = CliRunner().invoke(trust, ["import", str(good), "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(trust, ["status", "--json", "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    status = json.loads(r.output)["cccd"]
    assert status["can_verify"] is True and status["revocation"] == "missing" and status["fully"] is False
    assert TEST_CRL_URLS[0] in status["message"]


def test_status_says_what_to_install_and_where(tmp_path):
    status = cccd_status(TrustStore.default(), AT)
    assert status["can_verify"] is False and status["fully"] is False
    for url in cccd.EID_CSCA_CERT_URLS:
        assert url in status["message"] and url in status["message_vi"]
    assert "57AB7508224483F049CC635B2C95C4E446A58808" in status["message"]
    assert status["authorities"][0]["name"] == "CSCA Vietnam"
    r = CliRunner().invoke(trust, ["status", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0 and "NO" in r.output and "npkd.gov.vn" in r.output


def test_status_with_csca_and_crl_is_fully(pair):
    csca, _, w = pair
    store = TrustStore(witnesses=[w])
    store.add_certificate(csca.der)
    store.add_crl(p.make_crl(csca, this_update=AT - timedelta(days=1)))
    status = cccd_status(store, AT)
    assert status["can_verify"] and status["fully"] and status["revocation"] == "current"
    stale = cccd_status(store, AT + timedelta(days=400))
    assert stale["can_verify"] and not stale["fully"] and stale["revocation"] == "stale"


def test_a_rolled_over_csca_is_accepted_through_a_link_from_the_witnessed_one(pair):
    csca, _, w = pair
    new = p.make_csca(key="brainpoolP384r1", subject=csca.cert.subject)  # next generation, same name
    store = TrustStore(witnesses=[w])
    store.add_certificate(csca.der)
    with pytest.raises(TrustError):
        store.add_certificate(new.der)  # no link yet: a look-alike as far as anyone can tell
    assert store.add_certificate(p.make_link_cert(csca, new).der).kind == "link"
    assert store.add_certificate(new.der).kind == "csca"


def test_passive_auth_of_the_real_cccd_dsc_names_the_eid_csca():
    real = (cccd.DATA_DIR / "CCCD_DSC_witness_00013.der").read_bytes()
    dgs = {1: b"\x61\x03abc"}
    sod = p.build_sod(dgs, p.new_key("brainpoolP384r1"), real)  # not the real key: the signature fails
    result = verify_passive(sod, {"DG1": dgs[1]}, TrustStore.default(), at=AT, mrz_issuing_state="VNM", com_dgs=[1])
    checks = {c.name: c for c in result.checks}
    chain = checks["dsc_chain"]
    assert chain.status is Status.NOT_PERFORMED
    assert "CSCA Vietnam" in chain.reason and "57AB7508224483F049CC635B2C95C4E446A58808" in chain.reason
    assert "http://npkd.gov.vn/crt/eid-csca-vietnam.crt" in chain.reason and "http://ca.gov.vn/crt/eid-csca-vietnam.crt" in chain.reason_vi
    assert "intact" not in chain.reason  # the signature did not verify here: nothing is claimed
    assert chain.details["eid_csca"] is True
    assert checks["sod_signature"].status is Status.FAILED


def test_passive_auth_under_the_test_pair_says_intact_and_where(pair):
    csca, dsc, w = pair
    dgs = {1: b"\x61\x03abc"}
    sod = p.build_sod(dgs, dsc.key, dsc)
    store = TrustStore(witnesses=[w])
    result = verify_passive(sod, {"DG1": dgs[1]}, store, at=AT, mrz_issuing_state="VNM", com_dgs=[1])
    chain = {c.name: c for c in result.checks}["dsc_chain"]
    assert chain.status is Status.NOT_PERFORMED
    assert "signature and data hashes are intact" in chain.reason and TEST_URLS[0] in chain.reason
    store.add_certificate(csca.der)
    result = verify_passive(sod, {"DG1": dgs[1]}, store, at=AT, mrz_issuing_state="VNM", com_dgs=[1])
    assert {c.name: c for c in result.checks}["dsc_chain"].status is Status.PASSED
