"""Active Authentication (ICAO 9303-11 §6.1): RSA ISO/IEC 9796-2 and plain ECDSA, against the emulated chip."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from drivers.emulator.card_protocols import ActiveAuthResponder, as_private_key, make_active_auth_key
from verifier.errors import ParseError, StatusWordError, VerificationError
from verifier.icao import active_auth as aa
from verifier.icao import chip_keys, ecc, pace
from verifier.icao.lds.dg14 import encode_dg14, parse_dg14
from verifier.icao.lds.dg15 import encode_dg15, parse_dg15
from verifier.icao.lds.security_infos import ID_AA, ActiveAuthenticationInfo
from verifier.verdict import ACTIVE_AUTHENTICATION, Status

CHALLENGE = bytes.fromhex("F173589974BF40C6")


@pytest.fixture(scope="module")
def rsa1024():
    return make_active_auth_key("rsa", bits=1024)


@pytest.fixture(scope="module")
def rsa2048():
    return make_active_auth_key("rsa", bits=2048)


@pytest.fixture(scope="module")
def ec256():
    return make_active_auth_key("ec", curve="brainpoolP256r1")


def _dg14_for(oid: str | None) -> bytes | None:
    return encode_dg14([ActiveAuthenticationInfo(ID_AA, 1, oid)]) if oid else None


def _run(pace_helpers, aa_key, dg15_spki, sig_oid=None, **responder_kw):
    card_access = pace.card_access_for(13, "AES-128")
    dg15 = encode_dg15(dg15_spki)
    files = {"DG15": dg15}
    dg14 = _dg14_for(sig_oid)
    if dg14:
        files["DG14"] = dg14
    chip = pace_helpers["make_chip"](files, card_access, aa_responder=ActiveAuthResponder(aa_key, **responder_kw))
    session = pace_helpers["open_session"](chip, card_access)
    dg15_read = parse_dg15(session.read_file(0x010F, len(dg15)))
    dg14_read = parse_dg14(session.read_file(0x010E, len(dg14))) if dg14 else None
    return aa.perform_active_authentication(session, dg15_read, dg14_read)


# --- against the emulator -----------------------------------------------------------------


def test_rsa_sha1_success(pace_helpers, rsa1024):
    key, spki = rsa1024
    result = _run(pace_helpers, key, spki)
    assert result.valid, result.reason
    assert result.algorithm == "RSA-1024 ISO/IEC 9796-2 SHA1"
    check = result.to_check()
    assert check.name == ACTIVE_AUTHENTICATION and check.status is Status.PASSED


@pytest.mark.parametrize("hash_name, trailer", [("sha224", 0x38), ("sha256", 0x34), ("sha384", 0x36),
                                                ("sha512", 0x35)])
def test_rsa_two_byte_trailers(pace_helpers, rsa2048, hash_name, trailer):
    key, spki = rsa2048
    result = _run(pace_helpers, key, spki, hash_name=hash_name)
    assert result.valid, result.reason
    assert result.algorithm.endswith(hash_name.upper())
    # and the representative really carries the two-byte trailer xxCC
    sig = ActiveAuthResponder(key, hash_name=hash_name).internal_authenticate(CHALLENGE)
    f = aa._rsa_recover(chip_keys.parse_public_key(spki), sig)
    assert f[-2:] == bytes([trailer, 0xCC]) and f[0] == 0x6A


@pytest.mark.parametrize("hash_name", ["sha1", "sha224", "sha256", "sha384", "sha512"])
def test_ecdsa_success_with_plain_oid(pace_helpers, ec256, hash_name):
    key, spki = ec256
    result = _run(pace_helpers, key, spki, aa.ECDSA_PLAIN_OID[hash_name], hash_name=hash_name)
    assert result.valid, result.reason
    assert result.algorithm == f"ECDSA brainpoolP256r1 {hash_name.upper()}"


def test_ecdsa_p256_with_x962_oid_and_cryptography_key(pace_helpers):
    k = ec.generate_private_key(ec.SECP256R1())
    spki = chip_keys.ec_spki(as_private_key(k).curve, as_private_key(k).public)
    result = _run(pace_helpers, k, spki, "1.2.840.10045.4.3.2")
    assert result.valid, result.reason


def test_rsa_clone_fails(pace_helpers, rsa1024, rsa2048):
    """The chip's AA key differs from the DG15 key (a copied DG15 on another chip)."""
    key, _ = make_active_auth_key("rsa", bits=1024)
    result = _run(pace_helpers, key, rsa1024[1])
    assert not result.valid
    check = result.to_check()
    assert check.status is Status.FAILED and "clone" in check.reason


