"""A real-shaped CCCD whose authority is not installed, read as a shop reads it: ``chipid read`` over
pcscd + vpcd with the shop's own trust store (no demo trust).

The emulated card is shaped like a real CCCD (cccd/README.md) and signed under the demo CSCA, which
a shop's trust store does not hold, exactly as a genuine CCCD's eID CSCA ("CSCA Vietnam") is missing
from the shipped German master list. That is "the authority is not installed" (``unverified``, exit 3),
never "probably fake"; a changed data group on the same card is positive evidence (exit 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.emulator.personalise import make_chip
from drivers.emulator.profile import DEMO_PROFILE_DIR, load_profile

pytestmark = pytest.mark.pcsc

REPO = Path(__file__).resolve().parents[2]
CAN = load_profile(DEMO_PROFILE_DIR).id_number[-6:]
FAKE_WORDS = ("giả", "fake", "forg", "counterfeit", "mạo")


def _read(reader: str, data_dir: Path) -> tuple[int, dict]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-m", "verifier.cli", "read", "--reader", f"pcsc:{reader}", "--can", CAN,
                          "--data-dir", str(data_dir), "--json"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    return out.returncode, json.loads(out.stdout)


def test_real_shaped_card_without_its_csca_is_unverified_with_an_actionable_reason(virtual_card, tmp_path):
    _card, reader = virtual_card(make_chip(DEMO_PROFILE_DIR))
    code, result = _read(reader, tmp_path / "shop")
    assert (code, result["verdict"], result["demo"]) == (3, "unverified", False), result["checks"]
    checks = result["checks"]
    # the card itself is intact: signature, every data-group hash, chip and active authentication
    assert checks["sod_signature"]["status"] == "passed"
    assert all(c["status"] == "passed" for name, c in checks.items() if name.startswith("dg_hash_"))
    assert checks["chip_authentication"]["status"] == checks["active_authentication"]["status"] == "passed"
    chain = checks["dsc_chain"]
    assert chain["status"] == "not_performed"
    # names the missing authority and its key identifier, and says what to do, in both languages
    assert "chipid DEMO CSCA" in chain["reason"] and "chipid DEMO CSCA" in chain["reason_vi"]
    assert chain["details"]["dsc_issuer"].endswith("CN=chipid DEMO CSCA")
    assert "intact" in chain["reason"] and "install" in chain["reason"].lower()
    assert "toàn vẹn" in chain["reason_vi"] and "Cần cài đặt" in chain["reason_vi"], chain["reason_vi"]
    for name, check in checks.items():
        for text in (check["reason"], check["reason_vi"]):
            assert not any(w in text.lower() for w in FAKE_WORDS), (name, text)
    assert not result["holder_verified"]


def test_a_changed_data_group_on_the_same_card_is_not_authentic(virtual_card, tmp_path):
    chip = make_chip(DEMO_PROFILE_DIR)
    dg13 = bytearray(chip.files["DG13"])
    at = bytes(dg13).find("Nguyễn".encode())
    dg13[at] ^= 0x01  # one letter of the name, after signing
    chip.files["DG13"] = bytes(dg13)
    _card, reader = virtual_card(chip)
    code, result = _read(reader, tmp_path / "shop")
    assert (code, result["verdict"]) == (2, "not_authentic")
    assert result["checks"]["dg_hash_13"]["status"] == "failed"
