"""End to end over the emulated CCCD: read, authenticate, grade. Genuine, tampered, re-signed,
revoked and cloned cards must each get the right verdict with the right reason."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.emulator import pki
from drivers.emulator.personalise import make_chip
from drivers.emulator.profile import load_profile
from drivers.emulator.transport import EmulatorTransport
from verifier.config import Config
from verifier.errors import AccessDeniedError, AccessKeyError
from verifier.results import ScanResult
from verifier.scan import DEMO_CARD_DIR, keys_from_access, read_and_verify
from verifier.trust.store import TrustStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def profile():
    return load_profile(DEMO_CARD_DIR)


@pytest.fixture(scope="module")
def demo_store():
    return TrustStore.demo()


def scan(chip, store, access=None, **config):
    keys = keys_from_access(access, demo_card=DEMO_CARD_DIR).keys
    cfg = Config().with_overrides(**config) if config else Config()
    return read_and_verify(EmulatorTransport(chip), keys, store, config=cfg, demo=True)


def statuses(result):
    return {name: check["status"] for name, check in result["checks"].items()}


def test_demo_card_is_authentic_with_every_check_passed(profile, demo_store):
    outcome = scan(make_chip(profile), demo_store)
    result = outcome.result.to_json()
    # the typed result reads back from its JSON (GET /api/v1/scans/{id}, stored scans)
    assert ScanResult.from_json(result) == outcome.result
    assert ScanResult.from_json(result).to_json() == result
    assert profile.id_number not in repr(outcome.result)  # no personal data in a log line
    assert result["verdict"] == "authentic", json.dumps(result["checks"], indent=1, ensure_ascii=False)
    s = statuses(result)
    for name in ("chip_access", "sod_signature", "dsc_chain", "dg_hash_1", "dg_hash_2", "dg_hash_13",
                 "dg_hash_14", "dg_hash_15", "chip_authentication", "active_authentication", "mrz_consistency",
                 "card_expiry"):
        assert s[name] == "passed", (name, result["checks"][name])
    assert result["access"]["protocol"] == "PACE"
    assert result["holder"]["id_number"] == profile.id_number
    assert result["holder"]["full_name"] == profile.full_name
    assert result["holder"]["date_of_birth"] == profile.date_of_birth.isoformat()
    assert result["holder"]["place_of_residence"] == profile.place_of_residence
    assert result["holder_verified"] is True
    assert set(result["files"]) >= {"COM", "SOD", "DG1", "DG2", "DG13", "DG14", "DG15"}
    assert result["face_image"]["format"] == "jpeg"  # the demo portrait is a JPEG, as on real CCCDs
    assert outcome.portrait == profile.photo
    assert result["mrz"].startswith("IDVNM")
    assert result["demo"] is True


def test_bac_only_policy_reads_with_the_mrz_key(profile, demo_store):
    result = scan(make_chip(profile), demo_store,
                  {"id_number": profile.id_number, "birth_date": profile.date_of_birth.strftime("%y%m%d"),
                   "expiry_date": profile.date_of_expiry.strftime("%y%m%d")}, chip__access_policy="bac").result.to_json()
    assert result["access"]["protocol"] == "BAC"
    assert result["verdict"] == "authentic"


def test_qr_text_gives_the_access_key(profile, demo_store):
    qr = "|".join([profile.id_number, profile.old_id_number or "", profile.full_name,
                   profile.date_of_birth.strftime("%d%m%Y"), "Nam", profile.place_of_residence or "",
                   profile.date_of_issue.strftime("%d%m%Y")])
    result = scan(make_chip(profile), demo_store, {"qr": qr}).result.to_json()
    assert result["verdict"] == "authentic"


def test_one_changed_byte_in_a_data_group_is_not_authentic(profile, demo_store):
    from drivers.emulator.personalise import personalise

    dg13 = bytearray(personalise(profile)["DG13"])
    dg13[-3] ^= 0x01
    result = scan(make_chip(profile, replace_files={"DG13": bytes(dg13)}), demo_store).result.to_json()
    assert result["verdict"] == "not_authentic"
    assert statuses(result)["dg_hash_13"] == "failed"
    assert statuses(result)["sod_signature"] == "passed"
    assert result["holder_verified"] is False


def test_sod_re_signed_by_an_uninstalled_signer_is_unverified(profile, demo_store):
    # README "Verdict policy": an issuer that is not installed proves nothing either way.
    rogue_csca = pki.make_csca(country="VN", name="Rogue CSCA")
    rogue = pki.make_dsc(rogue_csca, country="VN")
    forged = dataclasses.replace(profile, dsc_cert_pem=_pem(rogue.cert), dsc_key_pem=_key_pem(rogue.key))
    result = scan(make_chip(forged), demo_store).result.to_json()
    assert result["verdict"] == "unverified" and result["holder_verified"] is False
    assert statuses(result)["dsc_chain"] == "not_performed"
    assert "Rogue CSCA" in result["checks"]["dsc_chain"]["reason"]


def test_revoked_document_signer_is_not_authentic(profile):
    csca = pki.make_csca(country="VN", name="Test CSCA")
    dsc = pki.make_dsc(csca, country="VN")
    store = TrustStore()
    store.add_certificate(csca.der)
    store.add_crl(pki.make_crl(csca, revoked=[dsc.serial]))
    card = dataclasses.replace(profile, dsc_cert_pem=_pem(dsc.cert), dsc_key_pem=_key_pem(dsc.key))
    result = scan(make_chip(card), store).result.to_json()
    assert result["verdict"] == "not_authentic"
    assert statuses(result)["revocation"] == "failed"
    assert statuses(result)["sod_signature"] == "passed"


def test_cloned_chip_is_detected(profile, demo_store):
    result = scan(make_chip(profile, clone=True), demo_store).result.to_json()
    assert result["verdict"] == "not_authentic"
    assert statuses(result)["chip_authentication"] == "failed"
    assert "clone" in result["checks"]["chip_authentication"]["reason"]


def test_no_trust_anchor_for_the_issuer_is_unverified(profile):
    result = scan(make_chip(profile), TrustStore()).result.to_json()
    assert result["verdict"] == "unverified"
    assert statuses(result)["dsc_chain"] == "not_performed"
    assert statuses(result)["sod_signature"] == "passed"
    assert result["holder_verified"] is False


def test_wrong_can_is_refused_clearly(profile, demo_store):
    with pytest.raises(AccessDeniedError):
        scan(make_chip(profile), demo_store, {"can": "000000"}, chip__access_policy="pace")


def test_access_key_is_required_outside_demo():
    with pytest.raises(AccessKeyError, match="access key is needed"):
        keys_from_access({})


def _pem(cert):
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _chipid(*args):
    return subprocess.run([sys.executable, "-m", "verifier.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_cli_read_json_on_the_emulator_exits_0():
    proc = _chipid("read", "--reader", "emulator", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    for key in ("reader", "access", "files", "mrz", "holder", "face_image", "checks", "verdict", "apdus",
                "bytes", "elapsed_ms"):
        assert key in result
    assert result["verdict"] == "authentic"
    assert all(set(f) == {"size", "sha256"} for f in result["files"].values())


def test_cli_read_human_output_and_wrong_key_exit_1():
    proc = _chipid("read", "--reader", "emulator")
    assert proc.returncode == 0, proc.stderr
    assert "KẾT LUẬN / VERDICT" in proc.stdout and "DEMO" in proc.stdout
    proc = _chipid("read", "--reader", "emulator", "--can", "123456")
    assert proc.returncode == 1
    assert "CAN" in proc.stderr


def test_card_without_expiry_opens_with_bac(profile, demo_store):
    card = dataclasses.replace(profile, date_of_expiry=None)
    result = scan(make_chip(card), demo_store,
                  {"id_number": card.id_number, "birth_date": card.date_of_birth.strftime("%y%m%d"),
                   "expiry_date": "none"}, chip__access_policy="bac").result.to_json()
    assert result["access"]["protocol"] == "BAC"
    assert result["verdict"] == "authentic", result["checks"]
    assert result["checks"]["card_expiry"]["status"] == "passed"
    assert "no expiry" in result["checks"]["card_expiry"]["reason"]


def test_dg14_with_a_crafted_curve_fails_the_check_instead_of_the_scan(profile, demo_store):
    from dataclasses import replace as dc_replace

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from drivers.emulator.card_protocols import ECPrivateKey, chip_auth_infos
    from verifier.icao import curves, ecc
    from verifier.icao.chip_keys import ec_spki
    from verifier.icao.lds.dg14 import encode_dg14

    key = load_pem_private_key(profile.chip_auth_key_pem, None)
    numbers = key.public_key().public_numbers()
    crafted = dc_replace(curves.curve(key.curve.name), b=curves.curve(key.curve.name).b + 2)
    spki = ec_spki(crafted, ecc.Point(numbers.x, numbers.y), explicit=True)
    infos = chip_auth_infos(ECPrivateKey(crafted, key.private_numbers().private_value), spki)
    result = scan(make_chip(profile, replace_files={"DG14": encode_dg14(infos)}), demo_store).result.to_json()
    assert result["verdict"] == "not_authentic"
    assert result["checks"]["chip_authentication"]["status"] == "failed"
    assert "could not run" in result["checks"]["chip_authentication"]["reason"]


def test_document_number_with_dates_is_an_access_key():
    from verifier.icao.keys import BACKey

    assert keys_from_access({"doc_number": "L898902C3", "birth_date": "740812", "expiry_date": "120415"}).keys \
        == [BACKey("L898902C3", "740812", "120415")]
    with pytest.raises(AccessKeyError, match="expiry_date"):
        keys_from_access({"doc_number": "L898902C3", "birth_date": "740812"})
