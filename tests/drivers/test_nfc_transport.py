"""NfcTransport over nfcpy's udp driver, reading an ISO-DEP card emulated by drivers/nfc_card.py.

The reader side is nfcpy's own code path (ContactlessFrontend.sense, nfc.tag.activate,
Type4ATag/Type4BTag, the ISO-DEP initiator); only the RF link is UDP.
"""

from __future__ import annotations

import os
import time

import pytest

from drivers.nfc import NfcTransport
from drivers.open import open_transport
from verifier.errors import CardRemovedError, NoCardError, NoReaderError, TransportError
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


def test_reconnect_after_the_card_was_put_back(nfc_card, fake_card):
    card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        fake_card.on_apdu = lambda apdu: card.remove() if apdu[1] == 0xB0 else None
        with pytest.raises(CardRemovedError):
            t.transmit(bytes.fromhex("00B0000000"))
        fake_card.on_apdu = None
        card.insert()
        t.reconnect(5)
        assert card.activations == 2 and fake_card.resets == 2  # a fresh activation, a fresh chip session
        assert t.transmit(bytes.fromhex("00B0000408")) == fake_card.file[4:12] + b"\x90\x00"


def test_reconnect_resets_a_card_that_never_left_the_field(nfc_card, fake_card):
    """A lost exchange (noise) with the chip still in the field: it keeps its ISO-DEP session and
    ignores a poll until the field was off (ISO/IEC 14443-3), so reconnect switches it off first."""
    card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"
        t.reconnect(5)
        assert card.activations == 2 and fake_card.resets == 2
        assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"


def test_reconnect_without_a_card_names_the_wait(nfc_card, fake_card):
    card, device = nfc_card(fake_card)
    t = NfcTransport(device, wait_s=10)
    try:
        card.remove()
        with pytest.raises(NoCardError, match=r"no card was presented to nfc:udp:\S+ within 0\.5 s"):
            t.reconnect(0.5)
        assert t.tag is None
        with pytest.raises(TransportError, match="closed"):
            t.transmit(bytes.fromhex("00A4000C"))
    finally:
        t.close()
    with pytest.raises(TransportError, match="closed"):
        t.reconnect(0.5)


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


def test_iso_dep_block_rules_of_the_emulated_card(nfc_card, fake_card):
    # raw ISO/IEC 14443-4 blocks through nfcpy's frontend after nfcpy activated the card
    card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        clf = t._clf
        assert clf.exchange(bytearray.fromhex("0200A4000C"), 1.0) == bytearray.fromhex("029000")  # I(0)
        # rule 11: R(NAK) carrying the card's current block number -> the last block again
        assert clf.exchange(bytearray.fromhex("B2"), 1.0) == bytearray.fromhex("029000")
        # rule 12: R(NAK) with the other block number -> R(ACK) with the current one
        assert clf.exchange(bytearray.fromhex("B3"), 1.0) == bytearray.fromhex("A2")
        # I(1) with chaining: acknowledged with R(ACK) block 1, then the last part completes it
        assert clf.exchange(bytearray.fromhex("1300D6000004AABB"), 1.0) == bytearray.fromhex("A3")
        assert clf.exchange(bytearray.fromhex("02CCDD"), 1.0) == bytearray.fromhex("02AABBCCDD9000")
        assert fake_card.apdus[-1] == bytes.fromhex("00D6000004AABBCCDD")
        # S(DESELECT) is answered and ends the session; nfcpy's presence check then fails
        assert clf.exchange(bytearray.fromhex("C2"), 1.0) == bytearray.fromhex("C2")
        assert t.tag.is_present is False
    assert card.activations == 1


def test_malformed_frame_from_the_card_is_a_transport_error(nfc_card, fake_card, monkeypatch):
    from drivers.nfc_card import NfcCard

    # the card answers with a 1-byte S(WTX) block: no WTXM byte for nfcpy to read
    monkeypatch.setattr(NfcCard, "_next_i_block", staticmethod(lambda pending, block_number: b"\xf2"))
    _card, device = nfc_card(fake_card)
    with NfcTransport(device, wait_s=10) as t:
        with pytest.raises(TransportError, match="malformed ISO-DEP frame"):
            t.transmit(bytes.fromhex("00A4000C"))


def test_truncated_ats_is_no_usable_card(nfc_card, fake_card, monkeypatch):
    import drivers.nfc_card

    monkeypatch.setattr(drivers.nfc_card, "_ats", lambda historical=b"": b"\x01")  # TL only
    _card, device = nfc_card(fake_card)
    with pytest.raises(NoCardError):
        NfcTransport(device, wait_s=0.5)


def test_usb_readers_are_listed_without_opening_them(monkeypatch):
    import nfc.clf.transport

    from drivers.nfc import find_usb_readers
    from drivers.open import describe_readers

    # no USB bus with readers here: the enumeration is the one part faked
    found = [(0x072F, 0x2200, 1, 7), (0x1234, 0x5678, 1, 8)]  # an ACR122U, and a USB mouse
    monkeypatch.setattr(nfc.clf.transport.USB, "find", classmethod(lambda cls, path: found))
    assert find_usb_readers() == [{"path": "usb:001:007", "driver": "acr122", "vid": "072f", "pid": "2200",
                                   "accessible": os.access("/dev/bus/usb/001/007", os.R_OK | os.W_OK)}]
    nfc_rows = [r for r in describe_readers() if r["kind"] == "nfc"]
    assert nfc_rows == [{"spec": "nfc:usb:001:007", "kind": "nfc", "name": "acr122 usb:072f:2200",
                         "virtual": False, "card_present": None, "atr": None}]
