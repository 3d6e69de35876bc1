"""Hostile chip keys in DG14 / DG15 give ParseError, never asn1crypto's own exceptions (issue 15 item 6)."""

from __future__ import annotations

import pytest

from verifier.errors import ParseError
from verifier.icao import chip_keys, curves, ecc, tlv
from verifier.icao.lds import security_infos as si
from verifier.icao.lds.dg14 import encode_dg14, parse_dg14
from verifier.icao.lds.dg15 import parse_dg15

#: EC parameters given as a REAL (tag 09): asn1crypto's Any has no ``native`` for it (AttributeError).
DG15_REAL_PARAMS = bytes.fromhex("6f133011300b06072a8648ce3d0201090003020004")
#: An empty BIT STRING as the public key: asn1crypto indexes its first byte (IndexError).
DG15_EMPTY_BIT_STRING = bytes.fromhex("6f193017301306072a8648ce3d020106082a8648ce3d0301070300")


@pytest.mark.parametrize("dg15, message", [
    (DG15_REAL_PARAMS, "malformed EC domain parameters"),
    (DG15_EMPTY_BIT_STRING, "malformed SubjectPublicKeyInfo"),
], ids=["real-as-parameters", "empty-bit-string"])
def test_hostile_dg15_keys_are_parse_errors(dg15, message):
    spki = parse_dg15(dg15).public_key_info
    with pytest.raises(ParseError, match=message) as e:
        chip_keys.parse_public_key(spki, what="DG15")
    assert str(e.value).startswith("DG15")
    assert e.value.__cause__ is not None  # raise ... from e: the asn1crypto error stays visible for debugging


def _dg14_with_key(spki: bytes) -> bytes:
    key = si.ChipAuthenticationPublicKeyInfo(si.ID_PK_ECDH, spki)
    return encode_dg14([si.ChipAuthenticationInfo(f"{si.ID_CA_ECDH}.2", 1), key])


@pytest.mark.parametrize("dg15", [DG15_REAL_PARAMS, DG15_EMPTY_BIT_STRING], ids=["real-as-parameters", "empty-bit-string"])
def test_hostile_dg14_chip_authentication_keys_are_parse_errors(dg15):
    spki = parse_dg15(dg15).public_key_info
    dg14 = parse_dg14(_dg14_with_key(spki))
    assert dg14.security_infos.chip_auth_keys[0].public_key == spki  # kept as read
    with pytest.raises(ParseError):
        chip_keys.parse_public_key(dg14.security_infos.chip_auth_keys[0].public_key, what="DG14 CA key")


def test_chip_authentication_with_a_hostile_key_stops_before_any_apdu():
    from verifier.icao.chip_auth import STEP_SELECT, run_chip_authentication

    class NoCard:
        def transmit(self, apdu):  # pragma: no cover - must not be reached
            raise AssertionError("no APDU may be sent with an unusable key")

    dg14 = parse_dg14(_dg14_with_key(parse_dg15(DG15_EMPTY_BIT_STRING).public_key_info))
    with pytest.raises(ParseError) as e:
        run_chip_authentication(NoCard(), dg14)
    assert e.value.step == STEP_SELECT


def test_null_and_absent_rsa_parameters_still_parse():
    n = (1 << 2047) + 12345 * 2 + 1
    with_null = chip_keys.rsa_spki(n, 65537)
    assert chip_keys.parse_public_key(with_null) == chip_keys.RSAPublicKey(n, 65537)
    # the same key without the NULL parameters (some issuers omit them)
    alg = tlv.encode(0x30, si.encode_oid(chip_keys.RSA_ENCRYPTION))
    rsa_key = tlv.decode(with_null).children()[1].raw
    without = tlv.encode(0x30, alg + rsa_key)
    assert chip_keys.parse_public_key(without) == chip_keys.RSAPublicKey(n, 65537)


def test_explicit_brainpool_key_as_real_dg14_writes_it():
    c = curves.CURVES["brainpoolP256r1"]
    spki = chip_keys.ec_spki(c, ecc.public_key(c, 12345), algorithm=chip_keys.ID_PK_ECDH, explicit=True)
    key = chip_keys.parse_public_key(spki)
    assert key.curve == c and key.point == ecc.public_key(c, 12345) and key.algorithm == chip_keys.ID_PK_ECDH
