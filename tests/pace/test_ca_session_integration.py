"""CA and AA through the project's real ChipSession over the emulator transport (PACE-CAN, then CA, then AA)."""

from __future__ import annotations

import pytest

from drivers.emulator.card_protocols import chip_auth_infos, make_active_auth_key, make_chip_auth_key
from drivers.emulator.chip import EmulatedChip
from drivers.emulator.transport import EmulatorTransport
from verifier.errors import StatusWordError
from verifier.icao import active_auth, chip_auth, pace
from verifier.icao.keys import CANKey
from verifier.icao.lds.dg14 import encode_dg14, parse_dg14
from verifier.icao.lds.dg15 import encode_dg15, parse_dg15
from verifier.icao.session import ChipSession

CAN = "123456"
DG1 = bytes.fromhex("6105") + b"HELLO"


def _session(ca_card_key, ca_dg14_key, aa_card_key, aa_dg15_spki, cipher="AES-128"):
    infos = chip_auth_infos(ca_card_key, ca_dg14_key, cipher=cipher)
    files = {"DG1": DG1, "DG14": encode_dg14(infos), "DG15": encode_dg15(aa_dg15_spki)}
    from drivers.emulator.card_protocols import ChipAuthResponder

    chip = EmulatedChip(files, None, can=CAN, card_access=pace.card_access_for(13, "AES-128"),
                        ca_responder=ChipAuthResponder(ca_card_key, protocol=infos[1].protocol),
                        active_auth_key=aa_card_key)
    session = ChipSession(EmulatorTransport(chip), [CANKey(CAN)], policy="pace")
    session.open()
    return session, chip


@pytest.fixture(scope="module")
def keys():
    ca_key, ca_spki = make_chip_auth_key("brainpoolP256r1")
    aa_key, aa_spki = make_active_auth_key("rsa", bits=1024)
    return ca_key, ca_spki, aa_key, aa_spki


@pytest.mark.parametrize("cipher", ["AES-128", "3DES"])
def test_genuine_chip(keys, cipher):
    ca_key, ca_spki, aa_key, aa_spki = keys
    session, _ = _session(ca_key, ca_spki, aa_key, aa_spki, cipher)
    assert session.access_protocol == "PACE"
    dg14 = parse_dg14(session.read_file("DG14"))
    result = chip_auth.run_chip_authentication(session, dg14)
    session.replace_sm(result.sm)
    confirmed = chip_auth.confirm_chip_authentication(session, result.protocol)
    assert confirmed.valid, confirmed.reason
    dg15 = parse_dg15(session.read_file("DG15"))
    assert session.read_file("DG1") == DG1
    aa = active_auth.perform_active_authentication(session, dg15, dg14)
    assert aa.valid, aa.reason


def test_ca_clone_through_the_session(keys):
    ca_key, ca_spki, aa_key, aa_spki = keys
    clone_key, _ = make_chip_auth_key("brainpoolP256r1")
    session, _ = _session(clone_key, ca_spki, aa_key, aa_spki)
    dg14 = parse_dg14(session.read_file("DG14"))
    session.replace_sm(chip_auth.perform_chip_authentication(session, dg14))
    confirmed = chip_auth.confirm_chip_authentication(session)
    assert not confirmed.valid and "6988" in confirmed.reason
    assert confirmed.to_check().status.value == "failed"


def test_ca_clone_then_plain_read_is_a_status_error_not_an_sm_error(keys):
    """What a caller sees if it just reads on after CA with a clone: the chip's plain 6988, not a MAC error.

    (So a caller must not rely on SecureMessagingError alone: use confirm_chip_authentication.)
    """
    ca_key, ca_spki, aa_key, aa_spki = keys
    clone_key, _ = make_chip_auth_key("brainpoolP256r1")
    session, _ = _session(clone_key, ca_spki, aa_key, aa_spki)
    dg14 = parse_dg14(session.read_file("DG14"))
    session.replace_sm(chip_auth.perform_chip_authentication(session, dg14))
    with pytest.raises(StatusWordError) as e:
        session.read_file("DG15")
    assert e.value.sw == 0x6988


def test_aa_clone_through_the_session(keys):
    ca_key, ca_spki, aa_key, aa_spki = keys
    other_aa, _ = make_active_auth_key("rsa", bits=1024)
    session, _ = _session(ca_key, ca_spki, other_aa, aa_spki)
    dg15 = parse_dg15(session.read_file("DG15"))
    result = active_auth.perform_active_authentication(session, dg15)
    assert not result.valid
    assert result.to_check().status.value == "failed"
