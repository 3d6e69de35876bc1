"""PcscTransport through the real PC/SC stack: pyscard -> pcsc-lite -> pcscd -> vpcd -> VirtualCard."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from drivers.pcsc import PcscTransport, card_present, choose_reader, list_readers
from verifier.errors import CardRemovedError, NoCardError, NoReaderError, ResponseFormatError
from verifier.transport import CardTransport

pytestmark = pytest.mark.pcsc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_select_and_read_through_pcscd(virtual_card, fake_card):
    _card, reader = virtual_card(fake_card)
    with PcscTransport(reader) as t:
        assert isinstance(t, CardTransport)
        assert t.name == f"pcsc:{reader}"
        assert t.atr == bytes.fromhex("3B80800101")
        assert t.transmit(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
        assert t.transmit(bytes.fromhex("00B0000408")) == fake_card.file[4:12] + b"\x90\x00"
    assert fake_card.apdus == [bytes.fromhex("00A4040C07A0000002471001"), bytes.fromhex("00B0000408")]


def test_extended_length_both_ways(virtual_card, fake_card):
    _card, reader = virtual_card(fake_card)
    with PcscTransport(reader) as t:
        assert t.extended_length is True  # vpcd carries extended APDUs
        data = bytes(range(256)) * 2 + b"tail"
        assert t.transmit(bytes.fromhex("00D60000") + len(data).to_bytes(3, "big") + data) == data + b"\x90\x00"
        assert t.transmit(bytes.fromhex("00B00000000600")) == fake_card.file[:0x600] + b"\x90\x00"


def test_reader_found_by_prefix_and_first_by_default(virtual_card, fake_card):
    _card, reader = virtual_card(fake_card)
    with PcscTransport("Virtual PCD") as t:
        assert t.reader == reader
    assert choose_reader(["B reader", "A reader"], None) == "B reader"
    assert reader in list_readers()


def test_unknown_reader_lists_the_attached_ones(pcscd):
    with pytest.raises(NoReaderError) as e:
        PcscTransport("No Such Reader")
    assert "'No Such Reader' not found" in str(e.value)
    assert "Virtual PCD 00 00" in str(e.value)


def test_no_readers_at_all():
    with pytest.raises(NoReaderError, match="no PC/SC reader is attached"):
        choose_reader([], None)


def test_empty_reader_is_no_card(pcscd, virtual_card):
    with pytest.raises(NoCardError, match="no card in reader"):
        PcscTransport("Virtual PCD 00 00")
    with pytest.raises(NoCardError, match="within 0.3 s"):
        PcscTransport("Virtual PCD 00 00", wait_s=0.3)


def test_waits_for_a_card_presented_later(virtual_card, fake_card):
    timer = threading.Timer(0.5, lambda: virtual_card(fake_card))
    timer.start()
    try:
        with PcscTransport("Virtual PCD 00 00", wait_s=10) as t:
            assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"
    finally:
        timer.join()


def test_card_pulled_mid_exchange(virtual_card, fake_card):
    card, reader = virtual_card(fake_card)
    with PcscTransport(reader) as t:
        assert t.transmit(bytes.fromhex("00A4000C")) == b"\x90\x00"
        fake_card.on_apdu = lambda apdu: card.remove()
        with pytest.raises(CardRemovedError) as e:
            t.transmit(bytes.fromhex("00B0000000"))
        assert e.value.step == "transmit"
    assert not card_present(reader)


def test_card_pulled_between_exchanges(virtual_card, fake_card):
    card, reader = virtual_card(fake_card)
    with PcscTransport(reader) as t:
        card.remove()
        with pytest.raises(CardRemovedError):
            t.transmit(bytes.fromhex("00A4000C"))


def test_t0_get_response_and_wrong_le(virtual_card, fake_card):
    # ATR 3B 00: no interface bytes, so T=0 only (ISO/IEC 7816-3 §8.2.2)
    fake_card.scripted = {
        bytes.fromhex("0084000008"): bytes.fromhex("6C08"),
        bytes.fromhex("8084000008"): bytes.fromhex("0102030405060708") + bytes.fromhex("9000"),
        bytes.fromhex("0088000004AABBCCDD"): bytes.fromhex("6104"),
        bytes.fromhex("00C0000004"): bytes.fromhex("11223344") + bytes.fromhex("9000"),
    }
    # 6CXX: re-send with Le = XX (here the scripted card wants CLA 80 to answer, so the
    # resent 00 84 00 00 08 returns 6C08 again; the transport must not loop)
    _card, reader = virtual_card(fake_card, atr=bytes.fromhex("3B00"))
    with PcscTransport(reader) as t:
        assert t.atr == bytes.fromhex("3B00")
        assert t.transmit(bytes.fromhex("0088000004AABBCCDD")) == bytes.fromhex("112233449000")
        assert fake_card.apdus[-1] == bytes.fromhex("00C0000004")
        assert t.transmit(bytes.fromhex("008400000A")) == bytes.fromhex("6D00")
        assert t.transmit(bytes.fromhex("0084000008")) == bytes.fromhex("6C08")
        assert fake_card.apdus[-2:] == [bytes.fromhex("0084000008")] * 2


def test_closed_transport_refuses(virtual_card, fake_card):
    _card, reader = virtual_card(fake_card)
    t = PcscTransport(reader)
    t.close()
    t.close()  # idempotent
    with pytest.raises(Exception, match="closed"):
        t.transmit(bytes.fromhex("00A4000C"))


def test_no_pcsc_service_is_no_reader(tmp_path):
    # A client pointed at a socket where no pcscd listens (pcsc-lite honours
    # PCSCLITE_CSOCK_NAME), in a fresh interpreter: the service is "not running".
    code = (
        "from drivers.pcsc import PcscTransport\n"
        "from verifier.errors import NoReaderError\n"
        "try:\n    PcscTransport()\nexcept NoReaderError as e:\n    print('NoReaderError:', e)\n"
    )
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=str(tmp_path / "nothing.comm"), PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "NoReaderError:" in out.stdout, out.stdout + out.stderr
    assert "PC/SC service is not running" in out.stdout


def test_t0_endless_get_response_is_refused(virtual_card, fake_card):
    fake_card.scripted = {bytes.fromhex("00C0000010"): bytes(16) + bytes.fromhex("6110"),
                          bytes.fromhex("00CA010000"): bytes.fromhex("6110")}
    _card, reader = virtual_card(fake_card, atr=bytes.fromhex("3B00"))
    with PcscTransport(reader) as t:
        with pytest.raises(ResponseFormatError, match="GET RESPONSE"):
            t.transmit(bytes.fromhex("00CA010000"))
