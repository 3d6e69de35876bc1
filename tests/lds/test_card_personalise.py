"""Card profiles, personalisation of the emulated CCCD, and the demo card read back end to end."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from drivers.emulator.personalise import make_chip, mrz_information, mrz_text, personalise
from drivers.emulator.profile import (
    DEMO_CAMERA_PHOTO,
    DEMO_PROFILE_DIR,
    CardProfile,
    generate_keys,
    load_profile,
    save_profile,
)
from drivers.emulator.transport import EmulatorTransport

REPO = Path(__file__).resolve().parents[2]
from verifier.cccd.access import keys_from_can, keys_from_id, keys_from_qr
from verifier.cccd.dg13 import parse_dg13
from verifier.cccd.qr import expiry_for
from verifier.errors import AccessDeniedError, InputError
from verifier.icao.lds.com import parse_com
from verifier.icao.lds.dg1 import parse_dg1
from verifier.icao.lds.dg2 import parse_dg2
from verifier.icao.lds.dg14 import parse_dg14
from verifier.icao.lds.dg15 import parse_dg15
from verifier.icao.lds.image_headers import image_size
from verifier.trust.sod import parse_sod
from verifier.icao.session import ChipSession

QR = "079090001234|025123456|Nguyễn Văn An|15031990|Nam|123 Lê Lợi, Quận 1, TP. Hồ Chí Minh|20042021"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as tests/conftest.py's SHARED_DATA
REAL_CARD_ACCESS = bytes.fromhex((SHARED_DATA / "cccd" / "ef_cardaccess.hex").read_text().strip())
REAL_COM = bytes.fromhex((SHARED_DATA / "cccd" / "ef_com.hex").read_text().strip())


@pytest.fixture(scope="module")
def demo() -> CardProfile:
    return load_profile(DEMO_PROFILE_DIR)


@pytest.fixture(scope="module")
def demo_files(demo) -> dict[str, bytes]:
    return personalise(demo)


def test_demo_profile_is_a_consistent_synthetic_citizen(demo):
    assert demo.id_number == "079090001234"
    assert demo.full_name == "Nguyễn Văn An"
    assert demo.date_of_birth == dt.date(1990, 3, 15) and demo.sex == "M"
    assert demo.date_of_expiry == expiry_for(demo.date_of_birth, demo.date_of_issue)
    # the portrait as real CCCDs carry it: a JPEG, JFIF 1.01, 300 x 400, about 15 KB
    assert demo.photo[:4] == b"\xff\xd8\xff\xe0" and demo.photo[6:11] == b"JFIF\x00" and demo.photo[11:13] == b"\x01\x01"
    assert image_size(demo.photo) == (300, 400)
    assert 13_000 <= len(demo.photo) <= 17_000
    assert demo.chip["dg2_header_size"] == [480, 400]
    assert DEMO_CAMERA_PHOTO.read_bytes()[:2] == b"\xff\xd8"


def test_personalised_files_parse_back_to_the_profile(demo, demo_files):
    f = demo_files
    assert set(f) == {"CardAccess", "COM", "DG1", "DG2", "DG3", "DG13", "DG14", "DG15", "SOD"}
    assert parse_com(f["COM"]).dg_numbers == (1, 2, 3, 13, 15, 14)

    mrz = parse_dg1(f["DG1"]).mrz
    assert (mrz.format, mrz.document_code, mrz.issuing_state) == ("TD1", "ID", "VNM")
    assert mrz.document_number == "090001234"
    assert mrz.optional_data.startswith("079090001234")
    assert (mrz.date_of_birth, mrz.sex, mrz.date_of_expiry) == ("900315", "M", "300315")
    assert (mrz.primary_identifier, mrz.secondary_identifier) == ("NGUYEN", "VAN AN")
    assert mrz.valid

    face = parse_dg2(f["DG2"]).faces[0]
    assert face.image == demo.photo
    assert (face.format, face.width, face.height, face.gender) == ("jpeg", 300, 400, "male")
    assert (face.header_width, face.header_height) == (480, 400)  # the real cards' header quirk, kept visible

    dg13 = parse_dg13(f["DG13"])
    for name in ("id_number", "full_name", "date_of_birth", "nationality", "ethnicity", "religion", "place_of_origin",
                 "place_of_residence", "personal_identification", "date_of_issue", "date_of_expiry", "father_name",
                 "mother_name", "spouse_name", "old_id_number"):
        assert getattr(dg13, name) == getattr(demo, name), name
    assert dg13.sex == "Nam"

    infos = parse_dg14(f["DG14"]).security_infos
    assert infos.chip_auth and infos.chip_auth_keys and infos.pace and infos.active_auth is None


def test_card_access_and_com_equal_the_real_cards_bytes(demo_files):
    assert demo_files["CardAccess"] == REAL_CARD_ACCESS
    assert demo_files["COM"] == REAL_COM


def test_dg14_is_shaped_like_a_real_cccd(demo_files):
    from verifier.icao import chip_keys, curves
    from verifier.icao.lds.security_infos import parse_card_access

    infos = parse_dg14(demo_files["DG14"]).security_infos
    card_access = parse_card_access(REAL_CARD_ACCESS)
    assert infos.terminal_auth == card_access.terminal_auth
    assert infos.chip_auth == card_access.chip_auth and infos.chip_auth[0].key_id is None
    assert infos.pace == card_access.pace
    (key_info,) = infos.chip_auth_keys
    assert key_info.protocol == chip_keys.ID_PK_ECDH and key_info.key_id is None
    assert b"\x06\x07\x2a\x86\x48\xce\x3d\x01\x01" in key_info.public_key  # prime-field: explicit parameters
    key = chip_keys.parse_public_key(key_info.public_key)
    assert key.curve == curves.CURVES["brainpoolP256r1"] and key.curve.h == 1


def test_dg15_is_rsa_2048(demo_files):
    from verifier.icao import chip_keys

    key = chip_keys.parse_public_key(parse_dg15(demo_files["DG15"]).public_key_info)
    assert isinstance(key, chip_keys.RSAPublicKey) and key.bits == 2048 and key.e == 65537


def test_sod_is_shaped_like_a_real_cccd(demo_files):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from drivers.emulator.pki import load_demo

    sod = parse_sod(demo_files["SOD"])
    assert sod.signed_data_version == 3
    assert sod.lds_object_version == 0 and sod.lds_version is None  # v0: no LDSVersionInfo
    assert sod.hash_algorithm == "sha256"
    assert set(sod.dg_hashes) == {1, 2, 13, 14, 15}  # DG3 is listed in EF.COM but not hashed
    for n, digest in sod.dg_hashes.items():
        assert digest == hashlib.sha256(demo_files[f"DG{n}"]).digest()
    signer = sod.signer
    assert signer.version == 1 and signer.sid_kind == "issuer_and_serial_number"
    assert set(signer.attributes) == {"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.5", "1.2.840.113549.1.9.4"}
    assert signer.signature_algorithm == "1.2.840.10045.4.3.2"  # ecdsa-with-SHA256
    _csca, dsc, _key = load_demo()
    assert [dsc.public_bytes(serialization.Encoding.DER)] == list(sod.certificates)
    assert isinstance(dsc.public_key().curve, ec.BrainpoolP384R1)
    pkup = dsc.extensions.get_extension_for_class(x509.PrivateKeyUsagePeriod).value
    assert pkup.not_before <= signer.signing_time.replace(tzinfo=None) <= pkup.not_after  # signed while the key was in use


def test_demo_pki_is_shaped_like_the_real_cccd_signer():
    from cryptography import x509

    from drivers.emulator.pki import load_demo

    csca_der, dsc, _key = load_demo()
    csca = x509.load_der_x509_certificate(csca_der)
    assert "DEMO" in csca.subject.rfc4514_string() and "DEMO" in dsc.subject.rfc4514_string()
    assert dsc.issuer == csca.subject
    assert (REPO / "verifier" / "trust" / "data" / "DEMO_CSCA.der").read_bytes() == csca_der
    pkup = dsc.extensions.get_extension_for_class(x509.PrivateKeyUsagePeriod).value
    assert (pkup.not_after - pkup.not_before).days == 90  # three months, as the real DSC 00013
    assert dsc.not_valid_before_utc.replace(tzinfo=None) == pkup.not_before
    assert 22 * 365 <= (dsc.not_valid_after_utc.replace(tzinfo=None) - pkup.not_after).days <= 22 * 366
    assert csca.not_valid_before_utc <= dsc.not_valid_before_utc
    ku = dsc.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
    for kind in (x509.AuthorityKeyIdentifier, x509.SubjectKeyIdentifier, x509.CRLDistributionPoints,
                 x509.AuthorityInformationAccess, x509.BasicConstraints):
        assert dsc.extensions.get_extension_for_class(kind)
    assert ".invalid/" in str(dsc.extensions.get_extension_for_class(x509.CRLDistributionPoints).value)


@pytest.mark.parametrize("policy, keys", [
    ("pace-then-bac", keys_from_qr(QR).keys),
    ("bac", keys_from_qr(QR).keys),
    ("pace", keys_from_can("001234").keys),
    ("pace-then-bac", keys_from_id("079090001234", "900315", "300315").keys),
])
def test_demo_chip_reads_back_end_to_end(demo, demo_files, policy, keys):
    chip = make_chip(demo)
    with ChipSession(EmulatorTransport(chip), keys, policy=policy) as session:
        read = session.read_all()
    assert read.not_readable == {}
    for name in ("COM", "DG1", "DG2", "DG13", "DG14", "DG15"):
        assert read.files[name] == demo_files[name], name
    assert parse_sod(read.files["SOD"]).dg_hashes[2] == hashlib.sha256(read.files["DG2"]).digest()
    assert parse_dg13(read.files["DG13"]).full_name == "Nguyễn Văn An"


def test_dg3_is_eac_protected_and_dg11_absent_as_on_real_cards(demo):
    from verifier.errors import StatusWordError

    chip = make_chip(demo)
    with ChipSession(EmulatorTransport(chip), keys_from_can("001234").keys, policy="pace") as session:
        read = session.read_all(("COM", "DG3", "DG11", "DG1"))
        assert {"COM", "DG1"} <= set(read.files) and "DG3" not in read.files
        assert set(read.not_readable) == {"DG3", "DG11"}
        with pytest.raises(StatusWordError) as e:
            session.read_file("DG3")
        assert e.value.sw == 0x6982
        with pytest.raises(StatusWordError) as e:
            session.read_file("DG11")
        assert e.value.sw == 0x6A82


def test_wrong_key_is_refused(demo):
    chip = make_chip(demo)
    wrong = keys_from_id("079090001234", "900316", "300315").keys[:1]
    with pytest.raises(AccessDeniedError):
        ChipSession(EmulatorTransport(chip), wrong, policy="bac").open()


@pytest.mark.parametrize("clone", [False, True])
def test_chip_and_active_authentication_genuine_and_clone(demo, clone):
    from verifier.errors import ChipError
    from verifier.icao.active_auth import perform_active_authentication
    from verifier.icao.chip_auth import perform_chip_authentication

    chip = make_chip(demo, clone=clone)
    with ChipSession(EmulatorTransport(chip), keys_from_can("001234").keys, policy="pace") as session:
        read = session.read_all()
        dg14, dg15 = parse_dg14(read.files["DG14"]), parse_dg15(read.files["DG15"])
        assert perform_active_authentication(session, dg15, dg14).valid is (not clone)
        session.replace_sm(perform_chip_authentication(session, dg14))
        if clone:
            with pytest.raises(ChipError):
                session.read_file("DG1")
        else:
            assert session.read_file("DG1") == read.files["DG1"]


def test_tampered_file_is_served_but_no_longer_matches_the_sod(demo, demo_files):
    fake = bytearray(demo_files["DG13"])
    fake[-1] ^= 1
    chip = make_chip(demo, replace_files={"DG13": bytes(fake)})
    with ChipSession(EmulatorTransport(chip), keys_from_can("001234").keys, policy="pace") as session:
        got = session.read_file("DG13")
    assert got == bytes(fake)
    assert parse_sod(demo_files["SOD"]).dg_hashes[13] != hashlib.sha256(got).digest()


def test_card_without_expiry(demo, tmp_path):
    old = replace(demo, id_number="079060001234", date_of_birth=dt.date(1960, 3, 15),
                  date_of_issue=dt.date(2019, 2, 1), date_of_expiry=None)
    text = mrz_text(old)
    assert text.split("\n")[1][8:15] == "<<<<<<0"
    mrz = parse_dg1(personalise(old, sign=False)["DG1"]).mrz
    assert mrz.valid and mrz.date_of_expiry == "<<<<<<"
    assert mrz_information(old).endswith("<<<<<<0")
    dg13 = parse_dg13(personalise(old, sign=False)["DG13"])
    assert dg13.no_expiry and dg13.texts[12] == "Không thời hạn"
    chip = make_chip(old, sign=False)
    keys = keys_from_qr("079060001234|025123456|Nguyễn Văn An|15031960|Nam|x|01022019").keys
    with ChipSession(EmulatorTransport(chip), keys, policy="pace") as session:
        assert session.read_file("DG1") == personalise(old, sign=False)["DG1"]


def test_39794_portrait(demo):
    face = parse_dg2(personalise(demo, dg2_standard="39794-5", sign=False)["DG2"]).faces[0]
    assert face.standard == "39794-5" and face.image == demo.photo and (face.width, face.height) == (300, 400)


def test_bac_only_chip_has_no_card_access(demo):
    files = personalise(replace(demo, chip={**demo.chip, "pace": False}), sign=False)
    assert "CardAccess" not in files
    assert not parse_dg14(files["DG14"]).security_infos.pace


def test_save_load_round_trip(demo, tmp_path):
    path = save_profile(demo, tmp_path / "copy")
    again = load_profile(path)
    assert again == demo
    doc = json.loads((path / "profile.json").read_text(encoding="utf-8"))
    assert doc["citizen"]["full_name"] == "Nguyễn Văn An" and doc["signer"] is None


def test_no_expiry_is_saved_as_none(demo, tmp_path):
    p = replace(demo, date_of_expiry=None)
    path = save_profile(p, tmp_path / "ne")
    assert json.loads((path / "profile.json").read_text(encoding="utf-8"))["citizen"]["date_of_expiry"] == "none"
    assert load_profile(path).date_of_expiry is None


def test_own_signer_is_used(demo, tmp_path):
    from cryptography.hazmat.primitives import serialization

    from drivers.emulator import pki

    csca = pki.make_csca("VN")
    dsc = pki.make_dsc(csca)
    cert_pem = dsc.cert.public_bytes(serialization.Encoding.PEM)
    key_pem = dsc.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    own = load_profile(save_profile(replace(demo, dsc_cert_pem=cert_pem, dsc_key_pem=key_pem), tmp_path / "own"))
    sod = parse_sod(personalise(own)["SOD"])
    assert dsc.cert.public_bytes(serialization.Encoding.DER) in sod.certificates


def test_generate_keys_fills_missing_keys(demo):
    bare = replace(demo, chip_auth_key_pem=None, active_auth_key_pem=None)
    keyed = generate_keys(bare, chip_auth_curve="secp256r1", active_auth="rsa")
    assert b"PRIVATE KEY" in keyed.chip_auth_key_pem and b"PRIVATE KEY" in keyed.active_auth_key_pem
    files = personalise(keyed, sign=False)
    assert parse_dg14(files["DG14"]).security_infos.active_auth is None  # RSA AA: no ActiveAuthenticationInfo
    assert "DG15" in files


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("format"), "not a chipid-card-profile"),
    (lambda d: d["citizen"].update(id_number="12345"), "12 digits"),
    (lambda d: d["citizen"].update(sex="X"), "sex must be M or F"),
    (lambda d: d["citizen"].update(date_of_birth="15/03/1990"), "YYYY-MM-DD"),
    (lambda d: d.update(photo="missing.jpg"), "cannot read photo"),
    (lambda d: d["keys"].update(chip_auth="nope.pem"), "chip authentication key"),
])
def test_bad_profiles_are_input_errors(demo, tmp_path, mutate, message):
    path = save_profile(demo, tmp_path / "bad")
    doc = json.loads((path / "profile.json").read_text(encoding="utf-8"))
    mutate(doc)
    (path / "profile.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_profile(path)


def test_missing_or_broken_profile_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_profile(tmp_path)
    (tmp_path / "profile.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_profile(tmp_path)


def test_bad_key_pem_is_an_input_error(demo):
    with pytest.raises(InputError, match="PEM"):
        personalise(replace(demo, chip_auth_key_pem=b"-----BEGIN nonsense"), sign=False)
