"""Shared helpers of the PACE / CA / AA tests: a small emulated chip and a secure-messaging session."""

from __future__ import annotations

import pytest

from drivers.emulator.card_protocols import PaceResponder
from drivers.emulator.chip import EmulatedChip
from verifier.icao.apdu import Command, Response
from verifier.icao.keys import BACKey, CANKey, pace_password
from verifier.icao.lds.files import EMRTD_AID
from verifier.icao.sm import SecureMessaging

MRZ_KEY = BACKey("012345678", "900101", "300101")
CAN = "345678"


class SMSession:
    """Terminal-side session over an emulated chip: every command wrapped in secure messaging."""

    def __init__(self, chip: EmulatedChip, sm: SecureMessaging) -> None:
        self.chip = chip
        self.sm = sm

    def transmit(self, cmd: Command) -> Response:
        return Response.parse(self.sm.unwrap(self.chip.process(self.sm.wrap(cmd))))

    def replace_sm(self, sm: SecureMessaging) -> None:
        self.sm = sm

    def read_file(self, fid: int, length: int = 200) -> bytes:
        r = self.transmit(Command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))
        assert r.sw == 0x9000, f"SELECT {fid:04X}: {r.sw:04X}"
        out = b""
        while len(out) < length:
            n = min(200, length - len(out))
            r = self.transmit(Command(0x00, 0xB0, len(out) >> 8, len(out) & 0xFF, le=n))
            assert r.sw in (0x9000, 0x6282), f"READ BINARY {fid:04X}: {r.sw:04X}"
            out += r.data
            if r.sw == 0x6282 or not r.data:
                break
        return out


def plain_send(chip: EmulatedChip):
    return lambda cmd: Response.parse(chip.process(cmd.encode(extended=cmd.needs_extended)))


def password_for(mrz: BACKey = MRZ_KEY, can: str = CAN):
    table = {1: pace_password(mrz), 2: pace_password(CANKey(can))}
    return table.get


def make_chip(files: dict[str, bytes], card_access: bytes, **responders) -> EmulatedChip:
    return EmulatedChip(files, None, card_access=card_access,
                        pace_responder=PaceResponder(password_for(), card_access), **responders)


def open_session(chip: EmulatedChip, card_access: bytes, key=MRZ_KEY) -> SMSession:
    """PACE, then SELECT the eMRTD application under secure messaging."""
    from verifier.icao.pace import perform_pace

    sm = perform_pace(plain_send(chip), key, card_access)
    session = SMSession(chip, sm)
    r = session.transmit(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID))
    assert r.sw == 0x9000
    return session


@pytest.fixture
def pace_helpers():
    return {"make_chip": make_chip, "open_session": open_session, "plain_send": plain_send, "MRZ_KEY": MRZ_KEY,
            "CAN": CAN, "SMSession": SMSession}
