"""Certificates: explicit EC parameters mapped to named curves, crafted curves refused, PEM/DER loading."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from drivers.emulator import pki as p
from verifier.errors import ParseError, TrustError
from verifier.trust.sod import parse_sod
from verifier.trust.certs import load_certificate, load_certificates, load_public_key
from verifier.trust.passive import passive_authentication
from verifier.verdict import Status

from .conftest import AT


@pytest.mark.parametrize("curve", ["brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1",
                                   "secp256r1", "secp384r1", "secp521r1", "secp224r1"])
def test_explicit_parameters_map_to_the_named_curve(curve):
    key = p.new_key(curve)
    pk = load_public_key(p.explicit_spki(key.public_key()))
    assert pk.curve == curve and pk.explicit_curve
    assert pk.point == (key.public_key().public_numbers().x, key.public_key().public_numbers().y)


@pytest.mark.parametrize("field", ["a", "b", "gx", "n", "p"])
def test_crafted_explicit_curve_refused(field):
    key = p.new_key("brainpoolP256r1")
    with pytest.raises(TrustError):
        load_public_key(p.explicit_spki(key.public_key(), tamper=field))


def test_implicit_ca_and_unknown_named_curves_refused():
    key = p.new_key("secp256r1")
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert load_public_key(spki).curve == "secp256r1"
    implicit = _with_null_parameters(spki)
    with pytest.raises(TrustError, match="implicitlyCA"):
        load_public_key(implicit)
    from cryptography.hazmat.primitives.asymmetric import ec

    k1 = ec.generate_private_key(ec.SECP256K1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(TrustError, match="unsupported named curve"):
        load_public_key(k1)


def _with_null_parameters(spki: bytes) -> bytes:
    """The same key with ECParameters = NULL (implicitlyCA)."""
    from verifier.trust import der

    bit_string = der.parse(spki, "spki").children()[1].raw
    return p.seq(p.seq(p.oid("1.2.840.10045.2.1"), b"\x05\x00"), bit_string)


def test_dsc_with_explicit_parameters_chains_and_signs(pki):
    dsc_der, key = p.make_dsc_explicit(pki.csca, "brainpoolP256r1")
    cert = load_certificate(dsc_der)
    assert cert.public_key.explicit_curve and cert.is_signed_by(load_certificate(pki.csca.der))
    sod = p.build_sod(pki.dgs, key, dsc_der)
    checks = {c.name: c for c in passive_authentication(sod, {f"DG{n}": b for n, b in pki.dgs.items()}, pki.store(),
                                                        at=AT, mrz_issuing_state="VNM", com_dgs=pki.com)}
    assert checks["sod_signature"].status is Status.PASSED
    assert checks["dsc_chain"].status is Status.PASSED, checks["dsc_chain"].reason


def test_dsc_with_crafted_explicit_curve_fails_the_signature(pki):
    dsc_der, key = p.make_dsc_explicit(pki.csca, "secp256r1", tamper="gx")
    sod = p.build_sod(pki.dgs, key, dsc_der)
    checks = {c.name: c for c in passive_authentication(sod, {}, pki.store(), at=AT, mrz_issuing_state="VNM",
                                                        com_dgs=None)}
    assert checks["sod_signature"].status is Status.FAILED
    assert "crafted" in checks["sod_signature"].reason


def test_pem_and_der_loading(pki):
    pem = pki.csca.cert.public_bytes(serialization.Encoding.PEM) + pki.dsc.cert.public_bytes(serialization.Encoding.PEM)
    certs = load_certificates(pem)
    assert [c.der for c in certs] == [pki.csca.der, pki.dsc.der]
    assert load_certificates(pki.csca.der)[0].sha256 == certs[0].sha256
    with pytest.raises(ParseError):
        load_certificates(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
    with pytest.raises(ParseError):
        load_certificate(pki.csca.der[:-5])


def test_certificate_fields(pki):
    c = load_certificate(pki.dsc.der)
    assert c.country == "VN" and "DEMO" in c.subject
    assert c.key_usage == frozenset({"digital_signature"})
    assert not c.is_ca
    assert c.authority_key_identifier == load_certificate(pki.csca.der).subject_key_identifier
    assert c.tbs in c.der  # sliced, not re-encoded


def test_vietnam_csca_in_the_master_list_is_brainpool_p512_explicit(german_store):
    [vn] = german_store.cscas("VN")
    assert vn.public_key.curve == "brainpoolP512r1" and vn.public_key.explicit_curve
    assert vn.is_signed_by(vn)
    assert "Vietnam" in vn.subject


def test_sod_certificate_bytes_are_exactly_as_embedded(real_sods):
    for case in real_sods:
        sod = parse_sod(bytes.fromhex(case["sod"]))
        assert sod.certificates[0] == bytes.fromhex(case["dsc"])
        assert sod.econtent in sod.raw
        assert sod.signer.signed_attrs in sod.raw
        assert sod.signer.signed_attrs_der[0] == 0x31 and sod.signer.signed_attrs_der[1:] == sod.signer.signed_attrs[1:]
