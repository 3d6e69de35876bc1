"""Ledger verify / export / audit through the API."""

from __future__ import annotations

import sqlite3

from verifier.ledger.export import verify_bundle


def _seed(svc, make_scan, txn_body, n=3):
    ids = []
    for _ in range(n):
        scan = make_scan()
        ids.append(svc.book.create(scan.result, {k: v for k, v in txn_body(scan.id).items() if k != "scan_id"},
                                   user="clerk-1", role="clerk", face=scan.face,
                                   photos={"chip": scan.portrait, "camera": scan.camera_image})["id"])
    return ids


def test_verify_and_export(api, tokens, svc, make_scan, txn_body):
    _seed(svc, make_scan, txn_body)
    r = api.get("/api/v1/ledger/verify", tokens["inspector"])
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["entries"] == 3
    r = api.get("/api/v1/ledger/export", tokens["inspector"])
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    report = verify_bundle(r.json())
    assert report["ok"] and report["entries"] == 3 and report["demo_entries"] == 3
    audit = api.get("/api/v1/audit", tokens["inspector"], params={"user": "inspector-1"}).json()
    assert audit["items"][0]["action"] == "export"
    head = api.get("/api/v1/ledger/head", tokens["manager"]).json()
    assert head["head_seq"] == 3 and head["device_public_key"]


def test_verify_names_a_tampered_entry(api, tokens, svc, make_scan, txn_body):
    _seed(svc, make_scan, txn_body)
    conn = sqlite3.connect(svc.ledger.path)
    conn.execute("DROP TRIGGER entries_append_only_u")
    blob = bytearray(conn.execute("SELECT payload FROM entries WHERE seq = 2").fetchone()[0])
    blob[40] ^= 0xFF
    conn.execute("UPDATE entries SET payload = ? WHERE seq = 2", (bytes(blob),))
    conn.commit()
    conn.close()
    body = api.get("/api/v1/ledger/verify", tokens["inspector"]).json()
    assert body["ok"] is False and body["first_bad_seq"] == 2 and "seq 2" in body["error"]


def test_face_images_are_purged_after_retention(svc, make_scan, txn_body):
    from datetime import datetime, timedelta, timezone

    txn = _seed(svc, make_scan, txn_body, 1)[0]
    assert svc.book.photo(txn, "chip")
    assert svc.book.purge_photos(30) == 0
    assert svc.book.purge_photos(30, now=datetime.now(timezone.utc) + timedelta(days=31)) == 2
    assert svc.book.photo(txn, "chip") is None and svc.book.photo(txn, "camera") is None
    assert svc.ledger.verify().ok  # the chain is untouched: it holds only the photos' hashes


def test_sync_status_for_every_user(api, tokens, svc, make_scan, txn_body):
    _seed(svc, make_scan, txn_body, 2)
    for role in ("clerk", "inspector", "integrator"):
        r = api.get("/api/v1/sync", tokens[role])
        assert r.status_code == 200
        body = r.json()
        assert body["head_seq"] == 2 and body["acked_seq"] == 0 and body["backlog"] == 2 and body["running"] is False
    assert api.get("/api/v1/sync").status_code == 401
