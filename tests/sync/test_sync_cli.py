"""`chipid sync enroll / run --once / status` against a real backend on loopback."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sync.backend import enroll
from sync.testing import pawn_payload
from sync.cli import sync as sync_cli


def test_enroll_run_once_and_status(backend, shop_ledger, tmp_path, monkeypatch):
    monkeypatch.delenv("CHIPID_CONFIG", raising=False)
    for i in range(7):
        shop_ledger.append("transaction", pawn_payload(i))
    data_dir = str(shop_ledger.data_dir)
    runner = CliRunner()
    r = runner.invoke(sync_cli, ["run", "--once", "--data-dir", data_dir])
    assert r.exit_code != 0 and "no police backend configured" in r.output
    tok = enroll.add_device_token(backend.db, shop="Cầm đồ CLI", license_no="Q-1", province="01")["token"]
    r = runner.invoke(sync_cli, ["enroll", "--backend", backend.url, "--token", tok, "--data-dir", data_dir, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["shop_id"] == "01-Q1"
    r = runner.invoke(sync_cli, ["status", "--data-dir", data_dir, "--json"])
    assert json.loads(r.output)["backlog"] == 7
    r = runner.invoke(sync_cli, ["run", "--once", "--data-dir", data_dir])
    assert r.exit_code == 0, r.output
    assert "delivered 7 entries; backlog 0" in r.output
    r = runner.invoke(sync_cli, ["status", "--data-dir", data_dir])
    assert "Đã gửi đủ sổ cái" in r.output
    r = runner.invoke(sync_cli, ["enroll", "--backend", "http://10.1.2.3:8090", "--token", tok, "--data-dir", data_dir])
    assert r.exit_code != 0 and "loopback" in r.output
