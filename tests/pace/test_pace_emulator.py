"""PACE terminal against the emulated chip: MRZ and CAN, NIST P-256 and brainpoolP256r1 (every standardized
curve, and the DH groups), AES and 3DES."""

from __future__ import annotations

import pytest

from drivers.emulator.card_protocols import PaceResponder
from drivers.emulator.chip import EmulatedChip
from verifier.errors import AccessDeniedError, ChipError, InputError, StatusWordError
from verifier.icao import pace
from verifier.icao.apdu import Command, Response
from verifier.icao.keys import BACKey, CANKey
from verifier.icao.lds.security_infos import PACEInfo, encode_security_infos, parse_card_access

DG1 = bytes.fromhex("615B5F1F58") + b"I<VNM0123456784001234567890<<<9001011M3001012VNM<<<<<<<<<<<2NGUYEN<<VAN<A<<<<<<<<<<<<<<<<"



CASES = [
    (12, "AES-128", "mrz"),
    (12, "AES-128", "can"),
    (13, "AES-128", "mrz"),
    (13, "AES-128", "can"),
    (12, "3DES", "mrz"),
    (13, "3DES", "can"),
    (13, "AES-256", "mrz"),
    (12, "AES-192", "can"),
    (0, "AES-128", "mrz"),  # DH generic mapping, RFC 5114 groups
    (1, "3DES", "can"),
    (2, "AES-256", "mrz"),
]


@pytest.mark.parametrize("param_id, cipher, password", CASES)
def test_pace_then_protected_read(pace_helpers, param_id, cipher, password):
    card_access = pace.card_access_for(param_id, cipher)
    chip = pace_helpers["make_chip"]({"DG1": DG1}, card_access)
    key = pace_helpers["MRZ_KEY"] if password == "mrz" else CANKey(pace_helpers["CAN"])
    result = pace.run_pace(pace_helpers["plain_send"](chip), key, card_access)
    assert result.info.parameter_id == param_id
    assert result.cipher == ("3DES" if cipher == "3DES" else "AES")
    assert result.info.agreement == ("DH" if param_id < 8 else "ECDH")
    assert result.password_ref == (1 if password == "mrz" else 2)
    session = pace_helpers["SMSession"](chip, result.sm)
    assert session.transmit(Command(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001"))).sw == 0x9000
    assert session.read_file(0x0101) == DG1


@pytest.mark.parametrize("param_id", [8, 9, 10, 11, 14, 15, 16, 17, 18])
def test_pace_every_standardized_curve(pace_helpers, param_id):
    card_access = pace.card_access_for(param_id, "AES-128")
    chip = pace_helpers["make_chip"]({"DG1": DG1}, card_access)
    session = pace_helpers["open_session"](chip, card_access)
    assert session.read_file(0x0101) == DG1


def test_wrong_can_is_access_denied(pace_helpers):
    card_access = pace.card_access_for(13, "AES-128")
    chip = pace_helpers["make_chip"]({"DG1": DG1}, card_access)
    with pytest.raises(AccessDeniedError, match="wrong CAN / MRZ") as e:
        pace.perform_pace(pace_helpers["plain_send"](chip), CANKey("111111"), card_access)
    assert e.value.sw == 0x6300 and e.value.step == pace.STEP_MA
    # the chip stays usable: the right CAN works afterwards
    assert pace.perform_pace(pace_helpers["plain_send"](chip), CANKey(pace_helpers["CAN"]), card_access)


def test_wrong_mrz_is_access_denied(pace_helpers):
    card_access = pace.card_access_for(12, "3DES")
    chip = pace_helpers["make_chip"]({"DG1": DG1}, card_access)
    with pytest.raises(AccessDeniedError):
        pace.perform_pace(pace_helpers["plain_send"](chip), BACKey("012345679", "900101", "300101"), card_access)


def test_card_without_can_refuses_mse(pace_helpers):
    card_access = pace.card_access_for(13, "AES-128")
    responder = PaceResponder(lambda ref: None, card_access)
    chip = EmulatedChip({"DG1": DG1}, None, card_access=card_access, pace_responder=responder)
    with pytest.raises(StatusWordError) as e:
        pace.perform_pace(pace_helpers["plain_send"](chip), CANKey("123456"), card_access)
    assert e.value.step == pace.STEP_MSE and e.value.sw == 0x6A88


def test_first_supported_info_is_chosen_and_ambiguity_sends_parameter_id(pace_helpers):
    infos = [PACEInfo("0.4.0.127.0.7.2.2.4.3.2", 2, 0),  # DH-IM: skipped
             PACEInfo("0.4.0.127.0.7.2.2.4.6.2", 2, 13),  # CAM: skipped
             PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 12),
             PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)]
    card_access = encode_security_infos(infos)
    assert pace.choose_pace_info(parse_card_access(card_access)) == infos[2]
    sent = []
    chip = pace_helpers["make_chip"]({"DG1": DG1}, card_access)

    def send(cmd):
        sent.append(cmd)
        return Response.parse(chip.process(cmd.encode()))

    result = pace.run_pace(send, pace_helpers["MRZ_KEY"], card_access)
    assert result.curve == "secp256r1"
    assert sent[0].data.endswith(bytes.fromhex("84010C"))  # DO'84' parameter id 12


@pytest.mark.parametrize("infos, match", [
    ([], "no PACEInfo"),
    ([PACEInfo("0.4.0.127.0.7.2.2.4.1.2", 2, 3)], "no supported protocol"),  # DH-GM, RFU parameter id
    ([PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 0)], "no supported protocol"),  # ECDH with a DH group id
    ([PACEInfo("0.4.0.127.0.7.2.2.4.3.2", 2, 0)], "no supported protocol"),  # DH integrated mapping
    ([PACEInfo("0.4.0.127.0.7.2.2.4.6.2", 2, 13)], "no supported protocol"),  # chip authentication mapping
    ([PACEInfo("0.4.0.127.0.7.2.2.4.4.2", 2, 13)], "no supported protocol"),
    ([PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, None)], "no supported protocol"),
    ([PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 1, 13)], "no supported protocol"),
    ([PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 31)], "no supported protocol"),
])
def test_unsupported_pace_is_a_clear_error(infos, match):
    card_access = encode_security_infos(infos)
    with pytest.raises(ChipError, match=match):
        pace.perform_pace(lambda c: pytest.fail("nothing may be sent"), CANKey("123456"), card_access)


def test_card_access_for():
    infos = parse_card_access(pace.card_access_for(12, "AES-256")).pace
    assert infos == (PACEInfo("0.4.0.127.0.7.2.2.4.2.4", 2, 12),)
    assert parse_card_access(pace.card_access_for(13, "3DES")).pace[0].cipher == ("3DES", 112)
    assert parse_card_access(pace.card_access_for(0, "AES-128")).pace[0].agreement == "DH"
    with pytest.raises(InputError):
        pace.card_access_for(3, "AES-128")
    with pytest.raises(InputError):
        pace.card_access_for(13, "RC4")
