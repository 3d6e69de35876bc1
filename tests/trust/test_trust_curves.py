"""verifier.icao.curves: exact named-curve parameters and refusal of crafted explicit curves."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from verifier.errors import ParseError, TrustError
from verifier.icao import curves, ecc
from verifier.icao.curves import CURVES, match_explicit, match_explicit_point

EXPECTED = {"brainpoolP192r1", "brainpoolP224r1", "brainpoolP256r1", "brainpoolP320r1", "brainpoolP384r1",
            "brainpoolP512r1", "secp192r1", "secp224r1", "secp256r1", "secp384r1", "secp521r1"}

# Independent spot values typed from the standards (RFC 5639 §3.4, FIPS 186-4 D.1.2.3).
SPOT = {
    "brainpoolP256r1": ("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7", "n"),
    "secp256r1": ("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", "n"),
    "secp521r1": ("01FF" + "FF" * 31 + "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", "n"),
}


def test_all_curves_present():
    assert set(CURVES) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_generator_on_curve_and_order(name):
    c = CURVES[name]
    assert c.contains(c.gx, c.gy)
    assert not c.contains(c.gx, (c.gy + 1) % c.p)
    assert ecc.scalar_mult_raw(c, c.n, ecc.generator(c)) is None  # n·G = O
    assert ecc.scalar_mult_raw(c, c.n + 1, ecc.generator(c)) == (c.gx, c.gy)
    assert c.h == 1


LIBRARY_CURVES = sorted(n for n in EXPECTED if curves.cryptography_curve(n) is not None)


def test_cryptography_supports_the_expected_curves():
    # brainpoolP192r1/P224r1/P320r1 are verified with the verifier.icao.ecc arithmetic instead.
    assert set(EXPECTED) - set(LIBRARY_CURVES) == {"brainpoolP192r1", "brainpoolP224r1", "brainpoolP320r1"}


@pytest.mark.parametrize("name", LIBRARY_CURVES)
def test_cryptography_agrees_on_public_point(name):
    cc = curves.cryptography_curve(name)
    c = CURVES[name]
    k = 0x1D2C3B4A5968778695A4B3C2D1E0F << 3
    pub = ec.derive_private_key(k, cc).public_key().public_numbers()
    assert (pub.x, pub.y) == ecc.public_key(c, k)


@pytest.mark.parametrize("name", sorted(SPOT))
def test_spot_values_from_the_standards(name):
    value, field = SPOT[name]
    assert getattr(CURVES[name], field) == int(value, 16)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_match_explicit_names_each_curve(name):
    c = CURVES[name]
    assert match_explicit(c.p, c.a, c.b, c.gx, c.gy, c.n, c.h) == name
    assert match_explicit(c.p, c.a.to_bytes(c.field_bytes, "big"), c.b.to_bytes(c.field_bytes, "big"),
                          c.gx, c.gy, c.n) == name
    assert match_explicit_point(c.p, c.a, c.b, ecc.encode_point(c, ecc.generator(c)), c.n, 1) == name


@pytest.mark.parametrize("field", ["a", "b", "gx", "gy", "n"])
def test_crafted_curve_refused(field):
    c = CURVES["brainpoolP512r1"]
    values = dict(p=c.p, a=c.a, b=c.b, gx=c.gx, gy=c.gy, n=c.n)
    values[field] += 2
    with pytest.raises(TrustError, match="crafted"):
        match_explicit(**values)


def test_curveball_style_generator_refused():
    # Same curve, attacker-chosen generator (CVE-2020-0601): must not be accepted.
    c = CURVES["secp384r1"]
    g2 = ecc.public_key(c, 7)
    with pytest.raises(TrustError):
        match_explicit(c.p, c.a, c.b, g2[0], g2[1], c.n)


def test_unknown_field_and_huge_values_refused_fast():
    with pytest.raises(TrustError, match="field"):
        match_explicit(2**255 - 19, 1, 2, 3, 4, 5)
    with pytest.raises(TrustError):
        match_explicit(1 << 100000, 1, 2, 3, 4, 5)
    with pytest.raises(TrustError):
        match_explicit(b"\xff" * 5000, 1, 2, 3, 4, 5)
    c = CURVES["secp256r1"]
    with pytest.raises(TrustError, match="cofactor"):
        match_explicit(c.p, c.a, c.b, c.gx, c.gy, c.n, 4)
    with pytest.raises(ParseError):
        match_explicit_point(c.p, c.a, c.b, b"\x05" + b"\x00" * 64, c.n)


def test_ecdsa_reference_verifier_agrees_with_cryptography():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    import hashlib

    c = CURVES["brainpoolP256r1"]
    key = ec.generate_private_key(ec.BrainpoolP256R1())
    sig = key.sign(b"chipid", ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(sig)
    pn = key.public_key().public_numbers()
    digest = hashlib.sha256(b"chipid").digest()
    assert ecc.ecdsa_verify_rs(c, ecc.Point(pn.x, pn.y), digest, r, s)
    assert not ecc.ecdsa_verify_rs(c, ecc.Point(pn.x, pn.y), digest, r, (s + 1) % c.n)


def test_lookup_by_alias_and_oid():
    assert curves.curve("P-256").name == "secp256r1"
    assert curves.curve("1.3.36.3.3.2.8.1.1.13").name == "brainpoolP512r1"
    with pytest.raises(TrustError):
        curves.curve("curve25519")


@pytest.mark.parametrize("name", ["brainpoolP192r1", "brainpoolP224r1", "brainpoolP320r1"])
def test_ecdsa_on_curves_the_library_lacks_goes_through_the_reference(name):
    """A certificate key on brainpoolP224r1 (named or explicit) verifies DER and plain ECDSA signatures."""
    import hashlib
    import secrets

    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from drivers.emulator import pki as p
    from verifier.trust import signatures
    from verifier.trust.certs import load_public_key

    c = CURVES[name]
    d = secrets.randbelow(c.n - 1) + 1
    q = ecc.public_key(c, d)
    msg = b"chipid reference ECDSA"
    e = int.from_bytes(hashlib.sha256(msg).digest(), "big") >> max(0, 256 - c.n.bit_length())
    k = secrets.randbelow(c.n - 1) + 1
    r = ecc.public_key(c, k)[0] % c.n
    s = pow(k, -1, c.n) * (e + r * d) % c.n
    point = ecc.encode_point(c, q)
    named = p.seq(p.seq(p.oid("1.2.840.10045.2.1"), p.oid(c.oid)), p.tlv(0x03, b"\x00" + point))
    pk = load_public_key(named)
    assert pk.key is None and pk.point == q and pk.curve == name
    assert signatures.verify(pk, "1.2.840.10045.4.3.2", None, encode_dss_signature(r, s), msg)
    plain = r.to_bytes(c.order_bytes, "big") + s.to_bytes(c.order_bytes, "big")
    assert signatures.verify(pk, "0.4.0.127.0.7.1.1.4.1.3", None, plain, msg)
    assert not signatures.verify(pk, "0.4.0.127.0.7.1.1.4.1.3", None, plain, msg + b"!")
    assert not signatures.verify(pk, "0.4.0.127.0.7.1.1.4.1.3", None, plain[:-1], msg)
