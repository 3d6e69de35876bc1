"""Shared test infrastructure: pcscd with the vsmartcard virtual reader, and an nfcpy UDP link.

* ``pcscd`` (session): a running pcscd whose readers include vsmartcard's "Virtual PCD"
  slots; started here (``pcscd --foreground``) when none runs, and stopped by the last
  test session that used it (a pcscd that was already running is left alone). Missing
  pcscd or vpcd is an ERROR with instructions, never a skip.
* ``virtual_card``: ``virtual_card(processor, atr=...) -> (card, reader_name)`` puts any
  APDU processor into slot ``Virtual PCD 00 00`` (drivers/vpcd.py) and waits until pcscd
  sees it; every card is removed after the test. A file lock serialises the slot
  across concurrent pytest sessions on one machine.
* ``nfc_card``: ``nfc_card(processor, technology="A") -> (card, device)`` puts a processor
  into nfcpy's udp RF simulation on a free 127.0.0.1 port (drivers/nfc_card.py);
  ``NfcTransport(device)`` reads it.
* ``chromium``: headless Chromium launched as tests/browser.py says (open pages with
  ``tests.browser.new_page``); closed after the test.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

PCSCD = os.environ.get("CHIPID_PCSCD", shutil.which("pcscd") or "/usr/sbin/pcscd")
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
VIRTUAL_READER = "Virtual PCD 00 00"
_STARTED_PID = Path(tempfile.gettempdir()) / "chipid-pcscd-started.pid"
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


@contextlib.contextmanager
def _flock(name: str, mode: int, timeout_s: float = 900.0):
    """A cross-process file lock in the temp directory: several pytest sessions on one
    machine (developers running suites side by side) share one pcscd and one vpcd slot."""
    path = Path(tempfile.gettempdir()) / name
    with open(path, "a+") as f:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(f, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"{path} stayed locked for {timeout_s:g} s by another test session")
                time.sleep(0.1)
        try:
            yield f
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pcscd():
    """A pcscd serving the vpcd virtual reader; yields the reader names.

    Sessions hold a shared lock while they use pcscd; the one that started it stops it
    at the end only when no other session still holds the lock.
    """
    with _flock("chipid-pcscd-users.lock", fcntl.LOCK_SH) as users:
        with _flock("chipid-pcscd-start.lock", fcntl.LOCK_EX):
            proc = _ensure_pcscd()
        try:
            yield _readers()
        finally:
            with _flock("chipid-pcscd-start.lock", fcntl.LOCK_EX):
                try:
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the last user stops it
                except BlockingIOError:
                    pass  # another session still reads through it: it will stop pcscd
                else:
                    _stop_test_pcscd(proc)


def _stop_test_pcscd(proc: subprocess.Popen | None) -> None:
    """Stop the pcscd a test session started (recorded in ``_STARTED_PID``), if any."""
    try:
        pid = int(_STARTED_PID.read_text())
    except (OSError, ValueError):
        return
    _STARTED_PID.unlink(missing_ok=True)
    try:
        if b"pcscd" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return  # that process is gone and the pid reused
        os.kill(pid, signal.SIGTERM)
    except (OSError, ProcessLookupError):
        return
    if proc is not None and proc.pid == pid:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        return
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _ensure_pcscd() -> subprocess.Popen | None:
    """Start pcscd unless one runs; check it offers the virtual reader. Returns our process."""
    readers = _readers()
    proc = None
    if readers is None:
        if not os.path.exists(PCSCD):
            raise RuntimeError(f"pcscd not found at {PCSCD}: {_INSTALL_HINT}")
        if not VPCD_CONF.exists():
            raise RuntimeError(f"vpcd reader configuration {VPCD_CONF} missing: {_INSTALL_HINT}")
        log_path = Path(tempfile.gettempdir()) / "chipid-pcscd.log"
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen([PCSCD, "--foreground"], stdout=log_file, stderr=subprocess.STDOUT)
        _STARTED_PID.write_text(str(proc.pid))
        readers = _wait_for_virtual_readers(15.0)
        if proc.poll() is not None:
            out = log_path.read_text(errors="replace")
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
    return proc


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
    slot = _flock("chipid-vpcd-slot0.lock", fcntl.LOCK_EX)
    slot.__enter__()
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
        try:
            for card in cards:
                card.remove()
            _wait_presence(VIRTUAL_READER, False)
        finally:
            slot.__exit__(None, None, None)


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


@pytest.fixture
def chromium():
    """Headless Chromium (tests/browser.py ``launch``), closed after the test. A fixture a test asks for before this
    one (a served app) is torn down after the browser, so no page holds a connection to a stopped server."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser
        finally:
            browser.close()
