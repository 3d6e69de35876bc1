"""``chipid face compare`` (two images, --pairs CSV) and ``chipid face capture``: output contract and exit codes."""

from __future__ import annotations

import json

import cv2
import pytest
from click.testing import CliRunner

from verifier.cli import cli

FIELDS = {"decision", "distance", "score", "reasons", "elapsed_ms"}


@pytest.fixture(scope="module")
def runner(models):  # models: loaded once for the session, the CLI reuses them
    return CliRunner()


def test_compare_two_images_json(runner, faces_dir):
    res = runner.invoke(cli, ["face", "compare", str(faces_dir / "obama.jpg"), str(faces_dir / "obama2.jpg"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert FIELDS <= set(out) and out["decision"] == "match" and 0 < out["distance"] < 0.45


def test_compare_human_output(runner, faces_dir):
    res = runner.invoke(cli, ["face", "compare", str(faces_dir / "obama.jpg"), str(faces_dir / "biden.jpg")])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("no_match") and "Không phải cùng một người" in res.stdout


def test_compare_missing_or_unreadable_file_says_which(runner, faces_dir, tmp_path):
    res = runner.invoke(cli, ["face", "compare", str(faces_dir / "obama.jpg"), str(tmp_path / "nope.jpg")])
    assert res.exit_code == 1 and "nope.jpg: no such file" in res.output
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((faces_dir / "obama.jpg").read_bytes()[:5000])
    res = runner.invoke(cli, ["face", "compare", str(broken), str(faces_dir / "obama.jpg"), "--json"])
    assert res.exit_code == 1 and "broken.jpg: corrupt or truncated JPEG" in res.output


def test_compare_usage_errors(runner, faces_dir):
    assert runner.invoke(cli, ["face", "compare", str(faces_dir / "obama.jpg")]).exit_code == 2


def test_pairs_csv_in_order(runner, faces_dir, tmp_path, chip_portrait):
    chip = tmp_path / "chip.jp2"
    chip.write_bytes(chip_portrait)
    csv = tmp_path / "pairs.csv"
    rows = [(str(chip), "obama2.jpg", "same"), ("obama.jpg", "grace_hopper.jpg", "diff"),
            ("obama3.jpg", "obama_partial_face.jpg", "same")]
    csv.write_text("file_x,file_y,label\n" + "".join(f"{x},{y},{lab}\n" for x, y, lab in rows))
    # relative names are found next to the CSV: put the shared photos there
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "grace_hopper.jpg", "obama_partial_face.jpg"):
        (tmp_path / name).symlink_to(faces_dir / name)
    res = runner.invoke(cli, ["face", "compare", "--pairs", str(csv), "--json"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(o["file_x"], o["file_y"]) for o in lines] == [(x, y) for x, y, _ in rows]
    assert [o["decision"] for o in lines][1] == "no_match"
    assert lines[0]["decision"] in ("match", "refer") and lines[2]["decision"] == "match"
    assert all(FIELDS <= set(o) and o["elapsed_ms"] > 0 for o in lines)


def test_pairs_with_a_bad_row(runner, faces_dir, tmp_path):
    empty = tmp_path / "zero.jpg"
    empty.write_bytes(b"")
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"file_y,file_x\n{faces_dir / 'obama.jpg'},{empty}\n{faces_dir / 'obama.jpg'},{faces_dir / 'obama2.jpg'}\n")
    res = runner.invoke(cli, ["face", "compare", "--pairs", str(csv), "--json"])
    assert res.exit_code == 1
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert lines[0]["decision"] is None and "zero.jpg: empty file" in lines[0]["error"]
    assert lines[1]["decision"] == "match"
    assert "zero.jpg" in res.stderr


def test_pairs_csv_problems(runner, tmp_path):
    res = runner.invoke(cli, ["face", "compare", "--pairs", str(tmp_path / "none.csv")])
    assert res.exit_code == 1 and "none.csv: no such file" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\nx,y\n")
    res = runner.invoke(cli, ["face", "compare", "--pairs", str(bad)])
    assert res.exit_code == 1 and "file_x,file_y" in res.output


def test_capture_from_an_image_file(runner, tmp_path, camera_frames):
    frame, _ = camera_frames["obama.jpg"]
    src = tmp_path / "cam.png"
    cv2.imwrite(str(src), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out = tmp_path / "best.jpg"
    res = runner.invoke(cli, ["face", "capture", "--camera", str(src), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["faces"] == 1 and report["ok"] is True and report["quality"]["face_px"] > 150
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"


def test_capture_without_camera(runner):
    res = runner.invoke(cli, ["face", "capture", "--camera", "/dev/video97"])
    assert res.exit_code == 1 and "no camera at /dev/video97" in res.output


def test_liveness_command_on_a_still_image(runner, tmp_path, camera_frames):
    frame, _ = camera_frames["obama.jpg"]
    src = tmp_path / "cam.png"
    cv2.imwrite(str(src), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    res = runner.invoke(cli, ["face", "liveness", "--camera", str(src), "--steps", "blink", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["status"] == "not_performed"
