"""NfcTransport over nfcpy's udp driver, reading an ISO-DEP card emulated by drivers/nfc_card.py.

The reader side is nfcpy's own code path (ContactlessFrontend.sense, nfc.tag.activate,
Type4ATag/Type4BTag, the ISO-DEP initiator); only the RF link is UDP.
"""

from __future__ import annotations

import time

import pytest

from drivers.nfc import NfcTransport
from drivers.open import open_transport
from verifier.errors import CardRemovedError, NoCardError, NoReaderError
from verifier.transport import CardTransport


def test_type_4a_select_and_read(nfc_card, fake_card):
    card, device = nfc_card(fake_card, uid=bytes.fromhex("08A1B2C3"))
    with NfcTransport(device, wait_s=10) as t:
        assert isinstance(t, CardTransport)
        assert t.name == f"nfc:{device}"
        assert type(t.tag).__name__ == "Type4ATag"
        assert t.uid == bytes.fromhex("08A1B2C3")
        assert t.transmit(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
        assert t.transmit(bytes.fromhex("00B0000408")) == fake_card.file[4:12] + b"\x90\x00"
    assert fake_card.apdus == [bytes.fromhex("00A4040C07A0000002471001"), bytes.fromhex("00B0000408")]
    assert fake_card.resets == 1 and card.activations == 1


def test_chaining_both_ways_carries_extended_apdus(nfc_card, fake_card):
    _card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        assert t.extended_length is True
        # a 1029-byte response: five card-chained I-blocks of at most 253 bytes
        assert t.transmit(bytes.fromhex("00B00000000405")) == fake_card.file[:0x405] + b"\x90\x00"
        # a 600-byte command: reader-chained I-blocks acknowledged with R(ACK)
        data = bytes(range(200)) * 3
        assert t.transmit(bytes.fromhex("00D60000") + len(data).to_bytes(3, "big") + data) == data + b"\x90\x00"


def test_type_4b(nfc_card, fake_card):
    _card, device = nfc_card(fake_card, technology="B")
    with NfcTransport(device, wait_s=15) as t:
        assert type(t.tag).__name__ == "Type4BTag"
        assert t.transmit(bytes.fromhex("00B0000000")) == fake_card.file[:256] + b"\x90\x00"


def test_slow_card_is_kept_alive_with_wtx(nfc_card, fake_card):
    # the frame waiting time is 0.62 s; a 1.5 s answer needs S(WTX) from the card
    fake_card.on_apdu = lambda apdu: time.sleep(1.5) if apdu[1] == 0x88 else None
    fake_card.scripted = {bytes.fromhex("0088000000"): bytes.fromhex("A5A5A5A59000")}
    _card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        assert t.transmit(bytes.fromhex("0088000000")) == bytes.fromhex("A5A5A5A59000")
        assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"


def test_card_pulled_mid_exchange(nfc_card, fake_card):
    card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"
        fake_card.on_apdu = lambda apdu: card.remove()
        with pytest.raises(CardRemovedError) as e:
            t.transmit(bytes.fromhex("00B0000000"))
        assert e.value.step == "transmit"


def test_card_back_in_the_field_starts_a_fresh_session(nfc_card, fake_card):
    card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        t.transmit(bytes.fromhex("00A4000C"))
    with NfcTransport(device, wait_s=10) as t:
        t.transmit(bytes.fromhex("00A4000C"))
    assert card.activations == 2 and fake_card.resets == 2


def test_no_card_in_the_field(nfc_card, fake_card):
    card, device = nfc_card(fake_card)
    card.remove()
    with pytest.raises(NoCardError, match="no card was presented"):
        NfcTransport(device, wait_s=0.5)


def test_no_such_reader():
    with pytest.raises(NoReaderError, match="no NFC reader found"):
        NfcTransport("usb:ffff:fffe", wait_s=0)
    with pytest.raises(NoReaderError):
        NfcTransport("bogus-path", wait_s=0)


def test_open_transport_nfc_spec(nfc_card, fake_card):
    _card, device = nfc_card(fake_card)
    t = open_transport(f"nfc:{device}", timeout_s=10)
    try:
        assert isinstance(t, NfcTransport)
        assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"
    finally:
        t.close()
