"""`chipid read` through the real reader stacks: pcscd + vpcd, and nfcpy's udp driver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.emulator.personalise import make_chip
from verifier.config import Config
from verifier.scan import DEMO_CARD_DIR, run_scan

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.pcsc
def test_cli_read_through_pcscd_and_vpcd_is_authentic_under_demo_trust(virtual_card, tmp_path):
    _, reader = virtual_card(make_chip(DEMO_CARD_DIR))
    config = tmp_path / "config.toml"
    config.write_text("[trust]\ndemo = true\n")
    proc = subprocess.run([sys.executable, "-m", "verifier.cli", "read", "--reader", f"pcsc:{reader}",
                           "--can", "001234", "--config", str(config), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["reader"].startswith("pcsc:")
    assert result["verdict"] == "authentic"
    assert result["demo"] is True  # demo trust marks the result, whatever the reader
    assert result["access"]["protocol"] == "PACE"


@pytest.mark.pcsc
def test_production_trust_does_not_accept_the_demo_card(virtual_card, tmp_path):
    _, reader = virtual_card(make_chip(DEMO_CARD_DIR))
    cfg = Config().with_overrides(service__data_dir=str(tmp_path))
    outcome = run_scan(cfg, {"can": "001234"}, reader=f"pcsc:{reader}")
    assert outcome.result.to_json()["demo"] is False
    # the demo signer's CSCA is not installed: unverified, never authentic (README "Verdict policy")
    assert outcome.result.to_json()["verdict"] == "unverified"
    assert outcome.result.to_json()["checks"]["dsc_chain"]["status"] == "not_performed"


def test_run_scan_through_nfcpy_udp(nfc_card):
    _, device = nfc_card(make_chip(DEMO_CARD_DIR))
    cfg = Config().with_overrides(trust__demo=True)
    progress = []
    outcome = run_scan(cfg, {"can": "001234"}, progress.append, reader=f"nfc:{device}")
    assert outcome.result.to_json()["verdict"] == "authentic"
    assert outcome.result.to_json()["reader"].startswith("nfc")
    assert progress == ["waiting_for_card", "reading", "verifying"]
