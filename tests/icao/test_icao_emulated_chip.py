"""The emulated chip's card side, APDU by APDU, and the emulator transport."""

from __future__ import annotations

import pytest

from drivers.emulator.chip import EmulatedChip, Faults
from drivers.emulator.transport import EmulatorTransport
from verifier.errors import CardRemovedError, InputError, TransportError
from verifier.icao.apdu import Command, Response
from verifier.icao.bac import perform_bac
from verifier.icao.keys import BACKey
from verifier.icao.lds.files import EMRTD_AID
from verifier.icao.sm import SecureMessaging
from verifier.icao.tlv import encode

H = bytes.fromhex
KEY = BACKey("093047064", "930105", "330105")
FILES = {"COM": encode(0x60, b"\x5F\x01\x040107"), "DG1": encode(0x61, b"I" * 90), "DG3": encode(0x63, b"x")}


def sw(chip, apdu: bytes | Command) -> int:
    raw = apdu.encode(extended=apdu.needs_extended) if isinstance(apdu, Command) else apdu
    return Response.parse(chip.process(raw)).sw


def plain(chip):
    return lambda cmd: Response.parse(chip.process(cmd.encode(extended=cmd.needs_extended)))


def bac(chip) -> SecureMessaging:
    assert sw(chip, Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID)) == 0x9000
    return perform_bac(plain(chip), KEY)


def protected(chip, sm, cmd: Command) -> Response:
    return Response.parse(sm.unwrap(chip.process(sm.wrap(cmd))))


def test_select_and_access_rules():
    chip = EmulatedChip(FILES, KEY)
    assert sw(chip, Command(0x00, 0xA4, 0x04, 0x0C, H("A0000002471002"))) == 0x6A82
    assert sw(chip, Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID)) == 0x9000
    assert sw(chip, Command(0x00, 0xA4, 0x02, 0x0C, H("011E"))) == 0x6982  # before BAC
    assert sw(chip, Command(0x00, 0xB0, 0x9E, 0x00, le=4)) == 0x6982
    sm = perform_bac(plain(chip), KEY)
    assert protected(chip, sm, Command(0x00, 0xB0, 0x9E, 0x00, le=4)).data == FILES["COM"][:4]
    assert protected(chip, sm, Command(0x00, 0xA4, 0x02, 0x0C, H("0103"))).sw == 0x9000
    assert protected(chip, sm, Command(0x00, 0xB0, 0x00, 0x00, le=1)).sw == 0x6982  # DG3: EAC
    assert protected(chip, sm, Command(0x00, 0xA4, 0x02, 0x0C, H("0105"))).sw == 0x6A82
    assert protected(chip, sm, Command(0x00, 0xB0, 0x00, 0x00, le=1)).sw == 0x6982  # current EF unchanged


def test_read_binary_answers():
    chip = EmulatedChip(FILES, KEY, max_le=64)
    sm = bac(chip)
    r = protected(chip, sm, Command(0x00, 0xB0, 0x81, 0x00, le=64))
    assert r.sw == 0x9000 and r.data == FILES["DG1"][:64]
    r = protected(chip, sm, Command(0x00, 0xB0, 0x00, 0x40, le=64))
    assert r.sw == 0x6282 and r.data == FILES["DG1"][64:]
    assert protected(chip, sm, Command(0x00, 0xB0, 0x00, 0x40, le=65)).sw == 0x6700
    assert protected(chip, sm, Command(0x00, 0xB0, 0x01, 0x00, le=1)).sw == 0x6B00
    r = protected(chip, sm, Command(0x00, 0xB1, 0x00, 0x00, encode(0x54, H("0A")), le=12))
    assert r.sw == 0x9000 and r.data == encode(0x53, FILES["DG1"][10:20])


def test_wrong_le_as_6cxx():
    chip = EmulatedChip(FILES, KEY, max_le=50, wrong_le_sw=0x6C00)
    sm = bac(chip)
    assert protected(chip, sm, Command(0x00, 0xB0, 0x81, 0x00, le=60)).sw == 0x6C32


def test_sm_errors_end_the_session():
    chip = EmulatedChip(FILES, KEY)
    sm = bac(chip)
    bad = bytearray(sm.wrap(Command(0x00, 0xB0, 0x9E, 0x00, le=4)))
    bad[-3] ^= 1  # MAC
    assert chip.process(bytes(bad)) == H("6988")
    assert chip.sm is None and not chip.access_granted
    assert chip.process(sm.wrap(Command(0x00, 0xB0, 0x9E, 0x00, le=4))) == H("6987")


def test_plain_command_drops_secure_messaging_and_reset_too():
    chip = EmulatedChip(FILES, KEY)
    bac(chip)
    assert chip.sm is not None
    assert sw(chip, Command(0x00, 0xB0, 0x9E, 0x00, le=4)) == 0x6982
    assert chip.sm is None
    bac(chip)
    chip.reset()
    assert chip.sm is None and not chip.in_application


def test_extended_apdu_refused_by_a_short_only_chip():
    chip = EmulatedChip(FILES, KEY, extended_length=False)
    assert chip.process(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID).encode(extended=True)) == H("6700")


def test_chaining_only_for_general_authenticate():
    chip = EmulatedChip(FILES, KEY)
    assert sw(chip, Command(0x10, 0xA4, 0x04, 0x0C, EMRTD_AID)) == 0x6E00
    assert sw(chip, Command(0x10, 0x86, 0x00, 0x00, H("7C00"), le=256)) == 0x6985  # no MSE: not refused as CLA


def test_garbage_apdus_get_a_status_word():
    chip = EmulatedChip(FILES, KEY)
    for apdu in [b"", b"\x00", H("00B0"), H("00A4040C05A0"), H("0CB0000000"), H("00FF0000")]:
        rapdu = chip.process(apdu)
        assert len(rapdu) == 2 and rapdu != H("9000")


def test_faults_removal_and_arguments():
    chip = EmulatedChip(FILES, KEY, faults=Faults(remove_after_apdus=1))
    chip.process(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID).encode())
    with pytest.raises(CardRemovedError):
        chip.process(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID).encode())
    with pytest.raises(InputError):
        EmulatedChip({"DG99": b""}, KEY)
    with pytest.raises(InputError):
        EmulatedChip(FILES, KEY, max_le=0)


def test_transport_link_accounting_and_extended_check():
    chip = EmulatedChip(FILES, KEY)
    t = EmulatorTransport(chip, bitrate=8_000_000, extended_length=False)
    apdu = Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID).encode()
    rapdu = t.transmit(apdu)
    assert t.link_seconds == pytest.approx((len(apdu) + len(rapdu)) * 8 / 8_000_000)
    assert t.wait_seconds >= t.link_seconds
    with pytest.raises(TransportError):
        t.transmit(Command(0x00, 0xB0, 0x00, 0x00, le=1000).encode(extended=True))
    with pytest.raises(TransportError):
        EmulatorTransport(chip, bitrate=0)
