"""Field tools of ``chipid read``: ``--save-files DIR`` and ``--diagnose FILE`` (the support bundle).

The bundle test reads the whole bundle back and looks for every personal value of the card in
every encoding we could think of, for the secure-messaging session keys and for every APDU
payload seen on the wire (both captured by spying on the real objects, not by replacing them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from drivers.emulator.personalise import make_chip
from drivers.emulator.profile import load_profile
from drivers.emulator.transport import EmulatorTransport
from verifier.cccd.dg13 import parse_dg13
from verifier.cli import cli
from verifier.icao.lds.dg1 import parse_dg1
from verifier.icao.lds.dg2 import parse_dg2
from verifier.icao.sm import SecureMessaging
from verifier.scan import DEMO_CARD_DIR

REPO = Path(__file__).resolve().parents[2]
READ_FINE = (0, 2, 3)  # authentic, not authentic, unverified: the card was read (the verdict is not these tests' business)


def _read(*args: str):
    return CliRunner().invoke(cli, ["read", "--reader", "emulator", *args])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- --save-files -----------------------------------------------------------------------------

def test_save_files_writes_every_file_exactly_as_read_privately(tmp_path):
    out = tmp_path / "dump" / "card"
    result = _read("--json", "--save-files", str(out))
    assert result.exit_code in READ_FINE, result.output
    read = json.loads(result.stdout)
    names = {"CardAccess": "EF.CardAccess.bin", "COM": "EF.COM.bin", "SOD": "EF.SOD.bin"}
    expected = {names.get(n, f"{n}.bin"): meta for n, meta in read["files"].items()}
    assert {"EF.CardAccess.bin", "EF.COM.bin", "EF.SOD.bin", "DG1.bin", "DG2.bin", "DG13.bin"} <= set(expected)
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # nothing else (no temporary file left)
    for name, meta in expected.items():
        data = (out / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (meta["size"], meta["sha256"]), name
        assert _mode(out / name) == 0o600, name
    assert _mode(out) == 0o700
    assert "saved" in result.stderr and "personal data" in result.stderr and "dữ liệu cá nhân" in result.stderr
    # the saved DG1 is the demo citizen's
    assert parse_dg1((out / "DG1.bin").read_bytes()).mrz.optional_data.startswith(load_profile(DEMO_CARD_DIR).id_number)


def test_save_files_help_warns_it_is_personal_data():
    text = " ".join(CliRunner().invoke(cli, ["read", "--help"]).output.split())
    assert "--save-files" in text and "PERSONAL DATA" in text and "Decree 13/2023" in text
    assert "Nghị định 13/2023" in text and "--diagnose" in text


def test_save_files_on_a_failed_read_saves_nothing_and_says_so(tmp_path):
    out = tmp_path / "dump"
    result = _read("--can", "111111", "--save-files", str(out))
    assert result.exit_code == 1
    assert "no file saved" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_save_files_into_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _read("--save-files", str(blocker / "sub"))
    assert result.exit_code == 1
    assert "could not be saved" in result.stderr and "Traceback" not in result.output
    assert not isinstance(result.exception, OSError)


# --- --diagnose -----------------------------------------------------------------------------

def _secrets(profile, files: dict[str, bytes]) -> list[str]:
    """Every personal value of the card, in the encodings a bundle could carry it."""
    dg1 = parse_dg1(files["DG1"]).mrz
    dg13 = parse_dg13(files["DG13"])
    photo = parse_dg2(files["DG2"]).faces[0].image
    values = [profile.id_number, profile.id_number[-9:], profile.id_number[-6:], profile.full_name,
              profile.old_id_number, profile.place_of_residence, profile.place_of_origin,
              profile.personal_identification, profile.father_name, profile.mother_name,
              dg1.document_number, dg1.optional_data, dg1.primary_identifier, dg1.secondary_identifier]
    values += dg1.lines + [dg1.raw.replace("\n", "")]
    values += [t for t in dg13.texts.values() if len(t) >= 4]
    for d in (profile.date_of_birth, profile.date_of_expiry, profile.date_of_issue):
        values += [d.strftime(f) for f in ("%y%m%d", "%d/%m/%Y", "%Y-%m-%d", "%d%m%Y", "%Y%m%d")]
    out = []
    for v in filter(None, values):
        b = v.encode("utf-8")
        out += [v, v.upper(), b.hex(), b.hex().upper(), base64.b64encode(b).decode(),
                json.dumps(v)[1:-1]]  # as json.dumps would escape it without ensure_ascii=False
    for name in ("DG1", "DG2", "DG13"):
        raw = files[name]
        out += [raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(), hashlib.sha256(raw).hexdigest()]
        out += [raw[16:48].hex(), raw[16:48].hex().upper()]
    middle = photo[len(photo) // 2: len(photo) // 2 + 48]
    out += [middle.hex(), middle.hex().upper()] + [base64.b64encode(middle[i:i + 45]).decode() for i in range(3)]
    return out


@pytest.fixture
def spied(monkeypatch):
    """Records the secure-messaging keys and every APDU payload of the emulated card (spies, the real code runs)."""
    seen = {"keys": [], "payloads": []}
    real_init, real_transmit = SecureMessaging.__init__, EmulatorTransport.transmit

    def init(self, ks_enc, ks_mac, *args, **kwargs):
        seen["keys"] += [bytes(ks_enc), bytes(ks_mac)]
        real_init(self, ks_enc, ks_mac, *args, **kwargs)

    def transmit(self, apdu):
        rapdu = real_transmit(self, apdu)
        seen["payloads"] += [bytes(apdu[4:]), bytes(rapdu[:-2])]
        return rapdu

    monkeypatch.setattr(SecureMessaging, "__init__", init)
    monkeypatch.setattr(EmulatorTransport, "transmit", transmit)
    return seen


def test_diagnose_bundle_holds_what_support_needs_and_no_personal_data(tmp_path, spied):
    dump, bundle_path = tmp_path / "dump", tmp_path / "bundle.json"
    result = _read("--json", "--save-files", str(dump), "--diagnose", str(bundle_path))
    assert result.exit_code in READ_FINE, result.output
    read = json.loads(result.stdout)
    text = bundle_path.read_text(encoding="utf-8")
    bundle = json.loads(text)

    # what support needs
    assert bundle["format"] == "chipid-diagnose/1" and bundle["chipid_version"]
    assert bundle["reader"]["name"] == "emulator"
    assert bundle["result"] == "read" and bundle["verdict"] == read["verdict"]
    assert bundle["checks"] == {name: c["status"] for name, c in read["checks"].items()}
    assert bundle["access"] == {"protocol": "PACE", "key": "CAN",
                                "attempts": [{"protocol": "PACE", "key": "CAN", "outcome": "ok"}]}
    apdus = bundle["apdus"]
    assert len(apdus) == read["apdus"] == bundle["totals"]["apdus"]
    assert all(set(a) <= {"command", "header", "secure_messaging", "extended", "command_bytes", "phase", "ms",
                          "response_bytes", "sw", "file", "error"} for a in apdus)
    assert {a["command"] for a in apdus} >= {"SELECT", "READ BINARY", "MSE:SET AT", "GENERAL AUTHENTICATE"}
    assert {a["file"] for a in apdus if "file" in a} >= {"CardAccess", "COM", "SOD", "DG1", "DG2", "DG13"}
    assert {a["phase"] for a in apdus} == {"reading", "verifying"}
    assert all(len(a["header"]) == 8 and a["sw"] and a["ms"] >= 0 for a in apdus)
    files = {p.name.removeprefix("EF.").removesuffix(".bin"): p.read_bytes() for p in dump.iterdir()}
    part = bundle["files"]
    assert part["sizes"] == {n: m["size"] for n, m in read["files"].items()}
    assert bytes.fromhex(part["EF.CardAccess"]["hex"]) == files["CardAccess"]
    assert bytes.fromhex(part["EF.COM"]["hex"]) == files["COM"]
    assert part["EF.COM"]["data_groups"][:2] == ["DG1", "DG2"]
    sod = part["EF.SOD"]
    assert sod["hash_algorithm"] == "sha256" and "DG13" in sod["data_groups"]
    dsc = sod["document_signer"]
    assert "chipid DEMO Document Signer" in dsc["subject"] and dsc["curve"] and dsc["serial"]
    assert dsc["signature_algorithm"].startswith("ecdsa") and len(dsc["sha256"]) == 64 and dsc["not_after"]
    fields = [n["field"] for n in _nodes(part["DG13_structure"]) if "field" in n]
    assert fields[:12] == list(range(1, 13))
    assert all(set(n) <= {"tag", "length", "field", "children"} for n in _nodes(part["DG13_structure"]))

    # and nothing personal, no key, no payload
    profile = load_profile(DEMO_CARD_DIR)
    leaked = [s for s in _secrets(profile, files) if s in text]
    assert leaked == []
    assert len(spied["keys"]) >= 4
    keys = [k for k in spied["keys"] if k.hex() in text.lower() or base64.b64encode(k).decode() in text]
    assert keys == []
    card_access_hex = files["CardAccess"].hex()
    payloads = {p.hex() for p in spied["payloads"] if len(p) >= 8 and p.hex() not in card_access_hex}
    assert len(payloads) > 20
    assert [p for p in payloads if p in text.lower()] == []


def _nodes(node: dict):
    yield node
    for child in node.get("children", []):
        yield from _nodes(child)


def test_diagnose_after_a_refused_key_still_writes_the_failing_step(tmp_path, spied):
    bundle_path = tmp_path / "bundle.json"
    result = _read("--can", "111111", "--diagnose", str(bundle_path))
    assert result.exit_code == 1
    assert "diagnostic bundle written" in result.stderr
    text = bundle_path.read_text(encoding="utf-8")
    bundle = json.loads(text)
    assert bundle["result"] == "failed" and "verdict" not in bundle
    error = bundle["error"]
    assert error["code"] == "AccessDeniedError" and error["step"] == "access control"
    assert error["last_failed_apdu"] == {"command": "GENERAL AUTHENTICATE", "header": "00860000", "sw": "6300"}
    assert "kiểm tra lại" in error["hint"]
    assert bundle["apdus"][-1]["sw"] == "6300"
    for secret in ("111111", "313131313131", "MTExMTEx", "001234", load_profile(DEMO_CARD_DIR).id_number):
        assert secret not in text
    payloads = {p.hex() for p in spied["payloads"] if len(p) >= 8}
    assert payloads and [p for p in payloads if p in text.lower()] == []


def test_diagnose_with_a_bac_key_keeps_its_expiry_date_out(tmp_path):
    profile = load_profile(DEMO_CARD_DIR)
    bundle_path = tmp_path / "bundle.json"
    result = _read("--doc-number", profile.id_number[-9:], "--birth-date", profile.date_of_birth.strftime("%y%m%d"),
                   "--expiry-date", "290101", "--diagnose", str(bundle_path))
    assert result.exit_code == 1  # a wrong expiry: PACE and BAC with the MRZ key refused
    text = bundle_path.read_text(encoding="utf-8")
    bundle = json.loads(text)
    assert bundle["error"]["code"] == "AccessDeniedError"
    assert bundle["error"]["last_failed_apdu"]["command"] == "EXTERNAL AUTHENTICATE"  # BAC (ICAO 9303-11 §4.3)
    assert "MRZ key (date of expiry …)" in bundle["error"]["message"]
    for secret in ("290101", profile.id_number[-9:], profile.date_of_birth.strftime("%y%m%d")):
        assert secret not in text


def test_diagnose_when_no_reader_can_be_opened(tmp_path):
    bundle_path = tmp_path / "bundle.json"
    result = CliRunner().invoke(cli, ["read", "--reader", "pcsc:No Such Reader 99", "--can", "123456",
                                      "--diagnose", str(bundle_path)])
    assert result.exit_code == 1
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    assert bundle["result"] == "failed" and bundle["reader"] is None
    assert bundle["error"]["code"] in ("NoReaderError", "NoCardError")


@pytest.mark.pcsc
def test_diagnose_through_pcscd_and_vpcd_records_the_reader_and_atr(virtual_card, tmp_path):
    from drivers.vpcd import DEFAULT_ATR

    _, reader = virtual_card(make_chip(DEMO_CARD_DIR))
    config = tmp_path / "config.toml"
    config.write_text("[trust]\ndemo = true\n")
    bundle_path, dump = tmp_path / "bundle.json", tmp_path / "dump"
    proc = subprocess.run([sys.executable, "-m", "verifier.cli", "read", "--reader", f"pcsc:{reader}",
                           "--can", "001234", "--config", str(config), "--diagnose", str(bundle_path),
                           "--save-files", str(dump), "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode in READ_FINE, proc.stderr
    read = json.loads(proc.stdout)
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    assert bundle["reader"]["name"] == f"pcsc:{reader}"
    assert bundle["reader"]["atr"] == DEFAULT_ATR.hex().upper()
    assert bundle["verdict"] == read["verdict"] and bundle["demo"] is True
    assert bundle["checks"]["sod_signature"] == "passed"
    assert bundle["settings"]["trust.demo"] is True
    assert (dump / "EF.SOD.bin").read_bytes()[:1] == b"\x77" and _mode(dump) == 0o700


def test_dg13_structure_of_the_real_layout_names_fields_and_holds_no_value():
    """cccd/README.md's DG13 layout (version, UTF-8 OID, a SET of 16 numbered fields; 13 holds two
    SEQUENCEs, 14 and 15 may be the number alone), with invented values."""
    from verifier.diagnose import dg13_structure
    from verifier.icao import tlv

    def field(n: int, *values: bytes) -> bytes:
        return tlv.encode(0x30, tlv.encode(0x02, bytes([n])) + b"".join(values))

    values = {1: tlv.encode(0x13, b"001099012345"), 2: tlv.encode(0x0C, "Phạm Thị Hoa".encode()),
              3: tlv.encode(0x13, b"02/09/1999"), 12: tlv.encode(0x0C, "Không thời hạn".encode()),
              16: tlv.encode(0x13, b"0123456789ABCDEF")}
    fields = []
    for n in range(1, 17):
        if n == 13:
            fields.append(field(13, tlv.encode(0x30, tlv.encode(0x0C, "Phạm Văn Bố".encode())),
                                tlv.encode(0x30, tlv.encode(0x0C, "Lê Thị Mẹ".encode()))))
        else:
            fields.append(field(n, *([values[n]] if n in values else [])))
    dg13 = tlv.encode(0x6D, tlv.encode(0x30, tlv.encode(0x02, b"\x01") + tlv.encode(0x06, bytes.fromhex("28D316010008"))
                                       + tlv.encode(0x31, b"".join(fields))))
    shape = dg13_structure(dg13)
    text = json.dumps(shape, ensure_ascii=False)
    assert [n["field"] for n in _nodes(shape) if "field" in n] == list(range(1, 17))
    assert shape["tag"] == "6D" and shape["children"][0]["children"][2]["tag"] == "31"
    parents = next(n for n in _nodes(shape) if n.get("field") == 13)
    assert [c["tag"] for c in parents["children"]] == ["02", "30", "30"]
    assert next(n for n in _nodes(shape) if n.get("field") == 14) == {"tag": "30", "length": 3, "field": 14,
                                                                     "children": [{"tag": "02", "length": 1}]}
    for secret in ("001099012345", "Phạm", "02/09/1999", "Không", "0123456789ABCDEF", "28d316", "28D316"):
        assert secret not in text
    assert dg13_structure(dg13[:40]) == {"error": "TLVError"}  # a cut DG13: the error's class, no bytes


def test_redact_keeps_words_and_drops_numbers_and_hex():
    from verifier.diagnose import redact

    assert redact("PACE with MRZ key (date of expiry 300315) (key 1 of 2)") == \
        "PACE with MRZ key (date of expiry …) (key 1 of 2)"
    assert redact("DG13 field 2: value is not valid utf-8: c3a86e67") == "DG13 field 2: value is not valid utf-8: …"
    assert redact("MRZ IDVNM0900012345 of DG1") == "MRZ IDVNM… of DG1"
    assert redact("15/03/1990 and 079090001234") == "…/…/… and …"
