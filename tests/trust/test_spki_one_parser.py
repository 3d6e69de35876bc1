"""One SubjectPublicKeyInfo parser for certificates and chip keys (issue 16 item 5)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from verifier.errors import ParseError, TrustError
from verifier.icao import chip_keys, curves, ecc
from verifier.trust.certs import load_public_key

BP256 = curves.CURVES["brainpoolP256r1"]


def test_a_certificate_key_and_a_chip_key_parse_to_the_same_point():
    key = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    cert_key, chip_key = load_public_key(spki), chip_keys.parse_public_key(spki)
    assert cert_key.point == chip_key.point == (key.public_numbers().x, key.public_numbers().y)
    assert cert_key.key.public_numbers() == key.public_numbers() and not cert_key.explicit_curve


def test_explicit_parameters_are_flagged_on_both_sides():
    spki = chip_keys.ec_spki(BP256, ecc.public_key(BP256, 777), explicit=True)
    assert chip_keys.parse_public_key(spki).explicit_parameters
    assert load_public_key(spki).explicit_curve and load_public_key(spki).curve == "brainpoolP256r1"


def test_a_compressed_point_in_a_certificate_is_read():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    compressed = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    spki = chip_keys._spki(chip_keys.ID_EC_PUBLIC_KEY, bytes.fromhex("06082a8648ce3d030107"), compressed)
    assert load_public_key(spki).point == (key.public_numbers().x, key.public_numbers().y)


def test_dh_keys_are_chip_keys_but_not_certificate_keys():
    spki = chip_keys.dh_spki(ecc.DHParams(23, 5, 11), 4)
    assert isinstance(chip_keys.parse_public_key(spki), chip_keys.DHPublicKey)
    with pytest.raises(TrustError, match="unsupported public key algorithm"):
        load_public_key(spki)


def test_unused_bits_in_the_key_are_refused_on_both_sides():
    good = chip_keys.rsa_spki((1 << 1023) + 12345 * 2 + 1, 65537)
    at = good.index(b"\x03\x81\x8d\x00") + 3  # BIT STRING, its unused-bits byte
    bad = good[:at] + b"\x01" + good[at + 1:]
    for parse in (chip_keys.parse_public_key, load_public_key):
        with pytest.raises(ParseError, match="unused bits"):
            parse(bad)


def test_implicit_ca_is_refused_alike():
    spki = chip_keys._spki(chip_keys.ID_EC_PUBLIC_KEY, None, ecc.encode_point(BP256, ecc.public_key(BP256, 5)))
    for parse in (chip_keys.parse_public_key, load_public_key):
        with pytest.raises(TrustError, match="implicitlyCA"):
            parse(spki)
