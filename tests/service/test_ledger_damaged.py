"""A damaged ledger is loud, not fatal (issue 17 item 6): one entry damaged with SQL (as
test_ledger_tamper.py does), then the list, search, health, a new contract and the next sync batch."""

from __future__ import annotations

import sqlite3

from sync import batch as batch_mod


def _damage(data_dir, seq: int) -> None:
    conn = sqlite3.connect(data_dir / "ledger.sqlite")
    conn.execute("DROP TRIGGER entries_append_only_u")
    value = conn.execute("SELECT payload FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
    raw = bytearray(value)
    raw[len(raw) // 2] ^= 0x01
    conn.execute("UPDATE entries SET payload = ? WHERE seq = ?", (bytes(raw), seq))
    conn.commit()
    conn.close()


def test_damaged_entry_is_flagged_reported_and_contracts_go_on(api, tokens, make_scan, txn_body, svc, cfg):
    ids = [api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json() for _ in range(3)]
    assert api.get("/api/v1/health").json()["ledger"]["damaged"] is None
    svc.ledger.record_sync(3, None)  # the police acknowledged the three contracts
    _damage(cfg.data_dir, 2)

    # lists and searches still work, the damaged contract flagged
    r = api.get("/api/v1/transactions", tokens["clerk"])
    assert r.status_code == 200, r.text
    rows = {row["id"]: row for row in r.json()["items"]}
    assert rows[ids[1]["id"]]["damaged"] is True and rows[ids[1]["id"]]["contract_no"] == ids[1]["contract_no"]
    assert rows[ids[0]["id"]]["damaged"] is False and rows[ids[0]["id"]]["pawner_name"] == "Nguyễn Văn An"
    r = api.get("/api/v1/transactions", tokens["clerk"], params={"name": "nguyen van an"})
    assert r.status_code == 200 and r.json()["total"] == 3
    view = api.get(f"/api/v1/transactions/{ids[1]['id']}", tokens["clerk"])
    assert view.status_code == 200 and view.json()["damaged"] is True and view.json()["contract_no"] == ids[1]["contract_no"]

    # health names the first bad entry in both languages
    h = api.get("/api/v1/health").json()
    assert h["status"] == "ledger_damaged"
    damaged = h["ledger"]["damaged"]
    assert damaged["first_bad_seq"] == 2 and "seq 2" in damaged["reason"] and "bị hỏng" in damaged["reason_vi"]

    # one ledger_damaged entry, however often the damage is seen
    api.get("/api/v1/health")
    api.get("/api/v1/transactions", tokens["clerk"])
    notices = [e for e in svc.ledger.entries(after_seq=3) if e.payload.get("type") == "ledger_damaged"]
    assert len(notices) == 1 and notices[0].payload["first_bad_seq"] == 2 and notices[0].seq == damaged["notice_seq"]

    # new contracts are still recorded
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id))
    assert r.status_code == 201, r.text
    assert api.get("/api/v1/health").json()["ledger"]["damaged"]["first_bad_seq"] == 2

    # the next batch to the police carries the ledger_damaged entry
    entries = svc.ledger.entries(after_seq=svc.ledger.sync_state()["acked_seq"])
    b = batch_mod.build_batch(svc.ledger.device_id, entries, prev_hash=entries[0].prev_hash)
    decoded = batch_mod.checked(batch_mod.decode(batch_mod.encode(b, svc.ledger.sign)))
    types = [e.payload.get("type") for e in decoded.batch.entries]
    assert types[0] == "ledger_damaged" and "pawn_contract" in types
