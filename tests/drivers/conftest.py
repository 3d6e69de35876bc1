"""A tiny fake card for proving the transport stacks (the real chip is drivers/emulator)."""

from __future__ import annotations

import pytest


class FakeCard:
    """Answers like a minimal ISO/IEC 7816-4 card.

    SELECT (A4) -> 9000; READ BINARY (B0) -> ``file[offset:offset+Le]`` (short or extended
    Le, Le=0 meaning 256 / 65536); UPDATE BINARY (D6) -> echoes its command data + 9000
    (proves long commands arrive whole); INS 0x0E -> a reply of 61XX/6CXX style given by
    ``scripted``; anything else -> 6D00. Records every APDU and counts resets.
    ``on_apdu`` (if set) runs before each answer; a test uses it to pull the card.
    """

    def __init__(self, file: bytes = bytes(range(256)) * 8) -> None:
        self.file = file
        self.apdus: list[bytes] = []
        self.resets = 0
        self.on_apdu = None
        self.scripted: dict[bytes, bytes] = {}

    def reset(self) -> None:
        self.resets += 1

    def process(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        if self.on_apdu is not None:
            self.on_apdu(apdu)
        if apdu in self.scripted:
            return self.scripted[apdu]
        ins = apdu[1]
        if ins == 0xA4:
            return b"\x90\x00"
        if ins == 0xB0:
            offset = int.from_bytes(apdu[2:4], "big") & 0x7FFF
            if len(apdu) == 5:
                le = apdu[4] or 256
            elif len(apdu) == 7 and apdu[4] == 0:
                le = int.from_bytes(apdu[5:7], "big") or 65536
            else:
                return b"\x67\x00"
            return self.file[offset:offset + le] + b"\x90\x00"
        if ins == 0xD6:
            if len(apdu) > 7 and apdu[4] == 0:
                lc = int.from_bytes(apdu[5:7], "big")
                data = apdu[7:7 + lc]
            else:
                data = apdu[5:5 + apdu[4]]
            return data + b"\x90\x00"
        return b"\x6d\x00"


@pytest.fixture
def fake_card() -> FakeCard:
    return FakeCard()


# -- the emulated CCCD (drivers/emulator) ------------------------------------------------

DEMO_CARD = "drivers/emulator/demo/card"


@pytest.fixture(scope="session")
def demo_profile():
    from pathlib import Path

    from drivers.emulator.profile import load_profile

    return load_profile(Path(__file__).resolve().parents[2] / DEMO_CARD)


@pytest.fixture
def demo_chip(demo_profile):
    """Factory: ``demo_chip(**options) -> EmulatedChip`` of the demo citizen (fresh each call)."""
    from drivers.emulator.personalise import make_chip

    return lambda **options: make_chip(demo_profile, **options)


@pytest.fixture(scope="session")
def demo_keys(demo_profile):
    """The demo card's access keys: ``{"mrz": BACKey, "can": CANKey, "wrong": BACKey}``."""
    from verifier.icao.keys import BACKey, CANKey

    p = demo_profile
    return {
        "mrz": BACKey(p.id_number[-9:], p.date_of_birth.strftime("%y%m%d"), p.date_of_expiry.strftime("%y%m%d")),
        "can": CANKey(p.id_number[-6:]),
        "wrong": BACKey(p.id_number[-9:], p.date_of_birth.strftime("%y%m%d"), "991231"),
    }


@pytest.fixture
def check_demo_read(demo_profile):
    """``check_demo_read(read, chip)``: the files read are the chip's bytes, exactly, and parse
    to the demo citizen."""
    from verifier.cccd.dg13 import parse_dg13
    from verifier.icao.lds.dg1 import parse_dg1

    def check(read, chip, *, same_signature: bool = True) -> None:
        """``same_signature=False``: ``chip`` is another personalisation of the same citizen
        (ECDSA signatures differ), so the SOD is compared by size only."""
        skip = {"CardAccess"} | (set() if same_signature else {"SOD"})
        expected = {n: b for n, b in chip.files.items() if n not in skip}
        got = {n: b for n, b in read.files.items() if n not in skip}
        if not same_signature:
            assert abs(len(read.files["SOD"]) - len(chip.files["SOD"])) <= 2
            assert read.files["SOD"][:1] == b"\x77"
        assert sorted(got) == sorted(expected)
        for name in expected:
            assert got[name] == expected[name], f"{name}: {len(got[name])} bytes read, {len(expected[name])} on chip"
        assert read.not_readable == {}
        mrz = parse_dg1(read.files["DG1"]).mrz
        p = demo_profile
        assert mrz.valid
        assert mrz.document_number == p.id_number[-9:]
        assert mrz.date_of_birth == p.date_of_birth.strftime("%y%m%d")
        assert mrz.date_of_expiry == p.date_of_expiry.strftime("%y%m%d")
        assert mrz.issuing_state == "VNM"
        dg13 = parse_dg13(read.files["DG13"])
        assert dg13.id_number == p.id_number
        assert dg13.full_name == p.full_name
        assert dg13.date_of_birth == p.date_of_birth
        assert dg13.place_of_residence == p.place_of_residence

    return check
