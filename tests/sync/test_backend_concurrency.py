"""Two backend instances over one database (as behind a load balancer) racing on the same
device's batches: every entry stored exactly once, in order, no tamper alert but replays."""

from __future__ import annotations

import random
import threading

import httpx
from sqlalchemy import text

from sync import batch as batch_mod
from sync.backend.app import create_app
from sync.backend.db import Database
from sync.testing import ThreadServer, pawn_payload


def test_two_instances_race_on_one_device(db, database_url, make_device):
    other_db = Database.open(database_url=database_url, migrate=False)
    servers = [ThreadServer(create_app(db)).start(), ThreadServer(create_app(other_db)).start()]
    dev = make_device()
    for i in range(300):
        dev.append("transaction", pawn_payload(i))
    wires = [batch_mod.encode(batch_mod.build_batch(dev.device_id, dev.entries[j:j + 20], prev_hash=dev.prev_of(j + 1)), dev.sign)
             for j in range(0, 300, 20)]
    statuses: list[tuple[int, str]] = []

    def client(server, seed):
        rng = random.Random(seed)
        with httpx.Client(base_url=server.url, timeout=60) as c:
            for w in wires:
                for _ in range(rng.randrange(1, 3)):  # sometimes the same batch twice
                    r = c.post("/api/v1/ingest", content=w, headers={"Content-Encoding": "gzip"})
                    statuses.append((r.status_code, r.json().get("reason", "")))

    try:
        threads = [threading.Thread(target=client, args=(s, n)) for n, s in enumerate(servers * 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in servers:
            s.stop()
        other_db.close()
    assert {s for s in statuses} <= {(200, ""), (409, "replay")}, set(statuses)
    with db.read() as conn:
        seqs = [r[0] for r in conn.execute(text("SELECT seq FROM entries WHERE device_id = :d ORDER BY seq"), {"d": dev.device_id})]
        hashes = [r[0] for r in conn.execute(text("SELECT hash FROM entries WHERE device_id = :d ORDER BY seq"), {"d": dev.device_id})]
        kinds = {r[0] for r in conn.execute(text("SELECT kind FROM alerts"))}
    assert seqs == list(range(1, 301)) and hashes == [e.hash for e in dev.entries]
    assert kinds <= {"replay"}
