"""``chipid trust import / list / remove`` through click's CliRunner, with a temporary data directory."""

from __future__ import annotations

import json

from click.testing import CliRunner

from drivers.emulator import pki as p
from verifier.commands.trust import trust


def invoke(*args):
    return CliRunner().invoke(trust, list(map(str, args)), catch_exceptions=False)


def test_import_list_remove(tmp_path, pki):
    csca = tmp_path / "csca.der"
    csca.write_bytes(pki.csca.der)
    crl = tmp_path / "vn.crl"
    crl.write_bytes(p.make_crl(pki.csca, revoked=[pki.dsc]))
    r = invoke("import", crl, csca, "--data-dir", tmp_path / "data")
    assert r.exit_code == 0, r.output
    assert "CSCA" in r.output and "CRL" in r.output
    r = invoke("list", "--country", "VN", "--json", "--data-dir", tmp_path / "data")
    assert r.exit_code == 0, r.output
    listed = json.loads(r.output)
    subjects = [c["subject"] for c in listed["certificates"]]
    assert any("chipid DEMO CSCA test" in s for s in subjects)
    assert any("Vietnam" in s for s in subjects)  # the shipped VN CSCA
    vn = next(c for c in listed["certificates"] if "Vietnam" in c["subject"])
    assert vn["curve"] == "brainpoolP512r1" and vn["key_algorithm"] == "ec"
    assert listed["crls"][0]["revoked"] == 1
    mine = next(c for c in listed["certificates"] if "chipid DEMO CSCA test" in c["subject"])
    r = invoke("remove", mine["sha256"], "--data-dir", tmp_path / "data")
    assert r.exit_code == 0, r.output
    r = invoke("list", "--country", "VN", "--json", "--data-dir", tmp_path / "data")
    assert not any("chipid DEMO CSCA test" in c["subject"] for c in json.loads(r.output)["certificates"])
    r = invoke("remove", vn["sha256"], "--data-dir", tmp_path / "data")
    assert "distrusted" in r.output
    r = invoke("list", "--country", "VN", "--data-dir", tmp_path / "data")
    assert "Vietnam" not in r.output


def test_import_refuses_a_dsc_and_a_bad_crl(tmp_path, pki):
    dsc = tmp_path / "dsc.der"
    dsc.write_bytes(pki.dsc.der)
    r = CliRunner().invoke(trust, ["import", str(dsc), "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "not a CSCA" in r.output
    crl = tmp_path / "bad.crl"
    crl.write_bytes(p.make_crl(pki.csca, signing_key=p.new_key("secp256r1")))
    r = CliRunner().invoke(trust, ["import", str(crl), "--data-dir", str(tmp_path)])
    assert r.exit_code == 1


def test_import_master_list_with_root(tmp_path):
    from .conftest import ML_FILE, ML_ROOT_FILE

    r = invoke("import", ML_FILE, "--root", ML_ROOT_FILE, "--data-dir", tmp_path)
    assert r.exit_code == 0, r.output
    assert "588 CSCA" in r.output
