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
from sync.testing import SigningDevice, backend_process, free_port, kill_tree, pawn_payload, wait_http, wait_until
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
    # the inspector's contract view (investigation API) carries both verdicts too
    shop_id, txn_id = rows[2]["shop"]["shop_id"], rows[2]["payload"]["id"]
    view = httpx.get(f"{base}/api/v1/shops/{shop_id}/contracts/{txn_id}", headers=headers).json()
    assert view["contract"]["shop_verdict"]["verdict"] == "authentic"
    assert view["contract"]["backend_verdict"]["verdict"] == "not_authentic" and view["contract"]["backend_verdict"]["reasons"]


def test_verdicts_are_the_same_whatever_the_number_of_verification_processes(tmp_path):
    """The same two devices' ledgers (good cards, a tampered holder, a rogue signer, an AA answer for another
    challenge, a copied contract on the same device and on the other, no evidence, an authority not
    installed) verified in this thread, by one and by two verification processes, in small chunks: the
    same verdicts, reasons, first AA signatures and alerts, each verdict recorded once."""
    from sqlalchemy import text

    from sync.backend.evidence import import_trust
    from sync.backend.evidence_worker import EvidenceWorker
    from sync.backend.ingest import ingest

    p = Pki()
    shop = p.shop_store()
    a, b = SigningDevice(), SigningDevice()
    good, _ = scanned_contract(a, 1, p.card("good"), shop)
    scanned_contract(a, 2, p.card("good"), shop, tamper=lambda c: c["pawner"].update(full_name="Lê Văn Khác"))
    scanned_contract(b, 3, p.card("rogue"), shop, tamper=lambda c: c["identity_check"].update(verdict="authentic"))
    other = scan(p.card("good"), shop, device_id=a.device_id, scan_id="elsewhere", head=a.head)
    scanned_contract(a, 4, p.card("good"), shop, tamper=lambda c: c["evidence"]["aa"].update(
        signature=base64.b64encode(other.evidence.aa.signature).decode()))
    for dev, n in ((a, 5), (b, 6)):  # the whole evidence of a's seq 1 again, on a and on b
        replay = copy.deepcopy(good)
        replay["id"] = f"00000000-0000-4000-8000-00000000000{n}"
        dev.append("transaction", replay)
    a.append("transaction", pawn_payload(7))
    for i in range(8, 14):
        scanned_contract(b if i % 2 else a, i, p.card("unknown_csca" if i == 9 else "good"), shop)

    def verdicts(processes: int):
        data_dir = tmp_path / f"backend-{processes}"
        db = Database.open(data_dir)
        try:
            import_trust(data_dir, p.trusted.der, name="csca.der")
            for dev in (a, b):
                enroll_signing_device_as(db, dev)
                wire = batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1),
                                                              checkpoint=dev.checkpoint()), dev.sign)
                r = ingest(db, wire)
                assert r.status_code == 200, r.body
            def state():
                with db.read() as conn:
                    rows = [tuple(r) for r in conn.execute(text(
                        "SELECT device_id, seq, shop_verdict, backend_verdict, reasons, alert, verified_at "
                        "FROM evidence_verdicts ORDER BY device_id, seq"))]
                    sigs = sorted(tuple(r) for r in conn.execute(text("SELECT sig_sha256, device_id, seq FROM aa_signatures")))
                    alerts = sorted(tuple(r) for r in conn.execute(text(
                        "SELECT device_id, seq, kind, count FROM alerts WHERE kind LIKE 'evidence%' OR kind = 'aa_replay'")))
                return rows, sigs, alerts

            worker = EvidenceWorker(db, data_dir, chunk=3, processes=processes)
            try:
                assert worker.drain() == 13 and worker.drain() == 0
                first = state()
                # its place lost (a restart from an old backup): all judged again, nothing recorded twice
                with db.write() as conn:
                    conn.execute(text("DELETE FROM evidence_progress"))
                assert worker.drain() == 13
                assert state() == first
            finally:
                worker.close()
            rows, sigs, alerts = first
            return [r[:-1] for r in rows], sigs, alerts
        finally:
            db.close()

    here = verdicts(0)
    assert len(here[0]) == 13
    by_seq = {(d, s): (bv, alert) for d, s, _, bv, _, alert in here[0]}
    assert by_seq[(a.device_id, 4)] == ("not_authentic", "aa_replay")  # a's copy of its own seq 1
    # b's copy of a's seq 1 (b's seq 2) fails its binding (another device's challenge), whichever device is
    # verified first: it never claims the signature, a's genuine contract stays authentic
    assert by_seq[(a.device_id, 1)] == ("authentic", None)
    assert by_seq[(b.device_id, 2)][0] == "not_authentic"
    assert by_seq[(b.device_id, 1)] == ("not_authentic", "evidence_mismatch")
    assert by_seq[(a.device_id, 5)] == ("unverified", "evidence_missing")
    assert verdicts(1) == here
    assert verdicts(2) == here


