"""verifier.inspection: the holder's data and the checks, from the raw files (pure, no reader)."""

from __future__ import annotations

from verifier.inspection import holder_fields
from verifier.icao.lds.dg1 import parse_dg1

from drivers.emulator.personalise import personalise
from drivers.emulator.profile import load_profile
from verifier.scan import DEMO_CARD_DIR


def test_holder_falls_back_to_the_dg1_mrz_with_the_12_digit_id():
    profile = load_profile(DEMO_CARD_DIR)
    files = personalise(profile)
    mrz = parse_dg1(files["DG1"]).mrz
    holder = holder_fields(mrz, None)  # no DG13: everything comes from DG1
    assert holder["id_number"] == profile.id_number  # optional data: ID12 "<<" check digit
    assert holder["document_number"] == profile.id_number[-9:]
    assert holder["date_of_birth"] == profile.date_of_birth.isoformat()
    assert holder["expiry_date"] == profile.date_of_expiry.isoformat()
    assert holder["sex"] == "Nam"
    assert holder["nationality"] == "VNM"
    assert holder["full_name"] == "NGUYEN VAN AN"


def test_dg3_listed_by_the_card_is_reported_as_not_readable_not_as_an_error():
    """A CCCD lists its EAC-protected fingerprints (DG3): the scan asks for it last and reports 6982
    as "access-protected", with the verdict untouched."""
    from drivers.emulator.personalise import make_chip, sod
    from drivers.emulator.transport import EmulatorTransport
    from verifier.config import Config
    from verifier.icao.lds.com import encode_com
    from verifier.icao.tlv import encode
    from verifier.scan import keys_from_access, read_and_verify
    from verifier.trust.store import TrustStore

    profile = load_profile(DEMO_CARD_DIR)
    files = personalise(profile)
    dgs = {int(n[2:]): b for n, b in files.items() if n.startswith("DG")}
    dgs[3] = encode(0x63, b"\x02\x01\x01" + bytes(64))  # the chip answers 6982 to it (EAC)
    extra = {"DG3": dgs[3], "COM": encode_com(sorted(dgs), "1.8", "4.0.0"), "SOD": sod(profile, dgs)}
    chip = make_chip(profile, replace_files=extra)
    keys = keys_from_access(None, demo_card=DEMO_CARD_DIR).keys
    result = read_and_verify(EmulatorTransport(chip), keys, TrustStore.demo(), config=Config(), demo=True).result.to_json()
    assert result["not_readable"] == {"DG3": "access-protected (EAC) (SW 6982)"}
    assert "DG3" not in result["files"] and "dg_hash_3" not in result["checks"]
    assert result["checks"]["sod_completeness"]["status"] == "passed"
    assert result["verdict"] == "authentic", result["checks"]


def test_qr_access_tries_the_neighbouring_expiry_when_the_chip_refuses_the_first():
    """The QR has no expiry: the rule's date comes first; a BAC-only card issued to run to the day
    before the 40th birthday refuses it, and the next candidate opens it."""
    import dataclasses
    import datetime as dt

    from drivers.emulator.personalise import make_chip
    from drivers.emulator.transport import EmulatorTransport
    from verifier.config import Config
    from verifier.scan import keys_from_access, read_and_verify
    from verifier.trust.store import TrustStore

    demo = load_profile(DEMO_CARD_DIR)
    profile = dataclasses.replace(demo, date_of_expiry=dt.date(2030, 3, 14), chip={**demo.chip, "pace": False})
    qr = "|".join([profile.id_number, profile.old_id_number, profile.full_name, "15031990", "Nam",
                   profile.place_of_residence, profile.date_of_issue.strftime("%d%m%Y")])
    keys = keys_from_access({"qr": qr}).keys
    result = read_and_verify(EmulatorTransport(make_chip(profile)), keys, TrustStore.demo(), config=Config(),
                             demo=True).result.to_json()
    attempts = result["access"]["attempts"]
    assert attempts[0] == "PACE: no EF.CardAccess"
    assert "300315" in attempts[1] and attempts[1].endswith("refused")
    assert "300314" in attempts[2] and attempts[2].endswith("ok")
    assert result["access"]["protocol"] == "BAC"
    assert result["verdict"] == "authentic", result["checks"]


