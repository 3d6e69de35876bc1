"""A field-hardened read through the real PC/SC stack (pcscd + vpcd) with injected chip faults
(drivers/emulator/faults.py): no EF.COM answered 6988 with secure messaging torn down, a card
lifted halfway through DG2 and put back, cards without expiry opened over BAC, and a PACE
exchange corrupted by a man in the middle (issue 14 items 4 and 5, issue 15 item 12)."""

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
from drivers.pcsc import PcscTransport, card_present
from verifier.config import Config
from verifier.errors import CardRemovedError
from verifier.icao import apdu as A
from verifier.results import ScanStep
from verifier.scan import DEMO_CARD_DIR, keys_from_access, read_and_verify
from verifier.trust.store import TrustStore

pytestmark = pytest.mark.pcsc

CA_MSE = (A.INS_MSE, 0x41, 0xA4)  # MSE:Set AT for chip authentication (ICAO 9303-11 §6.2.4)


@pytest.fixture(scope="module")
def profile():
    return load_profile(DEMO_CARD_DIR)


def id_access(profile, expiry: str | None = None) -> dict:
    return {"id_number": profile.id_number, "birth_date": profile.date_of_birth.strftime("%y%m%d"),
            "expiry_date": expiry or profile.date_of_expiry.strftime("%y%m%d")}


def qr_access(profile) -> dict:
    return {"qr": "|".join([profile.id_number, profile.old_id_number or "", profile.full_name,
                            profile.date_of_birth.strftime("%d%m%Y"), profile.sex_vi,
                            profile.place_of_residence or "", profile.date_of_issue.strftime("%d%m%Y")])}


def read_through_pcscd(reader, access, progress=None, **config):
    cfg = Config().with_overrides(reader__timeout_s=20.0, **config)
    with PcscTransport(reader) as transport:
        return read_and_verify(transport, keys_from_access(access).keys, TrustStore.demo(), config=cfg, demo=True,
                               progress=progress).result.to_json()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_no_ef_com_answered_6988_is_reported_and_the_read_goes_on(virtual_card, profile):
    """An independent virtual ePass: EF.COM is absent and its SELECT is answered 6988 with secure
    messaging torn down. The session re-opens PACE with the same key, tries once more, reports
    EF.COM with its status word and reads what EF.SOD lists."""
    chip = make_chip(profile)
    del chip.files["COM"]
    faulty = FaultyChip(chip, sm_error_on_missing=True)
    _card, reader = virtual_card(faulty)
    result = read_through_pcscd(reader, {"can": profile.id_number[-6:]})
    assert result["not_readable"] == {"COM": "secure messaging objects incorrect (SW 6988)"}
    assert faulty.sm_errors == ["COM", "COM"]  # the first answer, then the one retry after re-opening
    assert set(result["files"]) == {"CardAccess", "SOD", "DG1", "DG2", "DG13", "DG14", "DG15"}
    for name, info in result["files"].items():
        assert info["sha256"] == sha(chip.files[name]), name
    assert result["access"]["protocol"] == "PACE"
    assert result["verdict"] == "authentic", result["checks"]
    assert result["checks"]["chip_authentication"]["status"] == "passed"
    assert result["checks"]["active_authentication"]["status"] == "passed"
    assert result["resumes"] == 0


def test_sm_error_on_dg15_reopens_and_runs_chip_authentication_again(virtual_card, profile):
    """A command to DG15 (read under chip-authentication keys) is answered 6988 and the chip ends
    secure messaging: the session re-runs PACE, then chip authentication, before DG15 and
    active authentication."""
    faulty = FaultyChip(make_chip(profile), sm_error_once=("DG15",))
    _card, reader = virtual_card(faulty)
    result = read_through_pcscd(reader, {"can": profile.id_number[-6:]})
    assert faulty.sm_errors == ["DG15"]
    assert faulty.commands.count(CA_MSE) == 2  # chip authentication ran twice
    assert "DG15" in result["files"] and "DG15" not in result["not_readable"]
    assert result["checks"]["active_authentication"]["status"] == "passed"
    assert result["verdict"] == "authentic", result["checks"]


def _put_back_when_gone(card, reader, processor=None):
    """Wait until pcscd sees the slot empty, then insert the card again (optionally another one)."""
    def run():
        deadline = time.monotonic() + 10
        while card_present(reader) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the clerk takes a moment
        if processor is not None:
            card.processor = processor
        card.insert()

    threading.Thread(target=run, daemon=True).start()


def test_card_lifted_halfway_through_dg2_is_waited_for_and_read_on(virtual_card, profile):
    chip = make_chip(profile)
    faulty = FaultyChip(chip, lift_in=("DG2", 20))
    card, reader = virtual_card(faulty)
    faulty.on_lifted = lambda: _put_back_when_gone(card, reader)
    progress: list[str] = []
    result = read_through_pcscd(reader, {"can": profile.id_number[-6:]}, progress.append)
    assert faulty.lifted == 1
    assert result["resumes"] == 1
    assert progress.index(ScanStep.CARD_LIFTED) < progress.index(ScanStep.CARD_BACK) < progress.index("verifying")
    assert result["files"]["DG2"]["sha256"] == sha(chip.files["DG2"])  # the halves join byte for byte
    assert result["files"]["DG2"]["size"] == len(chip.files["DG2"])
    assert result["not_readable"] == {"DG3": "access-protected (EAC) (SW 6982)"}  # EF.COM lists it, as on a CCCD
    assert faulty.commands.count(CA_MSE) == 1  # lifted before chip authentication: run once
    assert result["verdict"] == "authentic", result["checks"]


