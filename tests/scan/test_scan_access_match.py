"""DG1 (and DG13's ID number) are compared with the access data that opened the chip
(ICAO 9303-11 §4.3; issue 15 item 1), end to end on the emulated CCCD.

The substituted chip answers card A's access keys (MRZ key, CAN) but serves person B's DG1,
DG2, DG13, DG14, DG15 and an EF.SOD that validly signs them (the demo document signer):
every signature and hash passes, and only the comparison with the access data can catch it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from drivers.emulator.personalise import make_chip, personalise, sod
from drivers.emulator.profile import load_profile
from drivers.emulator.transport import EmulatorTransport
from verifier import verdict as V
from verifier.cccd.access_match import AccessData, access_data_check, compare_access, with_keys
from verifier.cccd.dg13 import parse_dg13
from verifier.config import Config
from verifier.icao.keys import NO_EXPIRY, BACKey, CANKey
from verifier.icao.lds.dg1 import parse_dg1
from verifier.inspection import inspect_document
from verifier.scan import DEMO_CARD_DIR, keys_from_access, read_and_verify
from verifier.trust.store import TrustStore


@pytest.fixture(scope="module")
def card_a():
    return load_profile(DEMO_CARD_DIR)


@pytest.fixture(scope="module")
def card_b(card_a):
    """Another person on a card with the same chip keys (so chip/active authentication pass)."""
    return dataclasses.replace(card_a, id_number="001195012345", full_name="Trần Thị Bé", sex="F",
                               date_of_birth=dt.date(1995, 7, 1), date_of_issue=dt.date(2022, 1, 10),
                               date_of_expiry=dt.date(2035, 7, 1), old_id_number=None)


@pytest.fixture(scope="module")
def store():
    return TrustStore.demo()


def _qr(p) -> str:
    return "|".join([p.id_number, p.old_id_number or "", p.full_name, p.date_of_birth.strftime("%d%m%Y"),
                     p.sex_vi, p.place_of_residence, p.date_of_issue.strftime("%d%m%Y")])


def _substituted_chip(card_a, card_b):
    """Card A's access keys, B's validly signed files."""
    b_files = {k: v for k, v in personalise(card_b).items() if k != "CardAccess"}
    return make_chip(card_a, replace_files=b_files)


def _scan(chip, store, access, **config):
    candidates = keys_from_access(access)
    cfg = Config().with_overrides(**config) if config else Config()
    return read_and_verify(EmulatorTransport(chip), candidates.keys, store, config=cfg, demo=True,
                           access_data=candidates.data).result.to_json()


def _access_by(p, how: str) -> dict:
    return {
        "qr": {"qr": _qr(p)},
        "can": {"can": p.id_number[-6:]},
        "id": {"id_number": p.id_number, "birth_date": p.date_of_birth.strftime("%y%m%d"),
               "expiry_date": p.date_of_expiry.strftime("%y%m%d")},
    }[how]


@pytest.mark.parametrize("how, policy, expected_fields", [
    # the QR's expiry is derived (a guess), but the key the chip accepted holds card A's: compared too,
    # with what the QR printed on the card says (ID number, birth and issue dates)
    ("qr", "pace-then-bac", {"id_number", "document_number", "date_of_birth", "date_of_expiry", "date_of_issue"}),
    ("can", "pace", {"can"}),
    ("id", "bac", {"document_number", "date_of_birth", "date_of_expiry"}),  # the BAC key that opened it
])
def test_chip_with_another_persons_signed_data_is_not_authentic(card_a, card_b, store, how, policy,
                                                                 expected_fields):
    result = _scan(_substituted_chip(card_a, card_b), store, _access_by(card_a, how), **{"chip.access_policy": policy})
    checks = result["checks"]
    # everything cryptographic passes: B's data is validly signed, the chip holds the right keys
    for name in ("chip_access", "sod_signature", "dsc_chain", "dg_hash_1", "dg_hash_13", "chip_authentication",
                 "mrz_consistency"):
        assert checks[name]["status"] == "passed", (name, checks[name])
    match = checks["access_data_match"]
    assert match["status"] == "failed"
    assert set(match["details"]["fields"]) == expected_fields
    assert "contradicts the access data used to open it" in match["reason"]
    assert "không khớp với thông tin dùng để mở chip" in match["reason_vi"]
    assert "nghi thẻ giả" in match["reason_vi"]
    assert result["verdict"] == "not_authentic"
    assert result["holder_verified"] is False
    assert result["holder"]["id_number"] == card_b.id_number  # shown as read, never as verified
    # no personal data in the reasons
    for text in (match["reason"], match["reason_vi"]):
        assert card_a.id_number[-6:] not in text and card_b.id_number[-6:] not in text


@pytest.mark.parametrize("typo", [{"expiry_date": "+1 day"}, {"birth_date": "+1 day"}])
def test_a_clerks_typo_that_did_not_open_the_chip_is_no_evidence_against_the_card(card_a, store, typo):
    """The typed BAC key with the typo is refused, the CAN (the ID's last six digits) opens the chip: the
    card is genuine and stays authentic; the typo is the clerk's, never a reason to call the card fake."""
    access = _access_by(card_a, "id")
    for field, _ in typo.items():
        d = dt.datetime.strptime(access[field], "%y%m%d") + dt.timedelta(days=1)
        access[field] = d.strftime("%y%m%d")
    result = _scan(make_chip(card_a), store, access)
    assert "CAN" in result["access"]["key"], result["access"]
    assert result["checks"]["access_data_match"]["status"] == "passed", result["checks"]["access_data_match"]
    assert result["verdict"] == "authentic"


@pytest.mark.parametrize("how, policy", [("qr", "pace-then-bac"), ("can", "pace"), ("id", "bac")])
def test_a_normal_card_stays_authentic(card_a, store, how, policy):
    result = _scan(make_chip(card_a), store, _access_by(card_a, how), **{"chip.access_policy": policy})
    assert result["checks"]["access_data_match"]["status"] == "passed", result["checks"]["access_data_match"]
    assert result["checks"]["access_data_match"]["reason_vi"]
    assert result["verdict"] == "authentic", result["checks"]
    assert result["dg13_error"] is None
    assert result["holder_source"]["full_name"] == "DG13"


@pytest.mark.parametrize("policy", ["bac", "pace-then-bac"])
def test_only_the_accepted_expiry_differs(card_a, store, policy):
    """Card A's own data except the expiry date (DG1 and DG13 agree with each other, all signed):
    the QR gives no expiry (only derived candidates), so only the key that opened the chip, which
    holds card A's expiry, can show DG1's is another (ICAO 9303-11 §4.3; issue 15 item 1)."""
    other = dataclasses.replace(card_a, date_of_expiry=dt.date(card_a.date_of_expiry.year + 5, 1, 1))
    result = _scan(_substituted_chip(card_a, other), store, _access_by(card_a, "qr"), **{"chip.access_policy": policy})
    checks = result["checks"]
    for name in ("sod_signature", "dsc_chain", "dg_hash_1", "dg_hash_13", "mrz_consistency", "card_expiry"):
        assert checks[name]["status"] == "passed", (name, checks[name])
    match = checks["access_data_match"]
    assert match["status"] == "failed" and match["details"]["fields"] == ["date_of_expiry"], match
    assert result["verdict"] == "not_authentic"


def test_keys_without_access_data_are_still_compared(card_a, card_b, store):
    """Callers that pass only the key list (no AccessData) still get the comparison from the keys."""
    keys = keys_from_access({"can": card_a.id_number[-6:]}).keys
    result = read_and_verify(EmulatorTransport(_substituted_chip(card_a, card_b)), keys, store, config=Config(),
                             demo=True).result.to_json()
    assert result["checks"]["access_data_match"]["status"] == "failed"
    assert result["verdict"] == "not_authentic"


# --------------------------------------------------------------------------- the comparison itself

@pytest.fixture(scope="module")
def a_files(card_a):
    return personalise(card_a)


def _mrz(files):
    return parse_dg1(files["DG1"]).mrz


def test_with_keys_keeps_only_what_every_candidate_shares(card_a):
    candidates = keys_from_access({"qr": _qr(card_a)})
    data = with_keys(candidates.data, candidates.keys)
    assert data.document_number == card_a.id_number[-9:]
    assert data.date_of_birth == card_a.date_of_birth.strftime("%y%m%d")
    assert data.date_of_expiry is None  # the QR's expiry candidates are guesses, not access data
    assert data.can == card_a.id_number[-6:]
    assert data.birth_date == card_a.date_of_birth and data.date_of_issue == card_a.date_of_issue
    assert with_keys(None, []) is None
    assert "079090001234" not in repr(data)


def test_compare_access_field_by_field(card_a, a_files):
    mrz, dg13 = _mrz(a_files), parse_dg13(a_files["DG13"])
    birth, expiry = card_a.date_of_birth.strftime("%y%m%d"), card_a.date_of_expiry.strftime("%y%m%d")
    assert compare_access(mrz, dg13, None, key=BACKey(card_a.id_number[-9:], birth, expiry)) == []
    assert compare_access(mrz, dg13, None, key=BACKey(card_a.id_number[-9:], birth, "350101")) == ["date_of_expiry"]
    assert compare_access(mrz, dg13, None, key=CANKey("999999")) == ["can"]
    assert compare_access(mrz, dg13, AccessData("id", id_number="079090009999")) == ["id_number"]
    assert compare_access(mrz, dg13, AccessData("qr", date_of_issue=dt.date(2020, 1, 1))) == ["date_of_issue"]
    assert compare_access(mrz, None, AccessData("qr", date_of_issue=dt.date(2020, 1, 1))) == []  # no DG13: no issue date


def test_card_without_expiry_matches_its_no_expiry_key(card_a):
    old = dataclasses.replace(card_a, date_of_expiry=None)
    files = personalise(old)
    mrz, dg13 = _mrz(files), parse_dg13(files["DG13"])
    key = BACKey(old.id_number[-9:], old.date_of_birth.strftime("%y%m%d"), NO_EXPIRY)
    assert compare_access(mrz, dg13, None, key=key) == []
    assert compare_access(mrz, dg13, AccessData("id", date_of_expiry="300315")) == ["date_of_expiry"]


def test_check_not_performed_without_access_data_or_dg1(a_files, store):
    mrz = _mrz(a_files)
    assert access_data_check(mrz, None, None).status is V.Status.NOT_PERFORMED
    assert access_data_check(None, None, AccessData("can", can="001234")).status is V.Status.NOT_PERFORMED
    plain = inspect_document(a_files, store, access_check=V.passed(V.CHIP_ACCESS, "test", "test"))
    assert {c.name: c.status for c in plain.checks}[V.ACCESS_DATA_MATCH] is V.Status.NOT_PERFORMED
    assert V.ACCESS_DATA_MATCH in V.DECISIVE


# --------------------------------------------------------------------------- a DG13 that cannot be parsed

def _with_bad_dg13(profile):
    """The profile's files with a DG13 this reader refuses (version 2), signed like the rest."""
    files = personalise(profile)
    bad = bytearray(files["DG13"])
    at = bad.index(bytes.fromhex("02 01 01 06 06 28 D3 16 01 00 08"))
    bad[at + 2] = 2
    files["DG13"] = bytes(bad)
    dgs = {int(name[2:]): data for name, data in files.items() if name.startswith("DG")}
    files["SOD"] = sod(profile, dgs)
    return files


def test_unparseable_dg13_is_a_visible_warning_with_the_fields_from_the_mrz(card_a, store):
    files = _with_bad_dg13(card_a)
    inspection = inspect_document(files, store, access_check=V.passed(V.CHIP_ACCESS, "test", "test"))
    error = inspection.dg13_error
    assert error is not None
    assert "expected version 1" in error["reason"] and "come from the MRZ" in error["reason"]
    assert "Không đọc được DG13" in error["reason_vi"] and "lấy từ vùng MRZ" in error["reason_vi"]
    assert {"id_number", "full_name", "date_of_birth"} <= set(error["fields_from_mrz"])
    assert inspection.holder_source["id_number"] == "DG1" and inspection.holder_source["full_name"] == "DG1"
    assert "place_of_residence" not in inspection.holder
    assert any("Không đọc được DG13" in w and "DG13 (personal data) could not be parsed" in w
               for w in inspection.warnings)
    assert "Nguyễn" not in " ".join(inspection.warnings)  # reasons name fields, never values


def test_unparseable_dg13_reaches_the_read_result(card_a, store):
    files = _with_bad_dg13(card_a)
    chip = make_chip(card_a, replace_files={k: v for k, v in files.items() if k in ("DG13", "SOD")})
    result = _scan(chip, store, _access_by(card_a, "qr"))
    assert result["dg13_error"]["fields_from_mrz"]
    assert result["holder_source"]["id_number"] == "DG1"
    assert result["holder"]["id_number"] == card_a.id_number  # from DG1's optional data
    assert any("Không đọc được DG13" in w for w in result["warnings"])
    assert result["checks"]["dg_hash_13"]["status"] == "passed"  # signed: only the layout is unknown
    assert result["checks"]["access_data_match"]["status"] == "passed"
