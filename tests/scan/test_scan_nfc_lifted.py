"""A card lifted from an NFC reader halfway through DG2 (issue 14 item 5, the NFC half): the whole
scan (``run_scan`` with an ``nfc:udp:...`` reader) over nfcpy's reader code (sense, Type 4A
activation, ISO-DEP initiator) and nfcpy's udp RF link to the emulated card of
``drivers/nfc_card.py``. The card really leaves the field (``NfcCard.remove()``: it stops
answering, nfcpy's initiator times out) and a thread puts it back, as a clerk does.

The PC/SC twin of these tests is ``tests/scan/test_scan_field_faults.py``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
import time

import pytest

from drivers.emulator.faults import FaultyChip
from drivers.emulator.personalise import make_chip
from drivers.emulator.profile import load_profile
from verifier.config import Config
from verifier.errors import CardRemovedError
from verifier.results import ScanStep
from verifier.scan import DEMO_CARD_DIR, run_scan

BACK_AFTER_S = 0.3  # the clerk takes a moment


@pytest.fixture(scope="module")
def profile():
    return load_profile(DEMO_CARD_DIR)


def scan(device: str, profile, progress=None, *, timeout_s: float = 10.0):
    """``run_scan`` on the NFC reader at ``device``: (the result's JSON, the files' bytes)."""
    config = Config().with_overrides(reader__timeout_s=timeout_s, trust__demo=True)
    outcome = run_scan(config, {"can": profile.id_number[-6:]}, progress, reader=f"nfc:{device}")
    return outcome.result.to_json(), outcome.files


def lift(card, processor=None, *, back_after_s: float | None = BACK_AFTER_S):
    """``on_lifted``: the card leaves the field now (it stops answering, an exchange in flight is
    dropped); unless ``back_after_s`` is None a thread puts it back (optionally another card)."""
    card.remove()  # from the chip's own thread: the field loop notices and stops

    def put_back():
        time.sleep(back_after_s)
        if processor is not None:
            card.processor = processor
        card.insert()

    if back_after_s is not None:
        threading.Thread(target=put_back, name="clerk", daemon=True).start()


@pytest.mark.parametrize("technology", ["A", "B"])
def test_card_lifted_from_the_nfc_reader_halfway_through_dg2_is_read_on(nfc_card, profile, technology):
    chip = make_chip(profile)
    faulty = FaultyChip(chip, lift_in=("DG2", 20))
    card, device = nfc_card(faulty, technology=technology)
    faulty.on_lifted = lambda: lift(card)
    progress: list[str] = []
    result, files = scan(device, profile, progress.append)
    assert faulty.lifted == 1
    assert card.activations == 2  # the reader activated the card again when it came back
    assert result["reader"] == f"nfc:{device}"
    assert result["resumes"] == 1
    assert progress.index(ScanStep.CARD_LIFTED) < progress.index(ScanStep.CARD_BACK) < progress.index("verifying")
    assert files["DG2"] == chip.files["DG2"]  # the halves join byte for byte
    dg2 = chip.files["DG2"]
    assert result["files"]["DG2"] == {"size": len(dg2), "sha256": hashlib.sha256(dg2).hexdigest()}
    assert result["verdict"] == "authentic", result["checks"]


def test_another_card_put_back_on_the_nfc_reader_is_refused(nfc_card, profile):
    """Same CAN (the citizen's renewed card): it opens, but its EF.SOD differs and the read stops."""
    renewed = dataclasses.replace(profile, date_of_issue=dt.date(2024, 7, 1),
                                  date_of_expiry=dt.date(2040, profile.date_of_birth.month, profile.date_of_birth.day))
    faulty = FaultyChip(make_chip(profile), lift_in=("DG2", 10))
    card, device = nfc_card(faulty)
    other = make_chip(renewed)
    faulty.on_lifted = lambda: lift(card, other)
    with pytest.raises(CardRemovedError, match="not the card lifted") as e:
        scan(device, profile)
    assert e.value.step == "resume"
    assert card.activations == 2 and card.processor is other  # the other card was really opened


def test_card_not_put_back_on_the_nfc_reader_ends_the_scan_after_the_wait(nfc_card, profile):
    faulty = FaultyChip(make_chip(profile), lift_in=("DG2", 10))
    card, device = nfc_card(faulty)
    faulty.on_lifted = lambda: lift(card, back_after_s=None)
    with pytest.raises(CardRemovedError, match=r"lifted while EF\.DG2 was read and not put back within 1 s") as e:
        scan(device, profile, timeout_s=1.0)
    assert e.value.step == "resume"
    assert faulty.lifted == 1 and card.activations == 1
