"""The emulated CCCD read end to end through the real PC/SC stack:
ChipSession -> PcscTransport -> pyscard -> pcsc-lite -> pcscd -> vpcd -> VirtualCard -> EmulatedChip."""

from __future__ import annotations

import dataclasses

import pytest

from drivers.emulator.chip import Faults
from drivers.pcsc import PcscTransport
from verifier.errors import AccessDeniedError, CardRemovedError
from verifier.icao.session import ChipSession

pytestmark = pytest.mark.pcsc


@pytest.mark.parametrize("policy,key,protocol", [
    ("bac", "mrz", "BAC"),
    ("pace", "mrz", "PACE"),
    ("pace", "can", "PACE"),
    ("pace-then-bac", "mrz", "PACE"),
])
def test_full_read(virtual_card, demo_chip, demo_keys, check_demo_read, policy, key, protocol):
    chip = demo_chip()
    _card, reader = virtual_card(chip)
    with PcscTransport(reader) as transport:
        with ChipSession(transport, [demo_keys[key]], policy=policy) as session:
            read = session.read_all()
    assert read.access_protocol == protocol
    check_demo_read(read, chip)


def test_full_read_with_extended_length(virtual_card, demo_chip, demo_keys, check_demo_read):
    # a chip that takes extended Le: DG2 (13 KB) comes in one protected READ BINARY
    chip = demo_chip(max_le=65536)
    _card, reader = virtual_card(chip)
    with PcscTransport(reader) as transport:
        assert transport.extended_length
        with ChipSession(transport, [demo_keys["can"]], policy="pace") as session:
            read = session.read_all()
    check_demo_read(read, chip)
    assert read.apdus < 30  # short APDUs need about 80


def test_bac_only_chip_falls_back_to_bac(virtual_card, demo_profile, demo_keys, check_demo_read):
    # no EF.CardAccess: its SELECT fails with 6A82 through pcscd, and the session runs BAC
    from drivers.emulator.personalise import make_chip

    chip = make_chip(dataclasses.replace(demo_profile, chip={**demo_profile.chip, "pace": False}))
    _card, reader = virtual_card(chip)
    with PcscTransport(reader) as transport:
        with ChipSession(transport, [demo_keys["mrz"]], policy="pace-then-bac") as session:
            read = session.read_all()
    assert read.access_protocol == "BAC"
    check_demo_read(read, chip)


def test_two_reads_in_a_row_each_start_fresh(virtual_card, demo_chip, demo_keys, check_demo_read):
    chip = demo_chip()
    _card, reader = virtual_card(chip)
    for key in ("mrz", "can"):
        with PcscTransport(reader) as transport:  # close() resets the card: SM session gone
            with ChipSession(transport, [demo_keys[key]], policy="pace") as session:
                check_demo_read(session.read_all(), chip)


def test_wrong_key_is_access_denied(virtual_card, demo_chip, demo_keys):
    _card, reader = virtual_card(demo_chip())
    with PcscTransport(reader) as transport:
        with pytest.raises(AccessDeniedError):
            ChipSession(transport, [demo_keys["wrong"]], policy="bac").open()


def test_card_removed_mid_read(virtual_card, demo_chip, demo_keys):
    # the emulator's fault raises CardRemovedError after 30 APDUs; VirtualCard turns
    # that into a real removal: vpcd drops the card while pcscd waits for the answer
    chip = demo_chip(faults=Faults(remove_after_apdus=30))
    card, reader = virtual_card(chip)
    with PcscTransport(reader) as transport:
        session = ChipSession(transport, [demo_keys["mrz"]], policy="bac").open()
        with pytest.raises(CardRemovedError):
            session.read_all()
    assert not card.inserted
