"""``chipid sod verify`` through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from drivers.emulator import pki as p
from verifier.commands.sod import sod
from verifier.trust.certs import load_certificate

from .conftest import ML_FILE, ML_ROOT_FILE


def invoke(*args):
    return CliRunner().invoke(sod, ["verify", *map(str, args)], catch_exceptions=False)


@pytest.mark.parametrize("label", ["DE", "FR", "MY", "US"])
def test_real_sods_with_default_trust(tmp_path, real_sods, label):
    case = next(c for c in real_sods if c["label"] == label)
    f = tmp_path / "EF.SOD"
    f.write_bytes(bytes.fromhex(case["sod"]))
    r = invoke(f, "--json", "--at", "2026-06-01T00:00:00")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["signature"] == "valid"
    assert out["dsc"]["sha256"] == load_certificate(bytes.fromhex(case["dsc"])).sha256
    assert out["csca"]["sha256"] == load_certificate(bytes.fromhex(case["csca"])).sha256
    assert out["dg_hashes"]["1"] == case["dg1_hash"] and out["dg_hashes"]["2"] == case["dg2_hash"]
    assert out["hash_algorithm"] in ("sha256", "sha384")
    assert out["checks"]["dsc_chain"]["status"] == "passed"
    assert out["verdict"] in ("authentic", "unverified")


def test_explicit_trust_files_and_wrong_trust(tmp_path, real_sods):
    f = tmp_path / "EF.SOD"
    f.write_bytes(bytes.fromhex(real_sods[1]["sod"]))
    r = invoke(f, "--json", "--trust", ML_ROOT_FILE, "--trust", ML_FILE, "--at", "2026-06-01T00:00:00")
    assert r.exit_code == 0, r.output
    other = tmp_path / "other.der"
    other.write_bytes(p.make_csca("FR", "secp256r1", "not France").der)
    r = invoke(f, "--json", "--trust", other, "--at", "2026-06-01T00:00:00")
    assert r.exit_code == 2
    out = json.loads(r.output)
    assert out["signature"] == "valid" and out["csca"] is None
    assert out["checks"]["dsc_chain"]["status"] == "not_performed"  # France's CSCA is not installed: unproven, not fake
    assert "not installed" in out["checks"]["dsc_chain"]["reason"]


def test_data_groups_tampered_and_good(tmp_path, pki):
    sod_file = tmp_path / "sod.bin"
    sod_file.write_bytes(p.build_sod(pki.dgs, pki.dsc.key, pki.dsc))
    csca = tmp_path / "csca.der"
    csca.write_bytes(pki.csca.der)
    args = []
    for n, raw in pki.dgs.items():
        (tmp_path / f"dg{n}").write_bytes(raw)
        args += ["--dg", f"{n}={tmp_path / f'dg{n}'}"]
    r = invoke(sod_file, "--trust", csca, *args, "--json", "--mrz-state", "VNM", "--com", "1,2,13,14,15")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["checks"]["dg_hash_13"]["status"] == "passed"
    assert out["checks"]["sod_signature"]["reason_vi"] == "Chữ ký số của dữ liệu chip hợp lệ"
    (tmp_path / "dg2").write_bytes(pki.dgs[2] + b"x")
    r = invoke(sod_file, "--trust", csca, *args, "--json")
    assert r.exit_code == 2
    out = json.loads(r.output)
    assert out["checks"]["dg_hash_2"]["status"] == "failed"
    assert out["verdict"] == "not_authentic"


def test_invalid_signature_exit_2(tmp_path, pki):
    f = tmp_path / "sod.bin"
    f.write_bytes(p.build_sod(pki.dgs, pki.dsc.key, pki.dsc, flip_signature_bit=True))
    csca = tmp_path / "csca.der"
    csca.write_bytes(pki.csca.der)
    r = invoke(f, "--trust", csca, "--json")
    assert r.exit_code == 2
    assert json.loads(r.output)["signature"] == "invalid"


def test_unusable_input_exit_1(tmp_path):
    f = tmp_path / "junk"
    f.write_bytes(b"\x77\x03\x30\x01")
    r = invoke(f)
    assert r.exit_code == 1
    assert "Error" in r.output
    r = CliRunner().invoke(sod, ["verify", str(f), "--dg", "x=y"])
    assert r.exit_code != 0


def test_text_output(tmp_path, real_sods):
    f = tmp_path / "EF.SOD"
    f.write_bytes(bytes.fromhex(real_sods[0]["sod"]))
    r = invoke(f, "--at", "2026-06-01T00:00:00", "--mrz-state", "D")
    assert r.exit_code == 0
    assert "signature: valid" in r.output and "csca-germany" in r.output


def test_registered_in_the_chipid_cli():
    from verifier.cli import _COMMANDS

    assert ("verifier.commands.sod", "sod") in _COMMANDS
    assert ("verifier.commands.trust", "trust") in _COMMANDS
