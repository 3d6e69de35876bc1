"""The German CSCA master list loads completely, and only against the right root."""

from __future__ import annotations

import pytest

from drivers.emulator import pki as p
from verifier.errors import ParseError, TrustError
from verifier.trust.certs import load_certificate
from verifier.trust.masterlist import load_master_list

from .conftest import ML_FILE, ML_ROOT_FILE


@pytest.fixture(scope="module")
def ml_bytes() -> bytes:
    return ML_FILE.read_bytes()


@pytest.fixture(scope="module")
def root():
    return load_certificate(ML_ROOT_FILE.read_bytes())


def test_loads_all_588_cscas(ml_bytes, root):
    ml = load_master_list(ml_bytes, [root])
    assert len(ml.cscas) == 588
    assert ml.rejected == ()
    assert "Master List Signer" in ml.signer.subject
    assert ml.root.sha256 == root.sha256
    assert ml.signing_time is not None and ml.signing_time.year == 2026
    countries = {c.country for c in ml.cscas}
    assert {"VN", "DE", "FR", "US", "MY"} <= countries
    # every listed certificate is kept byte-exact
    assert all(c.der in ml_bytes for c in ml.cscas[:50])


def test_refuses_a_wrong_root(ml_bytes):
    wrong = p.make_csca("DE", "brainpoolP256r1", "csca-germany")  # same name, different key
    with pytest.raises(TrustError, match="does not chain"):
        load_master_list(ml_bytes, [load_certificate(wrong.der)])
    other = p.make_csca("VN", "secp256r1", "chipid DEMO CSCA")
    with pytest.raises(TrustError, match="does not chain"):
        load_master_list(ml_bytes, [load_certificate(other.der)])


def test_refuses_without_any_root(ml_bytes):
    with pytest.raises(TrustError, match="no root"):
        load_master_list(ml_bytes, [])


def test_refuses_a_tampered_list(ml_bytes, root):
    # Change one byte deep inside the certificate list: the message digest no longer matches.
    tampered = bytearray(ml_bytes)
    tampered[len(ml_bytes) // 2] ^= 0x01
    with pytest.raises((TrustError, ParseError)):
        load_master_list(bytes(tampered), [root])


def test_refuses_a_sod_as_a_master_list(real_sods, root):
    sod = bytes.fromhex(real_sods[0]["sod"])
    with pytest.raises(TrustError, match="not a CSCA master list"):
        load_master_list(sod[4:], [root])


def test_a_test_master_list_signed_by_our_own_root():
    """Build a small list with the test PKI: accepted under its root, refused under another."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    import hashlib
    from datetime import datetime, timezone

    root = p.make_csca("VN", "secp256r1", "chipid DEMO ML root")
    signer = p.make_dsc(root, name="chipid DEMO ML signer")
    listed = [p.make_csca("VN", "secp256r1", f"chipid DEMO CSCA {i}") for i in range(3)]
    content = p.seq(p.integer(0), p.set_of(*[c.der for c in listed]))
    attrs = p.set_of(p.seq(p.oid("1.2.840.113549.1.9.3"), p.set_of(p.oid("2.23.136.1.1.2"))),
                     p.seq(p.oid("1.2.840.113549.1.9.5"), p.set_of(p.utctime(datetime.now(timezone.utc)))),
                     p.seq(p.oid("1.2.840.113549.1.9.4"), p.set_of(p.octets(hashlib.sha256(content).digest()))))
    sig = signer.key.sign(attrs, ec.ECDSA(hashes.SHA256()))
    si = p.seq(p.integer(1), p.seq(signer.cert.issuer.public_bytes(), p.integer(signer.serial)),
               p.alg_id("2.16.840.1.101.3.4.2.1"), b"\xa0" + attrs[1:], p.alg_id("1.2.840.10045.4.3.2"), p.octets(sig))
    sd = p.seq(p.integer(3), p.set_of(p.alg_id("2.16.840.1.101.3.4.2.1")),
               p.seq(p.oid("2.23.136.1.1.2"), p.ctx(0, p.octets(content))), p.ctx(0, signer.der), p.set_of(si))
    ml = p.seq(p.oid("1.2.840.113549.1.7.2"), p.ctx(0, sd))
    loaded = load_master_list(ml, [load_certificate(root.der)])
    assert sorted(c.sha256 for c in loaded.cscas) == sorted(load_certificate(c.der).sha256 for c in listed)
    with pytest.raises(TrustError):
        load_master_list(ml, [load_certificate(listed[0].der)])
    # A flipped signature bit is refused.
    bad = ml.replace(sig, sig[:-1] + bytes([sig[-1] ^ 1]))
    with pytest.raises(TrustError, match="signature is invalid"):
        load_master_list(bad, [load_certificate(root.der)])
