"""``chipid reader``: list readers, and serve the demo card into the virtual PC/SC reader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.pcsc import PcscTransport, card_present
from verifier.icao.session import ChipSession

pytestmark = pytest.mark.pcsc

REPO = Path(__file__).resolve().parents[2]


def _chipid(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "verifier.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_reader_list_json(virtual_card, fake_card):
    _card, reader = virtual_card(fake_card)
    out, err = _chipid("reader", "list", "--no-nfc", "--json").communicate(timeout=60)
    found = {r["spec"]: r for r in json.loads(out)}
    assert found[f"pcsc:{reader}"]["card_present"] is True
    assert found[f"pcsc:{reader}"]["virtual"] is True


def test_reader_emulate_serves_the_demo_card(virtual_card, demo_chip, demo_keys, check_demo_read):
    # virtual_card (unused) holds the vpcd slot lock and checks the slot is empty afterwards
    proc = _chipid("reader", "emulate")
    try:
        deadline = time.monotonic() + 30
        while not card_present("Virtual PCD 00 00"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the emulated card never arrived"
            time.sleep(0.1)
        with PcscTransport("Virtual PCD 00 00") as transport:
            with ChipSession(transport, [demo_keys["can"]], policy="pace") as session:
                read = session.read_all()
        check_demo_read(read, demo_chip(), same_signature=False)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert "TEST CARD" in out
    assert proc.returncode == 0, err