def _scan(chip, store=None, access=None, **config):
    from drivers.emulator.transport import EmulatorTransport
    from verifier.config import Config
    from verifier.scan import keys_from_access, read_and_verify
    from verifier.trust.store import TrustStore

    keys = keys_from_access(access, demo_card=DEMO_CARD_DIR).keys
    cfg = Config().with_overrides(**config) if config else Config()
    return read_and_verify(EmulatorTransport(chip), keys, store or TrustStore.demo(), config=cfg, demo=True).result.to_json()


def test_clone_of_an_active_authentication_only_chip_is_not_authentic():
    """No chip authentication key in DG14: active authentication (DG15, listed in the SOD) is the
    anti-clone check, so a chip without DG15's private key is refused."""
    import dataclasses

    from drivers.emulator.personalise import make_chip

    demo = load_profile(DEMO_CARD_DIR)
    aa_only = dataclasses.replace(demo, chip={**demo.chip, "chip_auth": False})
    genuine = _scan(make_chip(aa_only))
    assert genuine["verdict"] == "authentic", genuine["checks"]
    assert genuine["checks"]["active_authentication"]["status"] == "passed"
    assert genuine["checks"]["chip_authentication"]["status"] == "not_performed"
    assert genuine["checks"]["chip_authentication"]["reason"] == "DG14 holds no chip authentication key"
    clone = _scan(make_chip(aa_only, clone=True))
    assert clone["verdict"] == "not_authentic"
    assert clone["checks"]["active_authentication"]["status"] == "failed"
    assert clone["checks"]["sod_signature"]["status"] == "passed"
    assert clone["holder_verified"] is False


def test_chip_that_hides_a_signed_dg15_is_not_authentic():
    """The SOD lists DG15: a chip answering 6A82 for it cannot dodge active authentication."""
    from drivers.emulator.personalise import make_chip

    chip = make_chip(load_profile(DEMO_CARD_DIR))
    del chip.files["DG15"]
    result = _scan(chip)
    assert result["not_readable"]["DG15"] == "not present (SW 6A82)"
    assert result["checks"]["active_authentication"]["status"] == "failed"
    assert result["verdict"] == "not_authentic"


def test_a_signed_data_group_the_chip_withholds_is_not_authentic():
    from verifier.inspection import inspect_document
    from verifier.trust.store import TrustStore
    from verifier import verdict as V

    # what a reader gets: DG3 (fingerprints) stays behind EAC (6982) and is not in the SOD, as on real CCCDs
    files = {k: v for k, v in personalise(load_profile(DEMO_CARD_DIR)).items() if k != "DG3"}
    access = V.passed(V.CHIP_ACCESS, "test", "test")
    complete = inspect_document(files, TrustStore.demo(), access_check=access)
    assert complete.verdict is V.Outcome.AUTHENTIC
    withheld = {k: v for k, v in files.items() if k != "DG2"}
    result = inspect_document(withheld, TrustStore.demo(), access_check=access)
    dg2 = [c for c in result.checks if c.name == "dg_hash_2"]
    assert [c.status for c in dg2] == [V.Status.FAILED]
    assert "did not return" in dg2[0].reason
    assert result.verdict is V.Outcome.NOT_AUTHENTIC


def test_a_garbage_sod_fails_the_signature_check_without_raising():
    from verifier import verdict as V
    from verifier.inspection import inspect_document
    from verifier.trust.store import TrustStore

    files = dict(personalise(load_profile(DEMO_CARD_DIR)))
    files["SOD"] = b"\x77\x84\xff\xff\xff\xff" + b"\x00" * 10
    result = inspect_document(files, TrustStore.demo(), access_check=V.passed(V.CHIP_ACCESS, "test", "test"))
    sod = [c for c in result.checks if c.name == "sod_signature"]
    assert [c.status for c in sod] == [V.Status.FAILED]
    assert result.verdict is V.Outcome.NOT_AUTHENTIC
