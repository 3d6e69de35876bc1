"""Crash test: SIGKILL the service during a burst of writes; after restart every acknowledged
transaction is there and the ledger verifies."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from verifier.users import UserStore

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _finished_scan(base, auth):
    scan_id = httpx.post(base + "/api/v1/scans", headers=auth, json={}, timeout=30).json()["id"]
    for _ in range(1200):
        s = httpx.get(f"{base}/api/v1/scans/{scan_id}", headers=auth, timeout=30).json()
        if s["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert s["status"] == "done", s
    r = httpx.post(f"{base}/api/v1/scans/{scan_id}/face", headers=auth, json={"consent": True, "camera": True}, timeout=120)
    assert r.status_code == 200 and r.json()["decision"] == "match", r.text
    return scan_id


def test_sigkill_during_write_burst(tmp_path, server_factory):
    data = tmp_path / "data"
    store = UserStore(data)
    store.add("erp", "integrator")
    token = store.issue_token("erp")
    store.close()
    auth = {"Authorization": f"Bearer {token}"}
    proc, base, _ = server_factory(data, tmp_path / "serve1.log", "--reader", "emulator")
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        scan_id = _finished_scan(base, auth)
        body = {"scan_id": scan_id, "items": [{"description": "Nhẫn vàng 18K", "category": "jewelry", "serial": ""}],
                "valuation_vnd": 5_000_000, "loan_vnd": 3_000_000, "interest_rate_year_pct": 12.0, "term_days": 60}

        def writer():
            with httpx.Client(base_url=base, headers=auth, timeout=10) as c:
                while not stop.is_set():
                    try:
                        r = c.post("/api/v1/transactions", json=body)
                    except httpx.HTTPError:
                        return  # the server died mid-request: not acknowledged
                    if r.status_code == 201:
                        with lock:
                            acked.append(r.json()["id"])

        threads = [threading.Thread(target=writer) for _ in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 40:
                    break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # mid-burst: writers are still sending
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert len(acked) >= 40

    # the ledger verifies offline, before any restart
    out = subprocess.run([sys.executable, "-m", "verifier.cli", "ledger", "verify", "--data-dir", str(data)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr

    proc, base, _ = server_factory(data, tmp_path / "serve2.log", "--reader", "emulator")
    try:
        with httpx.Client(base_url=base, headers=auth, timeout=30) as c:
            for txn in acked:
                assert c.get(f"/api/v1/transactions/{txn}").status_code == 200, txn
            total = c.get("/api/v1/transactions").json()["total"]
            assert total >= len(acked)
            report = c.get("/api/v1/ledger/verify").json()
            assert report["ok"] and report["entries"] == total
    finally:
        proc.terminate()
        proc.wait(10)
