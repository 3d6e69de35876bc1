"""The emulated CCCD read end to end over NFC: ChipSession -> NfcTransport -> nfcpy (sense,
Type 4A/4B activation, ISO-DEP initiator) -> nfcpy udp driver -> NfcCard -> EmulatedChip."""

from __future__ import annotations

import pytest

from drivers.emulator.chip import Faults
from drivers.nfc import NfcTransport
from verifier.errors import AccessDeniedError, CardRemovedError
from verifier.icao.session import ChipSession


@pytest.mark.parametrize("policy,key,protocol", [
    ("bac", "mrz", "BAC"),
    ("pace", "mrz", "PACE"),
    ("pace", "can", "PACE"),
])
def test_full_read_type_4a(nfc_card, demo_chip, demo_keys, check_demo_read, policy, key, protocol):
    chip = demo_chip()
    _card, device = nfc_card(chip)
    with NfcTransport(device, wait_s=10) as transport:
        with ChipSession(transport, [demo_keys[key]], policy=policy) as session:
            read = session.read_all()
    assert read.access_protocol == protocol
    check_demo_read(read, chip)


def test_full_read_type_4b_extended_length(nfc_card, demo_chip, demo_keys, check_demo_read):
    # extended APDUs travel as chained ISO-DEP blocks (up to 253 bytes each) in both directions
    chip = demo_chip(max_le=65536)
    _card, device = nfc_card(chip, technology="B")
    with NfcTransport(device, wait_s=15) as transport:
        assert type(transport.tag).__name__ == "Type4BTag"
        with ChipSession(transport, [demo_keys["can"]], policy="pace") as session:
            read = session.read_all()
    check_demo_read(read, chip)
    assert read.apdus < 30


def test_wrong_key_is_access_denied(nfc_card, demo_chip, demo_keys):
    _card, device = nfc_card(demo_chip())
    with NfcTransport(device, wait_s=10) as transport:
        with pytest.raises(AccessDeniedError):
            ChipSession(transport, [demo_keys["wrong"]], policy="pace").open()


def test_card_removed_mid_read(nfc_card, demo_chip, demo_keys):
    card, device = nfc_card(demo_chip(faults=Faults(remove_after_apdus=30)))
    with NfcTransport(device, wait_s=10) as transport:
        session = ChipSession(transport, [demo_keys["mrz"]], policy="bac").open()
        with pytest.raises(CardRemovedError):
            session.read_all()
    assert not card.inserted
