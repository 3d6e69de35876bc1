"""Chip Authentication (ICAO 9303-11 §6.2) against the emulated chip: ECDH and DH, AES and 3DES, clones."""

from __future__ import annotations

import pytest

from drivers.emulator.card_protocols import ChipAuthResponder, chip_auth_infos, make_chip_auth_key
from verifier.errors import ParseError, StatusWordError, VerificationError
from verifier.icao import chip_auth, chip_keys, curves, ecc, pace
from verifier.icao.apdu import Command
from verifier.icao.lds import security_infos as si
from verifier.icao.lds.dg14 import encode_dg14, parse_dg14
from verifier.icao.lds.security_infos import ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo

DG1 = bytes.fromhex("6105") + b"HELLO"


def _setup(pace_helpers, dg14_infos, responder):
    card_access = pace.card_access_for(12, "AES-128")
    dg14_raw = encode_dg14(dg14_infos)
    chip = pace_helpers["make_chip"]({"DG1": DG1, "DG14": dg14_raw}, card_access, ca_responder=responder)
    session = pace_helpers["open_session"](chip, card_access)
    dg14 = parse_dg14(session.read_file(0x010E, len(dg14_raw)))
    assert dg14.raw == dg14_raw
    return chip, session, dg14


def _ca_and_read(session, dg14, **kw):
    result = chip_auth.run_chip_authentication(session, dg14, **kw)
    assert result.sm.ssc == 0
    session.replace_sm(result.sm)
    confirmed = chip_auth.confirm_chip_authentication(session, result.protocol)
    assert confirmed.valid, confirmed.reason
    assert confirmed.to_check().status.value == "passed"
    return result, session.read_file(0x0101, len(DG1))


@pytest.mark.parametrize("curve, cipher", [
    ("brainpoolP256r1", "AES-128"),
    ("brainpoolP256r1", "3DES"),
    ("secp256r1", "AES-256"),
    ("secp384r1", "AES-192"),
    ("brainpoolP384r1", "3DES"),
    ("dh1024", "AES-128"),
    ("dh1024", "3DES"),
])
def test_chip_authentication_success(pace_helpers, curve, cipher):
    key, spki = make_chip_auth_key(curve)
    infos = chip_auth_infos(key, spki, cipher=cipher)
    responder = ChipAuthResponder(key, protocol=infos[1].protocol)
    chip, session, dg14 = _setup(pace_helpers, infos, responder)
    result, dg1 = _ca_and_read(session, dg14)
    assert dg1 == DG1
    assert result.protocol == infos[1].protocol and not result.assumed_protocol
    assert result.cipher == pace.parse_cipher(cipher)[0]
    assert result.agreement == ("DH" if curve == "dh1024" else "ECDH")


def test_explicit_parameters_and_key_ids(pace_helpers):
    key1, spki1 = make_chip_auth_key("brainpoolP256r1", explicit=True)
    key2, spki2 = make_chip_auth_key("secp256r1")
    infos = chip_auth_infos(key1, spki1, key_id=1) + chip_auth_infos(key2, spki2, key_id=2)
    responder = ChipAuthResponder(key2, key_id=2)
    chip, session, dg14 = _setup(pace_helpers, infos, responder)
    assert [k.key_id for k in dg14.security_infos.chip_auth_keys] == [1, 2]
    result, dg1 = _ca_and_read(session, dg14, key_id=2)
    assert dg1 == DG1 and result.key_id == 2


def test_missing_chip_authentication_info_assumes_3des(pace_helpers):
    key, spki = make_chip_auth_key("brainpoolP256r1")
    responder = ChipAuthResponder(key, protocol=si.ca_protocol_oid("ECDH", "3DES", 112))
    chip, session, dg14 = _setup(pace_helpers, [ChipAuthenticationPublicKeyInfo(si.ID_PK_ECDH, spki)], responder)
    result, dg1 = _ca_and_read(session, dg14)
    assert dg1 == DG1 and result.assumed_protocol and result.cipher == "3DES"


@pytest.mark.parametrize("cipher", ["AES-128", "3DES"])
def test_clone_is_detected_by_the_next_sm_response(pace_helpers, cipher):
    """The chip holds another key than DG14's (DG14 copied from a genuine card): the restart fails."""
    genuine, spki = make_chip_auth_key("brainpoolP256r1")
    clone_key, _ = make_chip_auth_key("brainpoolP256r1")
    infos = chip_auth_infos(genuine, spki, cipher=cipher)
    chip, session, dg14 = _setup(pace_helpers, infos, ChipAuthResponder(clone_key, protocol=infos[1].protocol))
    sm = chip_auth.perform_chip_authentication(session, dg14)  # the key agreement itself raises nothing
    session.replace_sm(sm)
    result = chip_auth.confirm_chip_authentication(session, infos[1].protocol)
    assert not result.valid and "could not verify our MAC" in result.reason
    check = result.to_check()
    assert check.status.value == "failed" and "clone" in check.reason


