"""Hostile audit (issue 15 items 3, 4, 11): ways of cutting or garbling the shop ledger that
verification must catch (in the spirit of RFC 9162 §2.1.4: a head once signed or acknowledged
can only grow), and bundles that ``verify-export`` must refuse."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from verifier.cli import cli
from verifier.errors import LedgerError
from verifier.ledger.export import build_bundle, verify_bundle
from verifier.ledger.store import Ledger


def _ledger_with(data_dir, n: int, every: int = 4) -> None:
    led = Ledger.open(data_dir, checkpoint_every=every)
    for i in range(n):
        led.append("transaction", {"type": "pawn_contract", "i": i})
    led.close()


def _raw(data_dir, *drop: str) -> sqlite3.Connection:
    conn = sqlite3.connect(data_dir / "ledger.sqlite")
    for trigger in drop:
        conn.execute(f"DROP TRIGGER {trigger}")
    return conn


def _verify(data_dir):
    return CliRunner().invoke(cli, ["ledger", "verify", "--data-dir", str(data_dir)])


@pytest.fixture()
def data_dir(tmp_path):
    d = tmp_path / "data"
    _ledger_with(d, 10)  # checkpoints at 4 and 8 (every 4), and the clean shutdown's at 10
    return d


def test_payload_rewritten_as_invalid_utf8_text_is_named(data_dir):
    conn = _raw(data_dir, "entries_append_only_u")
    conn.execute("UPDATE entries SET payload = payload || x'00' WHERE seq = 6")  # || makes TEXT of the blob
    conn.commit()
    assert conn.execute("SELECT typeof(payload) FROM entries WHERE seq = 6").fetchone()[0] == "text"
    conn.close()
    result = _verify(data_dir)
    assert result.exit_code == 2, result.output
    assert "seq 6" in result.output
    assert Ledger.open(data_dir).verify(workers=2, parallel_min=1).first_bad_seq == 6


@pytest.mark.parametrize("column", ["ts", "prev_hash", "kind"])
def test_any_column_rewritten_as_invalid_utf8_is_named(data_dir, column):
    conn = _raw(data_dir, "entries_append_only_u")
    conn.execute(f"UPDATE entries SET {column} = {column} || x'ff' WHERE seq = 3")
    conn.commit()
    conn.close()
    report = Ledger.open(data_dir).verify()
    assert not report.ok and report.first_bad_seq == 3 and column in report.error


def test_the_clean_shutdown_signs_the_head(data_dir):
    led = Ledger.open(data_dir)
    assert [cp.seq for cp in led.checkpoints()] == [4, 8, 10]
    led.close()  # wrote nothing: signs nothing new
    led = Ledger.open(data_dir)
    assert [cp.seq for cp in led.checkpoints()] == [4, 8, 10]
    led.close()


def test_tail_cut_within_a_checkpoint_interval_is_detected(data_dir):
    conn = _raw(data_dir, "entries_append_only_d")
    conn.execute("DELETE FROM entries WHERE seq > 8")  # 9 and 10: after the last periodic checkpoint
    conn.commit()
    conn.close()
    result = _verify(data_dir)
    assert result.exit_code == 2 and "removed" in result.output and "seq 9" in result.output


def test_checkpoints_are_append_only(data_dir):
    conn = _raw(data_dir)
    for sql in ("DELETE FROM checkpoints WHERE seq > 4", "UPDATE checkpoints SET seq = 99 WHERE seq = 10"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()


def test_tail_cut_with_its_checkpoints_is_detected_by_the_acknowledged_seq(data_dir):
    led = Ledger.open(data_dir)
    led.record_sync(10, None)  # the police backend acknowledged everything
    led.close()
    conn = _raw(data_dir, "entries_append_only_d", "checkpoints_append_only_d")
    conn.execute("DELETE FROM entries WHERE seq > 6")
    conn.execute("DELETE FROM checkpoints WHERE seq > 6")
    conn.commit()
    conn.close()
    result = _verify(data_dir)
    assert result.exit_code == 2, result.output
    assert "acknowledged" in result.output and "seq 7" in result.output


def test_cut_below_the_acknowledged_seq_without_checkpoints(tmp_path):
    d = tmp_path / "data"
    _ledger_with(d, 10, every=1000)
    led = Ledger.open(d)
    led.record_sync(7, None)
    led.close()
    conn = _raw(d, "entries_append_only_d", "checkpoints_append_only_d")
    conn.execute("DELETE FROM entries WHERE seq > 5")
    conn.execute("DELETE FROM checkpoints")
    conn.commit()
    conn.close()
    report = Ledger.open(d).verify()
    assert not report.ok and report.first_bad_seq == 6 and "acknowledged" in report.error


def test_the_acknowledged_seq_never_goes_back(data_dir):
    led = Ledger.open(data_dir)
    led.record_sync(9, None)
    led.close()
    conn = _raw(data_dir)
    with pytest.raises(sqlite3.IntegrityError, match="acknowledged"):
        conn.execute("UPDATE sync_state SET acked_seq = 2")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM sync_state")
    conn.close()


def test_the_checkpoint_the_backend_holds_bounds_the_ledger(data_dir):
    """The relay records the newest checkpoint the backend accepted: a ledger rolled back below it
    fails, and a different head at that seq is a fork."""
    led = Ledger.open(data_dir)
    cp = led.latest_checkpoint()
    led.record_sync(None, None, checkpoint=cp)
    led.close()
    conn = _raw(data_dir, "entries_append_only_d", "checkpoints_append_only_d")
    conn.execute("DELETE FROM entries WHERE seq > 9")
    conn.execute("DELETE FROM checkpoints WHERE seq > 9")
    conn.commit()
    conn.close()
    report = Ledger.open(data_dir).verify()
    assert not report.ok and report.first_bad_seq == 10 and "police backend holds" in report.error


def test_a_shutdown_does_not_sign_a_head_cut_under_the_running_service(data_dir):
    led = Ledger.open(data_dir)
    led.append("transaction", {"type": "pawn_contract", "i": 10})  # seq 11
    conn = _raw(data_dir, "entries_append_only_d")
    conn.execute("DELETE FROM entries WHERE seq = 11")
    conn.commit()
    conn.close()
    led.close()
    led = Ledger.open(data_dir)
    assert led.latest_checkpoint().seq == 10  # nothing signed over the cut head
    led.close()


def test_verify_export_refuses_a_bundle_cut_back_to_an_earlier_checkpoint(data_dir):
    led = Ledger.open(data_dir)
    bundle = build_bundle(led)
    led.close()
    assert verify_bundle(bundle)["ok"]
    assert [c["seq"] for c in bundle["checkpoints"]] == [4, 8, 10]
    cut = dict(bundle, entries=bundle["entries"][:8])  # ends at the checkpoint at 8; the one at 10 remains
    report = verify_bundle(cut)
    assert not report["ok"] and report["first_bad_seq"] == 9 and "removed" in report["error"]
    empty = dict(bundle, entries=[])
    assert not verify_bundle(empty)["ok"]


def test_verify_export_on_deeply_nested_json_is_a_clear_error(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text("[" * 200_000 + "]" * 200_000)
    result = CliRunner().invoke(cli, ["ledger", "verify-export", str(f)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "nested" in result.output


def test_appends_after_close_are_refused(tmp_path):
    led = Ledger.open(tmp_path / "d")
    led.close()
    with pytest.raises(LedgerError):
        led.append("transaction", {"type": "pawn_contract"})


def test_verify_json_report_names_the_entry_of_a_text_payload(data_dir):
    conn = _raw(data_dir, "entries_append_only_u")
    conn.execute("UPDATE entries SET payload = payload || x'00' WHERE seq = 2")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(cli, ["ledger", "verify", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["first_bad_seq"] == 2