def test_ecdsa_clone_fails(pace_helpers, ec256):
    other, _ = make_active_auth_key("ec", curve="brainpoolP256r1")
    result = _run(pace_helpers, other, ec256[1], aa.ECDSA_PLAIN_OID["sha256"])
    assert not result.valid and "does not verify" in result.reason


def test_ecdsa_hash_mismatch_with_dg14_fails(pace_helpers, ec256):
    key, spki = ec256
    result = _run(pace_helpers, key, spki, aa.ECDSA_PLAIN_OID["sha384"], hash_name="sha256")
    assert not result.valid and "SHA384" in result.reason


def test_ecdsa_without_dg14_info_tries_every_hash(pace_helpers, ec256):
    key, spki = ec256
    result = _run(pace_helpers, key, spki, None, hash_name="sha384")
    assert result.valid and result.algorithm.endswith("SHA384")


def test_chip_without_aa_gives_status_error(pace_helpers, rsa1024):
    card_access = pace.card_access_for(13, "AES-128")
    chip = pace_helpers["make_chip"]({"DG15": encode_dg15(rsa1024[1])}, card_access)
    session = pace_helpers["open_session"](chip, card_access)
    with pytest.raises(StatusWordError) as e:
        aa.perform_active_authentication(session, parse_dg15(encode_dg15(rsa1024[1])))
    assert e.value.step == aa.STEP_AA


# --- pure verification ---------------------------------------------------------------------


def _rsa_sign(key, **kw):
    return aa.sign_rsa_9796_2(key.n, key.d, CHALLENGE, **kw)


def test_rsa_wrong_trailer(rsa1024):
    key, spki = rsa1024
    for trailer, match in [(b"\xAC", "wrong trailer AC"), (b"\x99\xCC", "trailer 99CC names an unsupported hash")]:
        result = aa.verify_active_auth(spki, CHALLENGE, _rsa_sign(key, trailer=trailer))
        assert not result.valid and match in result.reason
    # a trailer not ending in nibble C: the verifier tries n - F, which cannot be well formed either
    assert not aa.verify_active_auth(spki, CHALLENGE, _rsa_sign(key, trailer=b"\xBD")).valid


def test_rsa_trailer_naming_another_hash(rsa1024):
    key, spki = rsa1024
    # SHA-1 digest but a trailer that claims SHA-256 (34CC): layout and hash disagree
    sig = _rsa_sign(key, trailer=b"\x34\xCC")
    result = aa.verify_active_auth(spki, CHALLENGE, sig)
    assert not result.valid and "does not match" in result.reason


def test_rsa_wrong_signature_and_challenge(rsa1024):
    key, spki = rsa1024
    sig = _rsa_sign(key)
    assert aa.verify_active_auth(spki, CHALLENGE, sig).valid
    assert not aa.verify_active_auth(spki, bytes(8), sig).valid
    bad = bytearray(sig)
    bad[5] ^= 0x01
    r = aa.verify_active_auth(spki, CHALLENGE, bytes(bad))
    assert not r.valid and ("trailer" in r.reason or "header" in r.reason)
    r = aa.verify_active_auth(spki, CHALLENGE, sig[:-1])
    assert not r.valid and "expected 128" in r.reason
    r = aa.verify_active_auth(spki, CHALLENGE, b"\xff" * 128)
    assert not r.valid and "not smaller than the modulus" in r.reason


def test_rsa_wrong_header(rsa1024):
    key, spki = rsa1024
    f = b"\x4A" + bytes(106) + hashlib.sha1(bytes(106) + CHALLENGE).digest() + b"\xBC"
    sig = pow(int.from_bytes(f, "big"), key.d, key.n).to_bytes(128, "big")
    r = aa.verify_active_auth(spki, CHALLENGE, sig)
    assert not r.valid and "total message recovery" in r.reason


def test_rsa_padded_header_6b_accepted(rsa1024):
    key, spki = rsa1024
    m1 = bytes(range(100))
    f = b"\x6B\xBB\xBB\xBB\xBB\xBB\xBA" + m1 + hashlib.sha1(m1 + CHALLENGE).digest() + b"\xBC"
    assert len(f) == 128
    sig = pow(int.from_bytes(f, "big"), key.d, key.n).to_bytes(128, "big")
    assert aa.verify_active_auth(spki, CHALLENGE, sig).valid


