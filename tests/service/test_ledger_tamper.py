"""Tamper test: change one byte of one stored entry -> `ledger verify` and `verify-export` name it."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from verifier.cli import cli
from verifier.ledger.export import build_bundle, verify_bundle
from verifier.ledger.store import Ledger


@pytest.fixture()
def data_dir(tmp_path):
    led = Ledger.open(tmp_path / "data", checkpoint_every=4)
    for i in range(10):
        led.append("transaction", {"type": "pawn_contract", "i": i, "note": "x" * 20})
    led.close()
    return tmp_path / "data"


def _raw(data_dir):
    conn = sqlite3.connect(data_dir / "ledger.sqlite")
    conn.execute("DROP TRIGGER entries_append_only_u")
    conn.execute("DROP TRIGGER entries_append_only_d")
    return conn


def _verify(data_dir):
    return CliRunner().invoke(cli, ["ledger", "verify", "--data-dir", str(data_dir)])


def test_intact_ledger_exits_zero(data_dir):
    result = _verify(data_dir)
    assert result.exit_code == 0, result.output
    assert "10 entries" in result.output


@pytest.mark.parametrize("column", ["payload", "ts", "prev_hash", "hash"])
def test_one_changed_byte_is_named(data_dir, column):
    conn = _raw(data_dir)
    value = conn.execute(f"SELECT {column} FROM entries WHERE seq = 6").fetchone()[0]
    raw = bytearray(value if isinstance(value, bytes) else value.encode())
    raw[len(raw) // 2] ^= 0x01
    conn.execute(f"UPDATE entries SET {column} = ? WHERE seq = 6", (bytes(raw) if isinstance(value, bytes) else raw.decode(),))
    conn.commit()
    conn.close()
    result = _verify(data_dir)
    assert result.exit_code == 2
    assert "seq 6" in result.output
    report = Ledger.open(data_dir).verify()
    assert report.first_bad_seq == 6


def test_removed_tail_is_detected_by_checkpoint(data_dir):
    conn = _raw(data_dir)
    conn.execute("DELETE FROM entries WHERE seq > 5")
    conn.commit()
    conn.close()
    result = _verify(data_dir)
    assert result.exit_code == 2 and "removed" in result.output


def test_forged_checkpoint_is_detected(data_dir):
    conn = sqlite3.connect(data_dir / "ledger.sqlite")
    conn.execute("DROP TRIGGER checkpoints_append_only_u")  # checkpoints are append-only
    conn.execute("UPDATE checkpoints SET ts = '2000-01-01T00:00:00Z' WHERE seq = 8")
    conn.commit()
    conn.close()
    result = _verify(data_dir)
    assert result.exit_code == 2 and "checkpoint at seq 8" in result.output


def test_export_roundtrip_and_tampered_export_named(data_dir, tmp_path):
    out = tmp_path / "export.json"
    result = CliRunner().invoke(cli, ["ledger", "export", "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o077 == 0
    ok = CliRunner().invoke(cli, ["ledger", "verify-export", str(out)])
    assert ok.exit_code == 0, ok.output
    bundle = json.loads(out.read_text())
    assert bundle["format"] == "chipid-ledger-export/1" and len(bundle["entries"]) == 10
    # one byte of one entry's content
    bundle["entries"][6]["payload"]["note"] = "x" * 19 + "y"
    out.write_text(json.dumps(bundle))
    bad = CliRunner().invoke(cli, ["ledger", "verify-export", str(out), "--json"])
    assert bad.exit_code == 2
    assert json.loads(bad.output)["first_bad_seq"] == 7


def test_export_bundle_checks(data_dir):
    led = Ledger.open(data_dir)
    bundle = build_bundle(led)
    assert verify_bundle(bundle)["ok"]
    # an entry dropped from the middle
    gap = dict(bundle, entries=bundle["entries"][:3] + bundle["entries"][4:])
    assert verify_bundle(gap)["first_bad_seq"] == 5
    # recomputed hashes but no valid signature over the new head
    from verifier.ledger.entry import Entry

    forged = [Entry.from_json(e) for e in bundle["entries"][:9]]
    raw9 = dict(bundle["entries"][9])
    raw9.pop("hash")
    raw9["payload"] = {"forged": True}
    e9 = Entry.from_json(raw9)
    forged_bundle = dict(bundle, entries=[e.to_json() for e in forged] + [e9.to_json()])
    report = verify_bundle(forged_bundle)
    assert not report["ok"] and report["first_bad_seq"] == 10
    # wrong format / key
    assert not verify_bundle({"format": "other"})["ok"]
    assert not verify_bundle(dict(bundle, device_public_key="AAAA"))["ok"]
    led.close()


def test_export_date_range(data_dir, tmp_path):
    led = Ledger.open(data_dir)
    assert build_bundle(led, "2000-01-01", "2000-12-31")["entries"] == []
    today = led.entries()[0].ts[:10]
    assert len(build_bundle(led, today, today)["entries"]) == 10
    led.close()


def test_verify_export_bad_file(tmp_path):
    f = tmp_path / "x.json"
    f.write_text("not json")
    result = CliRunner().invoke(cli, ["ledger", "verify-export", str(f)])
    assert result.exit_code == 1 and "expected JSON" in result.output


@pytest.mark.parametrize("seq", [1, 3, 6, 10])
def test_parallel_verify_names_the_same_entry(data_dir, seq):
    conn = _raw(data_dir)
    blob = bytearray(conn.execute("SELECT payload FROM entries WHERE seq = ?", (seq,)).fetchone()[0])
    blob[-1] ^= 0x80
    conn.execute("UPDATE entries SET payload = ? WHERE seq = ?", (bytes(blob), seq))
    conn.commit()
    conn.close()
    led = Ledger.open(data_dir)
    one = led.verify()
    two = led.verify(workers=2, parallel_min=1)
    assert one.first_bad_seq == two.first_bad_seq == seq
    assert one.error == two.error
    led.close()


def test_parallel_verify_intact_and_links_between_ranges(data_dir):
    led = Ledger.open(data_dir)
    report = led.verify(workers=2, parallel_min=1)
    assert report.ok and report.entries == 10 and report.head_hash == led.head()[1]
    led.close()
    # an entry deleted from the middle of a range
    conn = _raw(data_dir)
    conn.execute("DELETE FROM entries WHERE seq = 5")
    conn.commit()
    conn.close()
    led = Ledger.open(data_dir)
    for workers in (1, 2):
        report = led.verify(workers=workers, parallel_min=1)
        assert report.first_bad_seq == 5 and "missing" in report.error
    led.close()


def test_export_cli_date_range(data_dir, tmp_path):
    out = tmp_path / "range.json"
    r = CliRunner().invoke(cli, ["ledger", "export", "--data-dir", str(data_dir), "--from", "2000-01-01", "--to", "2000-12-31", "--out", str(out)])
    assert r.exit_code == 0 and "exported 0 entries" in r.output
    assert CliRunner().invoke(cli, ["ledger", "verify-export", str(out)]).exit_code == 0
    r = CliRunner().invoke(cli, ["ledger", "export", "--data-dir", str(data_dir), "--from", "2000-01-01", "--out", str(out)])
    assert "exported 10 entries" in r.output


def test_cli_on_a_missing_ledger(tmp_path):
    r = CliRunner().invoke(cli, ["ledger", "verify", "--data-dir", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no ledger" in r.output
