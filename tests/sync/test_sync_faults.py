"""Fault injection: relays and a backend in child processes, a loopback proxy that delays, drops
and cuts connections mid-request, SIGKILL of the relays and of the backend at random points over
many rounds. After each kill, no entry the shop recorded as acknowledged is missing at the
backend; at the end, every entry is there exactly once, in each device's order, chain intact."""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest
from sqlalchemy import text

from sync.backend import enroll
from sync.backend.db import Database
from sync.enrollment import save_enrollment
from sync.testing import (FaultProxy, backend_process, create_database, drop_database, free_port, kill_tree,
                          pawn_payload, relay_process, wait_http, write_relay_config)
from verifier.ledger.entry import Entry, verify_chain
from verifier.ledger.store import Ledger

ROUNDS = 12
TAMPER = ("gap", "fork", "conflict", "signature", "tampered", "checkpoint")


def _enroll_direct(db: Database, ledger: Ledger, url: str, n: int) -> None:
    import base64

    from sync.batch import enroll_message

    tok = enroll.add_device_token(db, shop=f"Cầm đồ {n}", license_no=f"F-{n}", province="01")["token"]
    proof = base64.b64encode(ledger.sign(enroll_message(tok, ledger.device_id))).decode()
    enroll.enroll_device(db, token=tok, device_id=ledger.device_id, public_key=ledger.public_key_b64(), proof=proof)
    save_enrollment(ledger.data_dir, {"backend_url": url, "device_id": ledger.device_id})


def _stored(db: Database, device_id: str) -> list[tuple[int, str]]:
    with db.read() as conn:
        return [(int(r[0]), db.vault.open_entry(r[1], r[2], device_id, int(r[0]))) for r in conn.execute(
            text("SELECT seq, body, shop_id FROM entries WHERE device_id = :d ORDER BY seq"), {"d": device_id})]


def _acked_present(db: Database, ledger: Ledger) -> tuple[int, int]:
    acked = int(ledger.sync_state()["acked_seq"])
    with db.read() as conn:
        have = conn.execute(text("SELECT COUNT(*) FROM entries WHERE device_id = :d AND seq <= :a"),
                            {"d": ledger.device_id, "a": acked}).scalar()
    return acked, int(have)


def _kill(proc):
    kill_tree(proc)  # SIGKILL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url_for_child(request, tmp_path):
    if request.param == "sqlite":
        yield None, f"sqlite:///{tmp_path / 'backend' / 'backend.sqlite3'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = "chipid_f_" + uuid.uuid4().hex[:12]
    url = create_database(admin, name)
    yield url, url
    drop_database(admin, name)


@pytest.mark.slow
def test_sigkill_and_network_faults_lose_and_duplicate_nothing(tmp_path, monkeypatch, backend_url_for_child):
    monkeypatch.delenv("CHIPID_LEDGER_KEY", raising=False)
    child_url, test_url = backend_url_for_child
    rng = random.Random(20261123)
    data_dir = tmp_path / "backend"
    db = Database.open(data_dir, child_url)
    port = free_port()
    proxy = FaultProxy(port, seed=7, p_delay=0.25, max_delay=0.2, p_cut=0.15, p_drop=0.1).start()
    ledgers = [Ledger.open(tmp_path / f"shop{n}", checkpoint_every=25) for n in range(2)]
    configs = []
    for n, led in enumerate(ledgers):
        _enroll_direct(db, led, proxy.url, n)
        configs.append(write_relay_config(tmp_path / f"relay{n}.toml", led.data_dir, proxy.url, batch_size=7,
                                          backoff_base_s=0.02, backoff_max_s=0.3, interval_s=0.05, timeout_s=3.0))
    backend = backend_process(data_dir, port, child_url)
    relays = [relay_process(c) for c in configs]
    counter = 0
    kills = {"relay": 0, "backend": 0}
    try:
        wait_http(f"http://127.0.0.1:{port}", proc=backend)
        for _round in range(ROUNDS):
            for led in ledgers:
                for _ in range(rng.randrange(3, 25)):
                    counter += 1
                    if rng.random() < 0.05:
                        led.append("event", {"type": "suspicious", "txn_id": pawn_payload(counter - 1)["id"]})
                    else:
                        led.append("transaction", pawn_payload(counter))
            time.sleep(rng.uniform(0.3, 1.5))
            victim = rng.choice(["relay", "backend", "both", "relay"])
            if victim in ("relay", "both"):
                i = rng.randrange(len(relays))
                _kill(relays[i])
                kills["relay"] += 1
            if victim in ("backend", "both"):
                _kill(backend)
                kills["backend"] += 1
            for led in ledgers:  # acknowledged means stored, whatever was killed
                acked, have = _acked_present(db, led)
                assert have == acked, f"device {led.device_id}: shop recorded {acked} acknowledged, backend holds {have}"
            if backend.poll() is not None:
                backend = backend_process(data_dir, port, child_url)
            relays = [r if r.poll() is None else relay_process(c) for r, c in zip(relays, configs)]
        for faults in (True, False):  # drain under faults; only if that takes too long, without
            proxy.faults = faults
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if all(len(_stored(db, led.device_id)) == led.head()[0] == int(led.sync_state()["acked_seq"])
                       for led in ledgers):
                    break
                time.sleep(0.2)
    finally:
        for r in relays:
            _kill(r)
        _kill(backend)
        proxy.close()
    print("proxy", proxy.stats, "kills", kills, "entries", counter)
    assert proxy.stats["cut"] > 0 and proxy.stats["dropped"] > 0 and proxy.stats["delayed"] > 0, proxy.stats
    assert kills["relay"] > 0 and kills["backend"] > 0
    for led in ledgers:
        mine = led.entries(0, 100000)
        stored = _stored(db, led.device_id)
        assert [s for s, _ in stored] == [e.seq for e in mine], "lost, duplicated or reordered entries"
        theirs = [Entry.from_json(json.loads(body)) for _, body in stored]
        assert [e.hash for e in theirs] == [e.hash for e in mine]
        verify_chain(theirs)
        assert int(led.sync_state()["acked_seq"]) == len(mine)
    with db.read() as conn:
        kinds = [r[0] for r in conn.execute(text("SELECT kind FROM alerts"))]
    print("alerts", sorted(set(kinds)), len(kinds))
    assert not [k for k in kinds if k in TAMPER], kinds
    assert "suspicious" in kinds
    for led in ledgers:
        led.close()
    db.close()
