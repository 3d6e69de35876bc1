"""The vpcd socket protocol of drivers/vpcd.py against a scripted vpcd on 127.0.0.1.

These tests play pcscd's side of vsmartcard's protocol themselves (2-byte big-endian
length + payload; 1-byte control messages), so they run without pcscd.
"""

from __future__ import annotations

import socket
import struct

import pytest

from drivers.vpcd import DEFAULT_ATR, VirtualCard
from verifier.errors import InputError, NoReaderError


class ScriptedVpcd:
    """The server end of one vpcd slot."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> None:
        self.server.settimeout(5)
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)

    def send(self, payload: bytes) -> None:
        self.conn.sendall(struct.pack(">H", len(payload)) + payload)

    def recv(self) -> bytes:
        head = self._exact(2)
        return self._exact(struct.unpack(">H", head)[0])

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.conn.recv(n - len(buf))
            if not chunk:
                raise EOFError("card closed the connection")
            buf += chunk
        return buf

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.server.close()


@pytest.fixture
def vpcd():
    server = ScriptedVpcd()
    yield server
    server.close()


def test_answers_atr_control_messages_and_apdus(vpcd, fake_card):
    card = VirtualCard(fake_card, port=vpcd.port).insert()
    vpcd.accept()
    try:
        vpcd.send(b"\x04")  # get ATR
        assert vpcd.recv() == DEFAULT_ATR
        vpcd.send(b"\x01")  # power on: no answer, card reset
        vpcd.send(bytes.fromhex("00A4040C07A0000002471001"))
        assert vpcd.recv() == b"\x90\x00"  # the power-on produced no stray answer before this
        assert fake_card.resets == 1
        vpcd.send(b"\x02")  # reset
        vpcd.send(b"\x00")  # power off
        vpcd.send(bytes.fromhex("00B0000010"))
        assert vpcd.recv() == fake_card.file[:16] + b"\x90\x00"
        assert fake_card.resets == 3
        assert fake_card.apdus == [bytes.fromhex("00A4040C07A0000002471001"), bytes.fromhex("00B0000010")]
        assert card.apdus == 2
    finally:
        card.remove()


def test_long_messages_both_ways(vpcd, fake_card):
    card = VirtualCard(fake_card, port=vpcd.port).insert()
    vpcd.accept()
    try:
        data = bytes(range(256)) * 3
        vpcd.send(bytes.fromhex("00D60000") + len(data).to_bytes(3, "big") + data)
        assert vpcd.recv() == data + b"\x90\x00"
        vpcd.send(bytes.fromhex("00B00000000800"))
        assert vpcd.recv() == fake_card.file[:2048] + b"\x90\x00"
    finally:
        card.remove()


def test_processor_failure_answers_6f00_and_keeps_serving(vpcd):
    class Broken:
        def reset(self):
            pass

        def process(self, apdu):
            if apdu[1] == 0x01:
                raise RuntimeError("boom")
            if apdu[1] == 0x02:
                return b"\x90"  # too short to be a response APDU
            return b"\x90\x00"

    card = VirtualCard(Broken(), port=vpcd.port).insert()
    vpcd.accept()
    try:
        vpcd.send(bytes.fromhex("00010000"))
        assert vpcd.recv() == b"\x6f\x00"
        vpcd.send(bytes.fromhex("00020000"))
        assert vpcd.recv() == b"\x6f\x00"
        vpcd.send(bytes.fromhex("00A40000"))
        assert vpcd.recv() == b"\x90\x00"
    finally:
        card.remove()


def test_remove_closes_the_connection(vpcd, fake_card):
    card = VirtualCard(fake_card, port=vpcd.port).insert()
    vpcd.accept()
    assert card.inserted
    card.remove()
    assert not card.inserted
    with pytest.raises(EOFError):
        vpcd.recv()


def test_removed_mid_exchange_sends_no_answer(vpcd, fake_card):
    card = VirtualCard(fake_card, port=vpcd.port).insert()
    vpcd.accept()
    fake_card.on_apdu = lambda apdu: card.remove()
    vpcd.send(bytes.fromhex("00A4040C00"))
    with pytest.raises(EOFError):
        vpcd.recv()
    assert not card.inserted


def test_vpcd_hanging_up_ends_the_card(vpcd, fake_card):
    card = VirtualCard(fake_card, port=vpcd.port).insert()
    vpcd.accept()
    vpcd.conn.close()
    vpcd.conn = None
    card._thread.join(5)
    assert not card._thread.is_alive()
    assert not card.inserted


def test_no_vpcd_is_no_reader():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    card = VirtualCard(object(), port=port, connect_timeout_s=0.2)
    with pytest.raises(NoReaderError, match="vpcd"):
        card.insert()


def test_atr_length_is_checked(fake_card):
    with pytest.raises(InputError, match="ATR"):
        VirtualCard(fake_card, atr=b"\x3b")


def test_reinserted_after_removal_from_inside_the_processor(vpcd, fake_card):
    card = VirtualCard(fake_card, port=vpcd.port).insert()
    vpcd.accept()
    fake_card.on_apdu = lambda apdu: card.remove()
    vpcd.send(bytes.fromhex("00A4040C00"))
    with pytest.raises(EOFError):
        vpcd.recv()
    fake_card.on_apdu = None
    card.insert()
    vpcd.accept()
    try:
        vpcd.send(bytes.fromhex("00A4040C00"))
        assert vpcd.recv() == b"\x90\x00"
    finally:
        card.remove()
