"""The plain-DER RSA key shortcut gives exactly what the asn1crypto specs give (verifier/icao/chip_keys.py).

:func:`chip_keys._plain_rsa` reads an rsaEncryption SubjectPublicKeyInfo in plain DER in place (every DG15 of
a CCCD); anything else goes through the specs. Every key, generated, varied in its encoding or mutated, is
parsed to the same key or refused with the same error (class and message) as with the specs alone.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings, strategies as st

from drivers.emulator import pki as p
from tests.mutations import mutated
from verifier.errors import ChipidError
from verifier.icao import chip_keys

RSA_OID = chip_keys.RSA_ENCRYPTION
CERTIFICATE_KEYS = frozenset({RSA_OID, chip_keys.ID_EC_PUBLIC_KEY})


def _outcome(spki: bytes, algorithms, *, shortcut: bool):
    with pytest.MonkeyPatch.context() as m:
        if not shortcut:
            m.setattr(chip_keys, "_plain_rsa", lambda spki: None)
        try:
            return "ok", chip_keys.parse_public_key(spki, what="DG15 public key", algorithms=algorithms)
        except ChipidError as e:
            return type(e).__name__, str(e)


def _same(spki: bytes, algorithms=None):
    fast = _outcome(spki, algorithms, shortcut=True)
    assert fast == _outcome(spki, algorithms, shortcut=False)
    return fast


def _der_int(v: int, pad: int = 0) -> bytes:
    return b"\x00" * pad + v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)


@st.composite
def rsa_keys(draw) -> bytes:
    """rsaEncryption (or RSASSA-PSS) keys of any numbers, their parameters and encodings varied."""
    n = draw(st.one_of(st.integers(-5, 2**64), st.integers(2**2040, 2**2048), st.just(2**8193 + 1)))
    e = draw(st.sampled_from([3, 65537, 2, 0, -3, n, n + 2]))
    ints = [p.tlv(0x02, _der_int(n, draw(st.integers(0, 1)))), p.tlv(0x02, _der_int(e))]
    if draw(st.integers(0, 9)) == 0:
        ints.append(draw(st.sampled_from([p.integer(1), b"\x02\x00", b"\x05\x00"])))
    if draw(st.integers(0, 9)) == 0:
        ints[draw(st.integers(0, 1))] = b"\x02\x00"  # an empty INTEGER
    key = p.seq(*ints)
    if draw(st.integers(0, 9)) == 0:
        key += b"\x00"
    oid = p.oid(draw(st.sampled_from([RSA_OID, RSA_OID, chip_keys.RSASSA_PSS, "1.2.840.113549.1.1.2"])))
    params = draw(st.sampled_from([[b"\x05\x00"], [], [b"\x05\x01\x00"], [p.seq()], [b"\x05\x00", b"\x05\x00"]]))
    unused = draw(st.sampled_from([b"\x00", b"\x00", b"\x01", b""]))
    spki = p.seq(p.seq(oid, *params), p.tlv(0x03, unused + key))
    if draw(st.integers(0, 9)) == 0:
        spki += draw(st.sampled_from([b"\x00", b"\x05\x00"]))
    if draw(st.integers(0, 9)) == 0:  # a longer length than needed (BER, not DER) on the outer SEQUENCE
        body = spki[2:] if spki[1] < 0x80 else spki[2 + (spki[1] & 0x7F):]
        spki = b"\x30\x82" + len(body).to_bytes(2, "big") + body
    return spki


@settings(max_examples=800, deadline=None)
@given(spki=rsa_keys(), algorithms=st.sampled_from([None, CERTIFICATE_KEYS, frozenset({chip_keys.ID_EC_PUBLIC_KEY})]))
def test_a_generated_rsa_key_is_read_or_refused_as_the_specs_do(spki, algorithms):
    _same(spki, algorithms)


def _real_keys() -> list[bytes]:
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    keys = [rsa.generate_private_key(65537, bits).public_key().public_bytes(*der) for bits in (1024, 2048, 3072)]
    keys.append(ec.generate_private_key(ec.BrainpoolP256R1()).public_key().public_bytes(*der))
    return keys + [chip_keys.rsa_spki(2**2047 + 1, 65537)]


REAL = _real_keys()


@settings(max_examples=800, deadline=None)
@given(spki=mutated(REAL))
def test_a_mutated_key_is_read_or_refused_as_the_specs_do(spki):
    _same(spki)


def test_real_rsa_keys_take_the_shortcut_and_read_as_the_specs_read():
    for spki in REAL[:3] + REAL[4:]:
        assert chip_keys._plain_rsa(spki) is not None  # the shortcut, not the specs, answered
        result = _same(spki)
        assert result[0] == "ok" and isinstance(result[1], chip_keys.RSAPublicKey)
    assert chip_keys._plain_rsa(REAL[3]) is None  # an EC key: the specs


@pytest.mark.parametrize(("spki", "refusal"), [
    (chip_keys.rsa_spki(2**2047, 65537), "RSA public key out of range"),  # even modulus
    (p.seq(p.seq(p.oid(RSA_OID), b"\x05\x00"), p.tlv(0x03, b"\x01" + p.seq(p.integer(2**64 + 1), p.integer(3)))),
     "unused bits"),
    (p.seq(p.seq(p.oid(RSA_OID), b"\x05\x00"), p.tlv(0x03, b"\x00" + p.seq(p.integer(2**64 + 1)))), "malformed RSAPublicKey"),
])
def test_refusals_keep_their_messages(spki, refusal):
    result = _same(spki)
    assert result[0] != "ok" and refusal in result[1]
