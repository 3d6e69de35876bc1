"""``chipid card make`` / ``chipid card show``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from drivers.emulator.personalise import personalise
from drivers.emulator.profile import load_profile
from verifier.cccd.dg13 import parse_dg13
from verifier.cli import cli
from verifier.icao.lds.dg2 import parse_dg2

REPO = Path(__file__).resolve().parents[2]
FACES = REPO.parent / "shared" / "data" / "faces"


def test_make_then_show_round_trip(tmp_path):
    out = tmp_path / "be"
    result = CliRunner().invoke(cli, [
        "card", "make", "--name", "Trần Thị Bé", "--id-number", "001195012345", "--birth-date", "1995-07-01",
        "--sex", "F", "--issue-date", "2022-01-10", "--photo", str(FACES / "grace_hopper.jpg"), "--out", str(out),
        "--father-name", "Trần Văn Hải", "--place-of-residence", "Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
    ])
    assert result.exit_code == 0, result.output
    p = load_profile(out)
    assert (p.full_name, p.sex, p.date_of_birth) == ("Trần Thị Bé", "F", dt.date(1995, 7, 1))
    assert p.date_of_expiry == dt.date(2035, 7, 1)  # issued at 26: renew at 40
    assert p.photo == (FACES / "grace_hopper.jpg").read_bytes()
    files = personalise(p)
    dg13 = parse_dg13(files["DG13"])
    assert dg13.father_name == "Trần Văn Hải" and dg13.mother_name is None and dg13.sex == "Nữ"
    assert parse_dg2(files["DG2"]).faces[0].image == p.photo

    shown = CliRunner().invoke(cli, ["card", "show", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "Trần Thị Bé" in shown.output and "IDVNM195012345" in shown.output and "SOD" not in shown.output
    assert "DG13" in shown.output


def test_make_no_expiry_and_png_photo(tmp_path):
    out = tmp_path / "old"
    result = CliRunner().invoke(cli, [
        "card", "make", "--name", "Lê Văn Cả", "--id-number", "001050012345", "--birth-date", "1950-01-01",
        "--sex", "M", "--expiry-date", "none", "--photo", str(FACES / "astronaut.png"), "--out", str(out),
        "--active-auth", "none", "--no-pace",
    ])
    assert result.exit_code == 0, result.output
    p = load_profile(out)
    assert p.date_of_expiry is None and p.photo[:2] == b"\xff\xd8" and p.photo_name == "photo.jpg"
    assert p.active_auth_key_pem is None and p.chip["pace"] is False
    assert set(personalise(p, sign=False)) == {"COM", "DG1", "DG2", "DG3", "DG13", "DG14"}  # DG3: EAC, as real cards


def test_make_warns_on_inconsistent_id_and_refuses_bad_input(tmp_path):
    runner = CliRunner()
    base = ["card", "make", "--name", "A B", "--birth-date", "1991-01-01", "--sex", "M", "--expiry-date",
            "2031-01-01", "--photo", str(FACES / "obama.jpg"), "--out", str(tmp_path / "x")]
    warned = runner.invoke(cli, base + ["--id-number", "079090001234"])
    assert warned.exit_code == 0 and "warning" in warned.output
    bad = runner.invoke(cli, base[:-2] + ["--out", str(tmp_path / "y"), "--id-number", "1234"])
    assert bad.exit_code != 0 and "12 digits" in bad.output
    no_expiry_info = runner.invoke(cli, ["card", "make", "--name", "A", "--id-number", "079090001234",
                                         "--birth-date", "1990-01-01", "--sex", "M", "--photo",
                                         str(FACES / "obama.jpg")])
    assert no_expiry_info.exit_code != 0 and "--issue-date" in no_expiry_info.output


def test_show_missing_directory_fails_cleanly(tmp_path):
    result = CliRunner().invoke(cli, ["card", "show", str(tmp_path)])
    assert result.exit_code != 0 and "cannot read" in result.output


def test_made_card_is_served_by_the_emulator_and_reads_authentic(tmp_path):
    import json

    out = tmp_path / "served"
    made = CliRunner().invoke(cli, [
        "card", "make", "--name", "Phạm Minh Châu", "--id-number", "048199001234", "--birth-date", "1999-02-28",
        "--sex", "F", "--issue-date", "2023-05-05", "--photo", str(FACES / "grace_hopper.jpg"), "--out", str(out),
    ])
    assert made.exit_code == 0, made.output
    read = CliRunner().invoke(cli, ["read", "--reader", "emulator", "--card", str(out), "--json",
                                    "--data-dir", str(tmp_path / "data")])
    assert read.exit_code == 0, read.output
    result = json.loads(read.stdout)
    assert result["verdict"] == "authentic" and result["demo"] is True
    assert result["holder"]["id_number"] == "048199001234"
    assert result["holder"]["full_name"] == "Phạm Minh Châu"
    assert result["holder"]["expiry_date"] == "2039-02-28"  # issued at 24: renew at 40
    assert result["face_image"]["format"] == "jpeg"
