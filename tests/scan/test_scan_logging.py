"""Log like a library: even at DEBUG (APDU traces), no personal data, MRZ or access key reaches the log."""

from __future__ import annotations

import logging

from drivers.emulator.personalise import make_chip, mrz_text
from drivers.emulator.profile import load_profile
from drivers.emulator.transport import EmulatorTransport
from verifier.config import Config
from verifier.scan import DEMO_CARD_DIR, keys_from_access, read_and_verify
from verifier.trust.store import TrustStore


def test_debug_log_of_a_full_scan_holds_no_personal_data(caplog):
    profile = load_profile(DEMO_CARD_DIR)
    caplog.set_level(logging.DEBUG)
    keys = keys_from_access({"id_number": profile.id_number, "birth_date": profile.date_of_birth.strftime("%y%m%d"),
                             "expiry_date": profile.date_of_expiry.strftime("%y%m%d")}).keys
    outcome = read_and_verify(EmulatorTransport(make_chip(profile)), keys, TrustStore.demo(), config=Config(), demo=True)
    assert outcome.result.to_json()["verdict"] == "authentic"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 20, "expected APDU traces at DEBUG"
    secrets = [profile.id_number, profile.id_number[-9:], profile.id_number[-6:], profile.full_name,
               profile.full_name.upper(), profile.date_of_birth.strftime("%y%m%d"), profile.place_of_residence]
    secrets += mrz_text(profile).split("\n")
    secrets += [x.encode().hex() for x in (profile.id_number, profile.full_name)]  # APDU traces print hex
    secrets += [h.upper() for h in secrets[-2:]]
    leaked = [s for s in secrets if s and s in text]
    assert leaked == []
