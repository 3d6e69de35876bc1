"""``chipid lds show``: any LDS file, by its tag, as a table or JSON; real bytes from ../shared/data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from drivers.emulator.profile import load_profile
from verifier.cli import cli
from verifier.errors import ChipidError
from verifier.icao import tlv
from verifier.lds_summary import decode_dump, summarise
from verifier.scan import DEMO_CARD_DIR
from verifier.trust.certs import load_certificate

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as tests/conftest.py's SHARED_DATA
CARD_ACCESS_HEX = SHARED_DATA / "cccd" / "ef_cardaccess.hex"
COM_HEX = SHARED_DATA / "cccd" / "ef_com.hex"
FACE_RECORD = SHARED_DATA / "dg2" / "iso19794-5_sample.bin"
REAL_SODS = json.loads((SHARED_DATA / "sod" / "real_sods.json").read_text())


def _show(*args):
    return CliRunner().invoke(cli, ["lds", "show", *map(str, args)])


def _show_json(*paths) -> list[dict]:
    result = _show("--json", *paths)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _dg2_of(record: bytes) -> bytes:
    """The real 19794-5 record wrapped as DG2 (ICAO 9303-10 §4.7.2: 75 { 7F61 { 02 count, 7F60 { A1 BHT, 5F2E BDB } } })."""
    bht = tlv.encode(0xA1, tlv.encode(0x80, b"\x01\x01") + tlv.encode(0x81, b"\x02") + tlv.encode(0x87, b"\x01\x01")
                     + tlv.encode(0x88, b"\x00\x08"))
    return tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01")
                                       + tlv.encode(0x7F60, bht + tlv.encode(0x5F2E, record))))


def test_real_cccd_card_access_and_com_from_hex_dumps():
    card_access, com = _show_json(CARD_ACCESS_HEX, COM_HEX)
    assert (card_access["file"], card_access["tag"], card_access["size"]) == ("EF.CardAccess", "31", 54)
    infos = card_access["fields"]["security_infos"]
    by_name = {i["protocol_name"]: i for i in infos}
    # cccd/README.md: TA v1; CA id-CA-ECDH-AES-CBC-CMAC-128 v1 without keyId; PACE ECDH-GM AES-128 v2, parameterId 13
    assert set(by_name) == {"id-TA", "id-CA-ECDH-AES-CBC-CMAC-128", "id-PACE-ECDH-GM-AES-CBC-CMAC-128"}
    assert by_name["id-PACE-ECDH-GM-AES-CBC-CMAC-128"]["parameter_id"] == 13
    assert by_name["id-PACE-ECDH-GM-AES-CBC-CMAC-128"]["version"] == 2
    assert by_name["id-CA-ECDH-AES-CBC-CMAC-128"]["version"] == 1
    assert by_name["id-CA-ECDH-AES-CBC-CMAC-128"]["key_id"] is None
    assert com["file"] == "EF.COM"
    assert com["fields"]["lds_version"] == "1.7" and com["fields"]["unicode_version"] == "4.0.0"
    assert com["fields"]["data_groups"] == ["DG1", "DG2", "DG3", "DG13", "DG15", "DG14"]
    raw = bytes.fromhex(COM_HEX.read_text().strip())
    assert com["sha256"] == hashlib.sha256(raw).hexdigest()  # the bytes the hex spells, not the text


def test_hex_and_binary_of_the_same_file_show_the_same(tmp_path):
    raw = bytes.fromhex(CARD_ACCESS_HEX.read_text().strip())
    (tmp_path / "ca.bin").write_bytes(raw)
    spaced = " ".join(raw[i:i + 16].hex(":").upper() for i in range(0, len(raw), 16))
    (tmp_path / "ca.txt").write_text(spaced + "\n")
    (tmp_path / "ca0x.txt").write_text("0x" + raw.hex())
    shown = _show_json(tmp_path / "ca.bin", tmp_path / "ca.txt", tmp_path / "ca0x.txt")
    assert len({json.dumps(s["fields"], sort_keys=True) for s in shown}) == 1
    assert {s["sha256"] for s in shown} == {hashlib.sha256(raw).hexdigest()}


@pytest.mark.parametrize("sample", REAL_SODS, ids=[s["label"] for s in REAL_SODS])
def test_real_sods(tmp_path, sample):
    raw = bytes.fromhex(sample["sod"])
    (tmp_path / "EF.SOD.bin").write_bytes(raw)
    (tmp_path / "sod.hex").write_text(sample["sod"])
    binary, text = _show_json(tmp_path / "EF.SOD.bin", tmp_path / "sod.hex")
    assert binary["fields"] == text["fields"]
    fields = binary["fields"]
    assert binary["file"] == "EF.SOD" and binary["tag"] == "77"
    assert fields["dg_hashes"]["DG1"] == sample["dg1_hash"].lower()
    assert fields["dg_hashes"]["DG2"] == sample["dg2_hash"].lower()
    assert (fields["lds_version"] or "", fields["unicode_version"] or "") == (sample["lds_version"],
                                                                             sample["unicode_version"])
    signers = [c for c in fields["certificates"] if c["signer"]]
    assert len(signers) == 1
    assert signers[0]["sha256"] == load_certificate(bytes.fromhex(sample["dsc"])).sha256
    assert signers[0]["country"] == sample["country"]
    assert fields["signer"]["signature_algorithm"] and fields["signer"]["digest_algorithm"] in ("sha256", "sha384",
                                                                                                "sha512")
    table = _show(tmp_path / "EF.SOD.bin")
    assert table.exit_code == 0 and "dg_hashes.DG1" in table.stdout and signers[0]["subject"] in table.stdout


def test_real_face_record_bare_and_as_dg2(tmp_path):
    record = FACE_RECORD.read_bytes()
    (tmp_path / "DG2.bin").write_bytes(_dg2_of(record))
    bare, dg2 = _show_json(FACE_RECORD, tmp_path / "DG2.bin")
    jpeg = (SHARED_DATA / "dg2" / "iso19794-5_sample_face.jpg").read_bytes()
    assert bare["file"] == "ISO/IEC 19794-5 face record" and dg2["file"] == "DG2" and dg2["tag"] == "75"
    for shown in (bare, dg2):
        face, = shown["fields"]["faces"]
        assert face["image_sha256"] == hashlib.sha256(jpeg).hexdigest() and face["image_bytes"] == len(jpeg)
        assert face["format"] == "jpeg" and face["standard"] == "19794-5"
        assert "image" not in face  # the photo is named by its hash, never dumped
    assert dg2["fields"]["biometric_header"]["88"] == "0008"


def test_files_saved_by_read_are_shown(tmp_path):
    out = tmp_path / "card"
    read = CliRunner().invoke(cli, ["read", "--reader", "emulator", "--json", "--save-files", str(out)])
    assert read.exit_code in (0, 2, 3), read.output
    result = json.loads(read.stdout)
    shown = {s["file"]: s for s in _show_json(*sorted(out.iterdir()))}
    assert {"EF.CardAccess", "EF.COM", "EF.SOD", "DG1", "DG2", "DG13", "DG14"} <= set(shown)
    profile = load_profile(DEMO_CARD_DIR)
    # DG13: whatever parse_dg13 gives, field by field
    assert shown["DG13"]["fields"]["id_number"] == profile.id_number
    assert shown["DG13"]["fields"]["full_name"] == profile.full_name
    assert shown["DG13"]["fields"]["date_of_birth"] == profile.date_of_birth.isoformat()
    assert shown["DG1"]["fields"]["document_number"] == profile.id_number[-9:]
    assert len(shown["DG1"]["fields"]["mrz"]) == 3
    assert shown["DG2"]["fields"]["faces"][0]["image_sha256"] == result["face_image"]["sha256"]
    # the SOD lists the hash of every data group saved next to it
    for name in ("DG1", "DG2", "DG13", "DG14"):
        assert shown["EF.SOD"]["fields"]["dg_hashes"][name] == shown[name]["sha256"]
    assert any(i["kind"] == "ChipAuthenticationPublicKeyInfo" and i["key"].startswith("EC ")
               for i in shown["DG14"]["fields"]["security_infos"])
    table = _show(out / "DG13.bin")
    assert table.exit_code == 0 and profile.full_name in table.stdout and "full_name" in table.stdout


def test_unknown_and_malformed_files_are_clear_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "empty.bin").write_bytes(b"")
    sod = bytes.fromhex(REAL_SODS[0]["sod"])
    (tmp_path / "cut.sod").write_bytes(sod[: len(sod) // 2])
    (tmp_path / "com.hex").write_text(COM_HEX.read_text())
    result = _show(tmp_path / "notes.txt", tmp_path / "empty.bin", tmp_path / "cut.sod", tmp_path / "com.hex")
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err = result.stderr
    assert f"{tmp_path / 'notes.txt'}:" in err and "first byte 68: expected an LDS file starting with tag 31" in err
    assert f"{tmp_path / 'empty.bin'}:" in err and "empty" in err
    assert f"{tmp_path / 'cut.sod'}:" in err and "not a valid EF.SOD" in err
    assert "không phải tệp LDS hợp lệ" in err
    assert "EF.COM" in result.stdout  # the good file is still shown


def test_missing_file_is_a_usage_error(tmp_path):
    result = _show(tmp_path / "nope.bin")
    assert result.exit_code == 2 and "does not exist" in result.output


def _real_files() -> dict[str, bytes]:
    from drivers.emulator.personalise import personalise

    files = {f"emulated {k}": v for k, v in personalise(load_profile(DEMO_CARD_DIR)).items()}
    files["EF.CardAccess"] = decode_dump(CARD_ACCESS_HEX.read_bytes())
    files["EF.COM"] = decode_dump(COM_HEX.read_bytes())
    files["SOD DE"] = bytes.fromhex(REAL_SODS[0]["sod"])
    files["DG2"] = _dg2_of(FACE_RECORD.read_bytes())
    return files


def test_truncated_or_corrupted_files_raise_only_project_errors():
    """Hostile input: a cut or a flipped byte anywhere gives a ChipidError (or still parses), never a foreign exception."""
    for name, raw in _real_files().items():
        if raw[:1] not in (b"\x31", b"\x60", b"\x77", b"\x61", b"\x75", b"\x6d", b"\x6e", b"\x6f"):
            continue
        step = max(1, len(raw) // 23)
        variants = [raw[:n] for n in range(0, len(raw), step)]
        variants += [raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:] for i in range(1, len(raw), step)]
        for i, data in enumerate(variants):
            try:
                summarise(data)
            except ChipidError:
                pass
            except Exception as e:  # pragma: no cover - the failure message names the case
                pytest.fail(f"{name} variant {i}: {type(e).__name__}: {e}")