def test_tampered_dg14_key_is_detected(pace_helpers):
    """DG14's key replaced by another valid point (SOD check aside): the chip cannot follow."""
    key, spki = make_chip_auth_key("secp256r1")
    c = curves.CURVES["secp256r1"]
    other = chip_keys.ec_spki(c, ecc.public_key(c, 99), algorithm=chip_keys.ID_PK_ECDH)
    infos = chip_auth_infos(key, other)
    chip, session, dg14 = _setup(pace_helpers, infos, ChipAuthResponder(key))
    session.replace_sm(chip_auth.perform_chip_authentication(session, dg14))
    assert not chip_auth.confirm_chip_authentication(session).valid


def test_clone_answering_with_a_bad_mac(pace_helpers):
    """A chip whose responses under the new keys carry a MAC the terminal cannot verify."""
    key, spki = make_chip_auth_key("brainpoolP256r1")
    chip, session, dg14 = _setup(pace_helpers, chip_auth_infos(key, spki), ChipAuthResponder(key))
    session.replace_sm(chip_auth.perform_chip_authentication(session, dg14))
    chip.faults.bad_mac = True
    result = chip_auth.confirm_chip_authentication(session)
    assert not result.valid and "fails secure messaging" in result.reason


def test_dg14_key_off_the_curve_is_a_parse_error(pace_helpers):
    key, spki = make_chip_auth_key("secp256r1")
    bad = bytearray(spki)
    bad[-1] ^= 0x01  # last byte of Y: the point leaves the curve
    infos = chip_auth_infos(key, bytes(bad))
    chip, session, dg14 = _setup(pace_helpers, infos, ChipAuthResponder(key))
    with pytest.raises(ParseError, match="not on curve") as e:
        chip_auth.perform_chip_authentication(session, dg14)
    assert e.value.step == chip_auth.STEP_SELECT


def test_wrong_key_id(pace_helpers):
    key, spki = make_chip_auth_key("brainpoolP256r1")
    infos = chip_auth_infos(key, spki, key_id=1)
    # the terminal asks for a key id DG14 does not have
    chip, session, dg14 = _setup(pace_helpers, infos, ChipAuthResponder(key, key_id=1))
    with pytest.raises(VerificationError, match="no Chip Authentication key with key id 5"):
        chip_auth.perform_chip_authentication(session, dg14, key_id=5)
    # DG14 says key id 1, the chip only knows key id 2
    chip, session, dg14 = _setup(pace_helpers, infos, ChipAuthResponder(key, key_id=2))
    with pytest.raises(StatusWordError) as e:
        chip_auth.perform_chip_authentication(session, dg14)
    assert e.value.step == chip_auth.STEP_AT and e.value.sw == 0x6A88


def test_wrong_key_id_with_kat(pace_helpers):
    key, spki = make_chip_auth_key("brainpoolP256r1")
    infos = chip_auth_infos(key, spki, key_id=1, cipher="3DES")
    chip, session, dg14 = _setup(pace_helpers, infos, ChipAuthResponder(key, key_id=3, protocol=infos[1].protocol))
    with pytest.raises(StatusWordError) as e:
        chip_auth.perform_chip_authentication(session, dg14)
    assert e.value.step == chip_auth.STEP_KAT


def test_nothing_to_authenticate_with():
    dg14 = parse_dg14(encode_dg14([si.PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)]))
    with pytest.raises(VerificationError, match="no ChipAuthenticationPublicKeyInfo"):
        chip_auth.perform_chip_authentication(None, dg14)
    key, spki = make_chip_auth_key("brainpoolP256r1")
    dg14 = parse_dg14(encode_dg14([ChipAuthenticationPublicKeyInfo(si.ID_PK_ECDH, spki, 1),
                                   ChipAuthenticationInfo(si.ca_protocol_oid("DH", "AES", 128), 1, 1)]))
    with pytest.raises(VerificationError, match="no ChipAuthenticationInfo matches"):
        chip_auth.perform_chip_authentication(None, dg14)


def test_apdus_sent(pace_helpers):
    """The exact command shapes of ICAO 9303-11 §6.2.4: MSE:Set AT 41A4 + GA (AES), MSE:Set KAT 41A6 (3DES)."""
    key, spki = make_chip_auth_key("secp256r1")
    for cipher, expected in (("AES-128", [(0x22, 0x41, 0xA4), (0x86, 0x00, 0x00)]), ("3DES", [(0x22, 0x41, 0xA6)])):
        infos = chip_auth_infos(key, spki, cipher=cipher, key_id=7)
        chip, session, dg14 = _setup(pace_helpers, infos, ChipAuthResponder(key, key_id=7, protocol=infos[1].protocol))
        sent: list[Command] = []
        inner = session.transmit
        session.transmit = lambda cmd: (sent.append(cmd), inner(cmd))[1]
        chip_auth.perform_chip_authentication(session, dg14, ephemeral_key=lambda curve: 5)
        assert [(c.ins, c.p1, c.p2) for c in sent] == expected
        point = ecc.encode_point(curves.CURVES["secp256r1"], ecc.public_key(curves.CURVES["secp256r1"], 5))
        if cipher == "3DES":
            assert sent[0].data == b"\x91\x41" + point + b"\x84\x01\x07"
        else:
            assert sent[0].data == b"\x80\x0A" + bytes.fromhex("04007F00070202030202") + b"\x84\x01\x07"
            assert sent[1].data == b"\x7C\x43\x80\x41" + point
