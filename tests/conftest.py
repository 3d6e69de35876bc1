"""Shared test infrastructure: pcscd with the vsmartcard virtual reader, and an nfcpy UDP link.

* ``pcscd`` (session): a running pcscd whose readers include vsmartcard's "Virtual PCD"
  slots; started here (``pcscd --foreground``) when none runs, stopped at the end if
  started here. Missing pcscd or vpcd is an ERROR with instructions, never a skip.
* ``virtual_card``: ``virtual_card(processor, atr=...) -> (card, reader_name)`` puts any
  APDU processor into slot ``Virtual PCD 00 00`` (drivers/vpcd.py) and waits until pcscd
  sees it; every card is removed after the test. Tests using it run serially.
* ``nfc_card``: ``nfc_card(processor, technology="A") -> (card, device)`` puts a processor
  into nfcpy's udp RF simulation on a free 127.0.0.1 port (drivers/nfc_card.py);
  ``NfcTransport(device)`` reads it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

PCSCD = os.environ.get("CHIPID_PCSCD", shutil.which("pcscd") or "/usr/sbin/pcscd")
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
VIRTUAL_READER = "Virtual PCD 00 00"
_INSTALL_HINT = (
    "install the Debian packages pcscd and vsmartcard-vpcd "
    "(apt-get install -y pcscd vsmartcard-vpcd); see README 'Tests'"
)


def _readers() -> list[str] | None:
    """PC/SC reader names, or None when no pcscd answers."""
    from drivers.pcsc import list_readers
    from verifier.errors import NoReaderError

    try:
        return list_readers()
    except NoReaderError:
        return None


def _wait_for_virtual_readers(timeout_s: float) -> list[str] | None:
    deadline = time.monotonic() + timeout_s
    readers = None
    while time.monotonic() < deadline:
        readers = _readers()
        if readers and any(r.startswith("Virtual PCD") for r in readers):
            return readers
        time.sleep(0.1)
    return readers


@pytest.fixture(scope="session")
def pcscd():
    """A pcscd serving the vpcd virtual reader; yields the reader names."""
    readers = _readers()
    proc = None
    if readers is None:
        if not os.path.exists(PCSCD):
            raise RuntimeError(f"pcscd not found at {PCSCD}: {_INSTALL_HINT}")
        if not VPCD_CONF.exists():
            raise RuntimeError(f"vpcd reader configuration {VPCD_CONF} missing: {_INSTALL_HINT}")
        proc = subprocess.Popen([PCSCD, "--foreground"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        readers = _wait_for_virtual_readers(15.0)
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"pcscd exited with status {proc.returncode} at start-up:\n{out[-2000:]}")
    elif not any(r.startswith("Virtual PCD") for r in readers):
        readers = _wait_for_virtual_readers(5.0)
    if not readers or VIRTUAL_READER not in readers:
        if proc is not None:
            proc.terminate()
        raise RuntimeError(
            f"pcscd runs but offers no {VIRTUAL_READER!r} reader (found {readers}): "
            f"expected the vsmartcard vpcd driver configured in {VPCD_CONF}; {_INSTALL_HINT}"
        )
    try:
        yield readers
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_presence(reader: str, present: bool, timeout_s: float = 10.0) -> None:
    from drivers.pcsc import card_present

    deadline = time.monotonic() + timeout_s
    while card_present(reader) != present:
        if time.monotonic() >= deadline:
            raise RuntimeError(f"pcscd did not see the card {'arrive in' if present else 'leave'} {reader!r} "
                               f"within {timeout_s:g} s")
        time.sleep(0.05)


@pytest.fixture
def virtual_card(pcscd):
    """Factory: ``virtual_card(processor, atr=None) -> (VirtualCard, reader_name)``."""
    from drivers.vpcd import DEFAULT_ATR, VirtualCard

    cards: list[VirtualCard] = []
    _wait_presence(VIRTUAL_READER, False)  # a card from an earlier test has left

    def attach(processor, atr: bytes | None = None):
        card = VirtualCard(processor, atr=atr or DEFAULT_ATR)
        cards.append(card)
        card.insert()
        _wait_presence(VIRTUAL_READER, True)
        return card, VIRTUAL_READER

    try:
        yield attach
    finally:
        for card in cards:
            card.remove()
        _wait_presence(VIRTUAL_READER, False)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nfc_card():
    """Factory: ``nfc_card(processor, technology="A") -> (NfcCard, "udp:127.0.0.1:PORT")``."""
    from drivers.nfc_card import NfcCard

    cards: list[NfcCard] = []

    def attach(processor, technology: str = "A", **kwargs):
        device = f"udp:127.0.0.1:{free_udp_port()}"
        card = NfcCard(processor, device, technology=technology, **kwargs)
        cards.append(card)
        card.insert()
        return card, device

    try:
        yield attach
    finally:
        for card in cards:
            card.close()
