"""Chip evidence end to end over loopback, on SQLite and PostgreSQL (issue 19 item 1): signed batches of
contracts scanned from emulated CCCDs -> `chipid backend serve` (a real process, its trust imported with
`chipid backend trust import`) -> its evidence worker -> verdicts and alerts through the inspector API."""

from __future__ import annotations

import base64
import copy

import httpx
import pytest
from click.testing import CliRunner

from sync import batch as batch_mod
from sync.backend import auth
from sync.backend.cli import backend as backend_cli
from sync.backend.db import Database
from sync.testing import backend_process, free_port, kill_tree, pawn_payload, wait_http, wait_until
from tests.sync.conftest import enroll_signing_device
from tests.sync.evidence_cards import Pki, contract, scan, scanned_contract


@pytest.fixture
def served(tmp_path, database_url):
    """(base URL, db, inspector headers, pki) of a backend process whose trust holds the test CSCA."""
    p = Pki()
    data_dir = tmp_path / "backend"
    csca = tmp_path / "csca.der"
    csca.write_bytes(p.trusted.der)
    url = None if database_url.startswith("sqlite") else database_url
    args = ["trust", "import", "--data-dir", str(data_dir), str(csca)]
    out = CliRunner().invoke(backend_cli, args + (["--database-url", url] if url else []))
    assert out.exit_code == 0 and "Test CSCA Vietnam" in out.output, out.output
    db = Database.open(data_dir, url)
    auth.add_user(db, "thanh.tra", "inspector", "mat-khau-dai-1")
    port = free_port()
    proc = backend_process(data_dir, port, url)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base, proc=proc)
        token = httpx.post(base + "/api/v1/login", json={"name": "thanh.tra", "password": "mat-khau-dai-1"}).json()["token"]
        yield base, db, {"Authorization": "Bearer " + token}, p
    finally:
        kill_tree(proc)
        db.close()


def _send(base, dev, first, last):
    b = batch_mod.build_batch(dev.device_id, dev.entries[first - 1:last], prev_hash=dev.prev_of(first),
                              checkpoint=dev.checkpoint(last))
    r = httpx.post(base + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                   headers={"Content-Encoding": "gzip", "Content-Type": "application/vnd.chipid.batch"})
    assert r.status_code == 200, r.text


def _verdicts(base, headers, count):
    def done():
        r = httpx.get(base + "/api/v1/entries", params={"limit": 100}, headers=headers)
        assert r.status_code == 200, r.text
        rows = r.json()["entries"]
        ok = len(rows) == count and all(e["backend_verdict"]["verdict"] != "pending" for e in rows)
        return {e["seq"]: e for e in rows} if ok else None

    return wait_until(done, 60, "the evidence worker's verdicts")


def test_evidence_verdicts_and_alerts_end_to_end(served):
    base, db, headers, p = served
    dev = enroll_signing_device(db)
    shop = p.shop_store()
    good, _ = scanned_contract(dev, 1, p.card("good"), shop)                      # seq 1
    scanned_contract(dev, 2, p.card("good"), shop,                                 # seq 2: DG13 is not the payload's
                     tamper=lambda c: c["pawner"].update(full_name="Lê Văn Khác"))
    scanned_contract(dev, 3, p.card("rogue"), shop,                                # seq 3: signer not under the CSCA
                     tamper=lambda c: c["identity_check"].update(verdict="authentic"))
    # seq 4: the AA answer of a scan for another challenge
    other = scan(p.card("good"), shop, device_id=dev.device_id, scan_id="elsewhere", head=dev.head)
    scanned_contract(dev, 4, p.card("good"), shop, tamper=lambda c: c["evidence"]["aa"].update(
        signature=base64.b64encode(other.evidence.aa.signature).decode()))
    # seq 5: the whole chip evidence of seq 1 again (a copied dump with its AA answer)
    replay = copy.deepcopy(good)
    replay["id"] = "00000000-0000-4000-8000-000000000005"
    dev.append("transaction", replay)
    dev.append("transaction", pawn_payload(6))                                     # seq 6: old, no evidence
    scanned_contract(dev, 7, p.card("unknown_csca"), shop)           # seq 7: CSCA not installed
    _send(base, dev, 1, 7)

    rows = _verdicts(base, headers, 7)
    verdict = {seq: (e["shop_verdict"]["verdict"], e["backend_verdict"]["verdict"]) for seq, e in rows.items()}
    assert verdict == {1: ("authentic", "authentic"), 2: ("authentic", "not_authentic"),
                       3: ("authentic", "not_authentic"), 4: ("authentic", "not_authentic"),
                       5: ("authentic", "not_authentic"), 6: ("authentic", "unverified"),
                       7: ("authentic", "unverified")}
    assert all(e["backend_verdict"]["reasons"] for e in rows.values())
    alerts = httpx.get(base + "/api/v1/alerts", headers=headers).json()["alerts"]
    kinds = {a["seq"]: a["kind"] for a in alerts if a["kind"].startswith(("evidence", "aa_"))}
    assert kinds == {2: "evidence_mismatch", 3: "evidence_mismatch", 4: "evidence_mismatch", 5: "aa_replay",
                     6: "evidence_missing", 7: "evidence_unverifiable"}
    detail = {a["seq"]: a["detail"] for a in alerts}
    assert "full_name" in detail[2] and "Lê Văn Khác" not in detail[2]
    assert "bản ghi số 1" in detail[5]
    assert "không phải dấu hiệu giả mạo" in detail[7]