def test_another_card_put_back_is_refused_although_the_can_opens_it(virtual_card, profile):
    """The renewed card of the same citizen has the same CAN (the last 6 digits of the ID number):
    access alone proves nothing, its EF.SOD differs and the read stops."""
    renewed = dataclasses.replace(profile, date_of_issue=dt.date(2024, 7, 1),
                                  date_of_expiry=dt.date(2040, profile.date_of_birth.month, profile.date_of_birth.day))
    faulty = FaultyChip(make_chip(profile), lift_in=("DG2", 10))
    card, reader = virtual_card(faulty)
    faulty.on_lifted = lambda: _put_back_when_gone(card, reader, make_chip(renewed))
    with pytest.raises(CardRemovedError, match="not the card lifted"):
        read_through_pcscd(reader, {"can": profile.id_number[-6:]})


@pytest.mark.parametrize("expiry,key", [(None, "MRZ key (no date of expiry)"),
                                        ("2099", "MRZ key (no expiry, year 2099)")])
def test_card_without_expiry_opens_with_the_no_expiry_bac_keys(virtual_card, profile, expiry, key):
    """The QR carries no expiry; the derived dates fail on a card that does not expire, then
    ``<<<<<<`` and ``99MMDD`` (year 2099, day and month of birth) are tried, in that order."""
    birth = profile.date_of_birth
    card = dataclasses.replace(profile, chip={**profile.chip, "pace": False},
                               date_of_expiry=None if expiry is None else dt.date(2099, birth.month, birth.day))
    _card, reader = virtual_card(make_chip(card))
    result = read_through_pcscd(reader, qr_access(card))
    attempts = result["access"]["attempts"]
    assert result["access"]["protocol"] == "BAC"
    assert result["access"]["key"].startswith(key)
    assert attempts[-1].endswith(": ok") and all(a.endswith("refused") for a in attempts[1:-1])
    assert birth.strftime("99%m%d") not in " ".join(attempts)  # the 2099 key does not show the birthday
    assert result["checks"]["access_protocol"]["status"] == "passed"  # a BAC-only chip
    assert result["verdict"] == "authentic", result["checks"]


def test_pace_corrupted_by_a_man_in_the_middle_is_a_failed_decisive_check(virtual_card, profile):
    faulty = FaultyChip(make_chip(profile), corrupt_pace=True)
    _card, reader = virtual_card(faulty)
    result = read_through_pcscd(reader, id_access(profile))
    assert result["access"]["protocol"] == "BAC"
    assert any(a.startswith("PACE") and a.endswith("refused") for a in result["access"]["attempts"])
    check = result["checks"]["access_protocol"]
    assert check["status"] == "failed"
    assert "DG14 (signed)" in check["reason"] and "downgrade" in check["reason"]
    assert "hạ cấp" in check["reason_vi"]
    assert result["checks"]["sod_signature"]["status"] == "passed"  # everything else is fine
    assert result["verdict"] == "not_authentic"
    assert result["holder_verified"] is False


def test_one_garbled_pace_answer_is_tried_again_not_graded_a_downgrade(virtual_card, profile):
    """RF noise cuts one PACE answer short: PACE is tried again and opens the chip, so a genuine card on
    a flaky reader is not called a downgrade victim (found by review)."""
    faulty = FaultyChip(make_chip(profile), garble_pace_once=True)
    _card, reader = virtual_card(faulty)
    result = read_through_pcscd(reader, id_access(profile))
    assert not faulty.garble_pace_once  # the fault fired
    assert any("unusable" in a for a in result["access"]["attempts"]), result["access"]["attempts"]
    assert result["access"]["protocol"] == "PACE"
    assert result["checks"]["access_protocol"]["status"] == "passed"
    assert result["verdict"] == "authentic"


def test_bac_by_the_operators_choice_is_no_downgrade(virtual_card, profile):
    _card, reader = virtual_card(make_chip(profile))
    result = read_through_pcscd(reader, id_access(profile), chip__access_policy="bac")
    assert result["access"]["protocol"] == "BAC"
    assert result["checks"]["access_protocol"]["status"] == "not_performed"
    assert result["verdict"] == "authentic", result["checks"]


def test_pace_used_passes_the_access_protocol_check(virtual_card, profile):
    _card, reader = virtual_card(make_chip(profile))
    result = read_through_pcscd(reader, id_access(profile))
    assert result["access"]["protocol"] == "PACE"
    assert result["checks"]["access_protocol"]["status"] == "passed"
    assert result["verdict"] == "authentic", result["checks"]