def test_ecdsa_wrong_oid_cannot_be_attempted(ec256):
    key, spki = ec256
    sig = ActiveAuthResponder(key).internal_authenticate(CHALLENGE)
    with pytest.raises(VerificationError, match="signature algorithm 1.2.3.4"):
        aa.verify_active_auth(spki, CHALLENGE, sig, "1.2.3.4")
    # an RSA signature OID is not an ECDSA OID either
    with pytest.raises(VerificationError):
        aa.verify_active_auth(spki, CHALLENGE, sig, "1.2.840.113549.1.1.11")


def test_ecdsa_wrong_signature(ec256):
    key, spki = ec256
    sig = ActiveAuthResponder(key).internal_authenticate(CHALLENGE)
    oid = aa.ECDSA_PLAIN_OID["sha256"]
    assert aa.verify_active_auth(spki, CHALLENGE, sig, oid).valid
    bad = bytearray(sig)
    bad[-1] ^= 1
    assert not aa.verify_active_auth(spki, CHALLENGE, bytes(bad), oid).valid
    r = aa.verify_active_auth(spki, CHALLENGE, sig + b"\x00", oid)
    assert not r.valid and "expected plain r||s of 64 bytes" in r.reason


def test_ecdsa_der_signature_tolerated(ec256):
    key, spki = ec256
    sig = ActiveAuthResponder(key).internal_authenticate(CHALLENGE)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    assert aa.verify_active_auth(spki, CHALLENGE, der, aa.ECDSA_PLAIN_OID["sha256"]).valid


def test_dh_or_malformed_dg15_key():
    spki = chip_keys.dh_spki(ecc.DHParams(23, 5, 11), 4)
    with pytest.raises(VerificationError, match="Diffie-Hellman"):
        aa.verify_active_auth(spki, CHALLENGE, b"\x00" * 8)
    with pytest.raises(ParseError):
        aa.verify_active_auth(b"\x30\x03\x02\x01\x01", CHALLENGE, b"\x00" * 8)


def test_ecdsa_curve_mismatch_fails(ec256):
    """A P-256 signature checked against a brainpool key does not verify."""
    k = ec.generate_private_key(ec.SECP256R1())
    sig = ActiveAuthResponder(k).internal_authenticate(CHALLENGE)
    assert not aa.verify_active_auth(ec256[1], CHALLENGE, sig, aa.ECDSA_PLAIN_OID["sha256"]).valid


# ICAO 9303-11 Appendix F (worked example, Active Authentication): RSA-1024, SHA-1, trailer BC.
APPENDIX_F_M1 = bytes.fromhex(
    "9D2784A67F8E7C659973EA1AEA25D95B6C8F91E5002F369F0FBDCE8A3CEC1991B543F1696546C5524CF23A5303CD6C98"
    "599F40B79F377B5F3A1406B3B4D8F96784D23AA88DB7E1032A405E69325FA91A6E86F5C71AEA978264C4A207446DAD4E"
    "7292E2DCDA3024B47DA8")
APPENDIX_F_H = bytes.fromhex("C063AA1E6D22FBD976AB0FE73D94D2D9C6D88127")
APPENDIX_F_F = bytes.fromhex(
    "6A9D2784A67F8E7C659973EA1AEA25D95B6C8F91E5002F369F0FBDCE8A3CEC1991B543F1696546C5524CF23A5303CD6C"
    "98599F40B79F377B5F3A1406B3B4D8F96784D23AA88DB7E1032A405E69325FA91A6E86F5C71AEA978264C4A207446DAD"
    "4E7292E2DCDA3024B47DA8C063AA1E6D22FBD976AB0FE73D94D2D9C6D88127BC")


def test_appendix_f_worked_example(rsa1024):
    """The appendix gives no key: sign its M1 with ours, then recover exactly its F and verify."""
    assert hashlib.sha1(APPENDIX_F_M1 + CHALLENGE).digest() == APPENDIX_F_H
    key, spki = rsa1024
    sig = aa.sign_rsa_9796_2(key.n, key.d, CHALLENGE, APPENDIX_F_M1)
    assert aa._rsa_recover(chip_keys.parse_public_key(spki), sig) == APPENDIX_F_F
    result = aa.verify_active_auth(spki, CHALLENGE, sig)
    assert result.valid and result.algorithm == "RSA-1024 ISO/IEC 9796-2 SHA1"
