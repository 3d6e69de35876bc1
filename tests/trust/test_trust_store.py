"""TrustStore: default and demo trust, generations, links, CRLs, persistence, removal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drivers.emulator import pki as p
from verifier.errors import TrustError
from verifier.trust.certs import load_certificate
from verifier.trust.store import DEMO_CSCA, TrustStore, classify, self_signed

from .conftest import REPO

AT = datetime(2026, 6, 1, tzinfo=timezone.utc)


def test_default_store_loads_the_whole_shipped_master_list():
    store = TrustStore.default()
    assert len(store) == 588
    assert len(store.cscas()) + len(store.links()) == 588
    [vn] = store.cscas("VN")
    assert vn.public_key.curve == "brainpoolP512r1"
    assert all(not e.demo for e in store.entries())
    assert all(e.shipped for e in store.entries())


def test_self_issued_link_certificates_are_recognised():
    store = TrustStore.default()
    links = [e.cert for e in store.entries(kind="link")]
    self_issued_links = [c for c in links if c.self_issued]
    assert self_issued_links, "the German list carries self-issued link certificates (new key signed by old)"
    assert not any(self_signed(c) for c in self_issued_links)  # each was signed by the previous key
    assert all(self_signed(c) for c in store.cscas()[::10])


def test_shipped_files_are_the_shared_ones():
    shared = REPO.parent / "shared" / "data" / "trust"
    data = REPO / "verifier" / "trust" / "data"
    for name in ("DE_ML_2026-05-28.ml", "DE_ML_signer_root_CSCA07.cer"):
        assert (data / name).read_bytes() == (shared / name).read_bytes()
    assert DEMO_CSCA.read_bytes() == (REPO / "drivers" / "emulator" / "demo" / "DEMO_CSCA.der").read_bytes()


def test_demo_store_is_only_the_demo_csca():
    store = TrustStore.demo()
    [entry] = store.entries()
    assert entry.demo and "DEMO" in entry.cert.subject and entry.kind == "csca"
    csca_der, dsc, _ = p.load_demo()
    assert csca_der == entry.cert.der
    assert load_certificate(dsc.public_bytes(__import__("cryptography").hazmat.primitives.serialization.Encoding.DER)).is_signed_by(entry.cert)


def test_generations_and_lookup_by_key_identifier():
    old = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA", not_before=datetime(2020, 1, 1, tzinfo=timezone.utc))
    new = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA", not_before=datetime(2024, 1, 1, tzinfo=timezone.utc))
    link = p.make_link_cert(old, new)
    store = TrustStore()
    store.add_certificate(old.der)
    store.add_certificate(new.der)
    assert store.add_certificate(link.der).kind == "link"
    assert classify(load_certificate(link.der)) == "link"
    dsc = load_certificate(p.make_dsc(new).der)
    candidates = store.issuer_candidates(dsc)
    assert {c.cert.der for c in candidates} == {old.der, new.der}  # both generations share the name
    assert [c.cert.der for c in store.link_candidates(dsc)] == [link.der]


def test_link_without_its_issuer_is_refused():
    old = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA a")
    new = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA b")
    with pytest.raises(TrustError, match="link certificate"):
        TrustStore().add_certificate(p.make_link_cert(old, new).der)


def test_forged_self_signature_is_refused():
    csca = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA")
    der = bytearray(csca.der)
    der[-3] ^= 0x01
    with pytest.raises(TrustError):
        TrustStore().add_certificate(bytes(der))


def test_persist_reload_remove(tmp_path, pki):
    store = TrustStore()
    store.add_certificate(pki.csca.der, source="imported:test")
    crl = p.make_crl(pki.csca, revoked=[pki.dsc], this_update=AT)
    store.add_crl(crl)
    store.save(tmp_path)
    again = TrustStore().load(tmp_path)
    assert [e.cert.der for e in again.entries()] == [pki.csca.der]
    assert [c.crl.der for c in again.crls()] == [crl]
    assert again.entries()[0].source == "imported:test"
    # A file changed on disk is noticed.
    f = next((tmp_path / "certs").glob("*.der"))
    f.write_bytes(f.read_bytes()[:-1] + b"\x00")
    with pytest.raises(TrustError, match="changed on disk"):
        TrustStore().load(tmp_path)


def test_open_layers_operator_trust_over_the_default(tmp_path, pki):
    data_dir = tmp_path
    store = TrustStore.open(data_dir)
    store.add_certificate(pki.csca.der)
    de = store.cscas("DE")[0]
    store.remove(de.sha256)  # shipped: remembered as distrusted
    store.save(data_dir / "trust")
    reopened = TrustStore.open(data_dir)
    assert reopened.entry(load_certificate(pki.csca.der).sha256) is not None
    assert reopened.entry(de.sha256) is None
    assert len(reopened) == 588  # 588 - 1 + 1
    with pytest.raises(TrustError, match="no certificate"):
        reopened.remove("00" * 32)
    demo = TrustStore.open(data_dir, demo=True)
    assert any(e.demo for e in demo.entries())


def test_newest_crl_first_and_stale_detection(pki):
    store = pki.store(p.make_crl(pki.csca, this_update=AT - timedelta(days=100), next_update=AT - timedelta(days=30)),
                      p.make_crl(pki.csca, this_update=AT - timedelta(days=1)))
    crls = store.crls_for(load_certificate(pki.csca.der).subject_name)
    assert len(crls) == 2
    assert crls[0].crl.freshness(AT, 90) == "current"
    assert crls[1].crl.freshness(AT, 90) == "late"
    assert crls[1].crl.freshness(AT + timedelta(days=100), 90) == "stale"


def test_sniff_recognises_each_kind(pki):
    from cryptography.hazmat.primitives import serialization

    from verifier.trust.store import sniff
    from .conftest import ML_FILE, ML_ROOT_FILE

    assert sniff(ML_FILE.read_bytes()) == "master_list"
    assert sniff(ML_ROOT_FILE.read_bytes()) == "certificate"
    assert sniff(pki.csca.cert.public_bytes(serialization.Encoding.PEM)) == "certificate"
    crl = p.make_crl(pki.csca)
    assert sniff(crl) == "crl"
    from cryptography import x509

    assert sniff(x509.load_der_x509_crl(crl).public_bytes(serialization.Encoding.PEM)) == "crl"
    assert sniff(b"garbage") == "certificate"  # and then refused by the certificate parser