def enroll_signing_device_as(db: Database, dev) -> None:
    """Enrol an existing :class:`sync.testing.SigningDevice` (its ledger already written) in ``db``."""
    from sync.backend import enroll

    tok = enroll.add_device_token(db, shop=f"Cầm đồ {dev.device_id[:6]}", license_no="LIC-" + dev.device_id[:6],
                                  province="01")["token"]
    proof = base64.b64encode(dev.sign(enroll.enroll_message(tok, dev.device_id))).decode()
    enroll.enroll_device(db, token=tok, device_id=dev.device_id, public_key=dev.public_key, proof=proof)


def test_a_verification_process_killed_mid_pass_loses_nothing(tmp_path):
    """A verification process SIGKILLed (the OOM killer): the pass fails, the next one starts new processes
    and verifies every contract, each verdict recorded once."""
    import multiprocessing
    import os
    import signal
    from concurrent.futures.process import BrokenProcessPool

    from sqlalchemy import text

    from sync.backend.evidence import import_trust
    from sync.backend.evidence_worker import EvidenceWorker
    from sync.backend.ingest import ingest

    p = Pki()
    dev = SigningDevice()
    for i in range(1, 5):
        scanned_contract(dev, i, p.card("good"), p.shop_store())
    data_dir = tmp_path / "backend"
    db = Database.open(data_dir)
    try:
        import_trust(data_dir, p.trusted.der, name="csca.der")
        enroll_signing_device_as(db, dev)
        r = ingest(db, batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1),
                                                              checkpoint=dev.checkpoint()), dev.sign))
        assert r.status_code == 200, r.body
        worker = EvidenceWorker(db, data_dir, chunk=2, processes=1)
        try:
            worker.start_processes()
            children = multiprocessing.active_children()
            assert children
            for child in children:
                os.kill(child.pid, signal.SIGKILL)
            for child in children:
                child.join(10)
            with pytest.raises(BrokenProcessPool):
                worker.run_once()
            assert worker.drain() == 4
        finally:
            worker.close()
        with db.read() as conn:
            rows = conn.execute(text("SELECT seq, backend_verdict FROM evidence_verdicts ORDER BY seq")).all()
        assert [tuple(r) for r in rows] == [(1, "authentic"), (2, "authentic"), (3, "authentic"), (4, "authentic")]
    finally:
        db.close()


def test_contracts_without_evidence_count_up_one_alert_per_device(tmp_path, database_url):
    """A shop on software that sends no evidence: its contracts are each judged unverified, and the one
    evidence_missing alert of the device counts them all (first seq kept), however the chunks fall; judged
    again (the worker's place lost), nothing is stored or counted twice."""
    from sqlalchemy import text

    from sync.backend.evidence_worker import EvidenceWorker
    from sync.backend.ingest import ingest

    dev = SigningDevice()
    for i in range(1, 8):
        dev.append("transaction", pawn_payload(i))  # "authentic" as the shop says, without evidence
    url = None if database_url.startswith("sqlite") else database_url
    db = Database.open(tmp_path / "backend", url)
    try:
        enroll_signing_device_as(db, dev)
        r = ingest(db, batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1)), dev.sign))
        assert r.status_code == 200, r.body

        def state():
            with db.read() as conn:
                return ([tuple(r) for r in conn.execute(text("SELECT device_id, seq, kind, count FROM alerts"))],
                        [tuple(r) for r in conn.execute(text(
                            "SELECT seq, txn_id, shop_verdict, backend_verdict, alert, verified_at FROM evidence_verdicts "
                            "ORDER BY seq"))])

        worker = EvidenceWorker(db, tmp_path / "backend", chunk=3, processes=0)
        assert worker.drain() == 7
        alerts, verdicts = state()
        assert alerts == [(dev.device_id, 1, "evidence_missing", 7)]
        assert [v[:5] for v in verdicts] == [(i, f"00000000-0000-4000-8000-{i:012d}", "authentic", "unverified",
                                              "evidence_missing") for i in range(1, 8)]
        with db.write() as conn:
            conn.execute(text("DELETE FROM evidence_progress"))
        assert worker.drain() == 7 and state() == (alerts, verdicts)
    finally:
        db.close()


def test_the_worker_thread_and_its_processes_run_at_the_lowest_priority(tmp_path):
    """Ingest first: the evidence worker's thread and its verification processes are niced, the rest of the
    backend process is not."""
    import multiprocessing
    import os

    from sync.backend import evidence_worker as ew

    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert mine < ew.NICE
    db = Database.open(tmp_path / "backend")
    worker = ew.EvidenceWorker(db, tmp_path / "backend", processes=1, idle_s=0.05).start()
    try:
        wait_until(lambda: worker._thread.native_id is not None
                   and os.getpriority(os.PRIO_PROCESS, worker._thread.native_id) == ew.NICE, timeout=10)
        worker.start_processes()
        children = multiprocessing.active_children()
        assert children and all(os.getpriority(os.PRIO_PROCESS, c.pid) == ew.NICE for c in children)
        assert os.getpriority(os.PRIO_PROCESS, 0) == mine  # this thread (and so ingest's) untouched
    finally:
        worker.stop()
        db.close()
