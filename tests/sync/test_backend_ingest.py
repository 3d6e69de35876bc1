"""Ingest verification on SQLite and PostgreSQL: accepted, idempotent, and every kind of bad
batch refused with an alert (gap, fork, conflict, replay, wrong key, tampered entry, checkpoint)."""

from __future__ import annotations

import base64
import dataclasses
import gc
import gzip
import hashlib
import threading
import time

import httpx
from sqlalchemy import text

from sync import batch as batch_mod
from sync.backend import ingest as ingest_mod
from sync.backend import schema, search
from sync.backend.index import norm_address, person_key
from sync.backend.app import create_app
from sync.backend.ingest import ingest
from sync.testing import SigningDevice, ThreadServer, event_payload, pawn_payload
from verifier.ledger.entry import Checkpoint, Entry, canonical_json, utc_now


def _fill(dev: SigningDevice, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        dev.append("transaction", pawn_payload(i))


def _wire(dev: SigningDevice, first: int, last: int, *, checkpoint=None, sent_at=None, priority=False, entries=None) -> bytes:
    entries = entries or dev.entries[first - 1:last]
    b = batch_mod.build_batch(dev.device_id, entries, prev_hash=dev.prev_of(entries[0].seq), checkpoint=checkpoint,
                              sent_at=sent_at, priority=priority)
    return batch_mod.encode(b, dev.sign)


def _raw_wire(header: dict, lines: list[bytes], sign) -> bytes:
    return gzip.compress(batch_mod.frame(header, lines, sign))


def _count(db, device_id) -> int:
    with db.read() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM entries WHERE device_id = :d"), {"d": device_id}).scalar()


def _alerts(db, kind=None) -> list[dict]:
    with db.read() as conn:
        rows = conn.execute(text("SELECT kind, detail, device_id, count, shop_id, alert_id FROM alerts")).mappings().all()
    return [{"kind": r["kind"], "detail": db.vault.open(r["detail"], r["shop_id"], r["alert_id"], 0), "device_id": r["device_id"],
             "count": r["count"]} for r in rows if kind is None or r["kind"] == kind]


def test_batch_is_accepted_and_the_same_batch_twice_gives_the_same_answer(db, device):
    _fill(device, 10)
    wire = _wire(device, 1, 10, checkpoint=device.checkpoint(10))
    first = ingest(db, wire)
    assert first.status_code == 200 and first.stored == 10 and not first.duplicate
    assert first.body == {"status": "accepted", "device_id": device.device_id, "first_seq": 1, "last_seq": 10,
                          "acked_seq": 10, "head_hash": device.entries[9].hash}
    again = ingest(db, wire)
    assert again.status_code == 200 and again.body == first.body and again.duplicate and again.stored == 0
    assert _count(db, device.device_id) == 10
    assert _alerts(db) == []


def test_item_text_is_searchable_and_events_carry_none(db, device):
    """Free text is the items' text; an event has none (its type is a column), so on
    PostgreSQL it stays out of the trigram index, which every free-text search can use."""
    txn = pawn_payload(1)
    device.append("transaction", txn)
    device.append("event", event_payload(2, txn, "redeemed"))
    assert ingest(db, _wire(device, 1, 2)).status_code == 200
    with db.read() as conn:
        stored = dict(conn.execute(text("SELECT kind, search_text FROM entries ORDER BY seq")).all())
    assert stored == {"transaction": search.norm_text(" ".join([txn["items"][0]["description"], txn["items"][0]["category"]])),
                      "event": ""}
    word = stored["transaction"].split()[-1]
    assert [h["seq"] for h in search.search_entries(db, search.Query(q=word, kind=None))] == [1]
    if db.dialect == "postgresql":
        sql, params = search._build(db, search.Query(q=word))
        with db.read() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the table is tiny: ask whether the index can serve
            plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), params))
        assert "entries_search_trgm" in plan, plan


def test_collector_is_back_on_after_every_batch(db, device):
    """Ingest pauses the cyclic collector while it works on a batch, and only then."""
    _fill(device, 3)
    assert gc.isenabled()
    assert ingest(db, _wire(device, 1, 3)).status_code == 200 and gc.isenabled()
    assert ingest(db, b"not gzip").status_code == 400 and gc.isenabled()
    gc.disable()  # a host that runs without the collector keeps it off
    try:
        assert ingest(db, _wire(device, 1, 3)).duplicate and not gc.isenabled()
    finally:
        gc.enable()


def test_a_batch_that_waited_for_a_busy_worker_lets_its_connection_go(db, device):
    """One batch at a time per process: a batch that had to wait is answered with
    ``Connection: close``, so the shop's next batch reaches whichever worker is free; a batch
    that found the process idle keeps its connection."""
    _fill(device, 4)
    server = ThreadServer(create_app(db)).start()
    answers: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            def post(first: int, last: int) -> None:
                answers.append(c.post("/api/v1/ingest", content=_wire(device, first, last), headers={"Content-Encoding": "gzip"}))

            post(1, 2)
            with ingest_mod._one_at_a_time:  # this process is busy with another batch
                waiting = threading.Thread(target=post, args=(3, 4))
                waiting.start()
                time.sleep(0.3)
                assert waiting.is_alive()  # the batch waits for the worker
            waiting.join(30)
    finally:
        server.stop()
    assert [r.status_code for r in answers] == [200, 200]
    assert answers[0].headers.get("connection") != "close" and answers[1].headers["connection"] == "close"
    assert _count(db, device.device_id) == 4


def test_resent_overlapping_batch_stores_only_the_new_entries(db, device):
    _fill(device, 15)
    assert ingest(db, _wire(device, 1, 10)).status_code == 200
    res = ingest(db, _wire(device, 1, 15))  # e.g. after a relay crash before it recorded the ack
    assert res.status_code == 200 and res.stored == 5 and res.body["acked_seq"] == 15
    res = ingest(db, _wire(device, 4, 15))
    assert res.status_code == 200 and res.stored == 0 and res.body["acked_seq"] == 15
    assert _count(db, device.device_id) == 15
    with db.read() as conn:
        seqs = [r[0] for r in conn.execute(text("SELECT seq FROM entries WHERE device_id = :d ORDER BY seq"), {"d": device.device_id})]
    assert seqs == list(range(1, 16))


def test_gap_is_refused_with_an_alert(db, device):
    _fill(device, 20)
    assert ingest(db, _wire(device, 1, 10)).status_code == 200
    res = ingest(db, _wire(device, 12, 20))
    assert res.status_code == 409 and res.body["reason"] == "gap" and res.body["head_seq"] == 10
    assert _count(db, device.device_id) == 10
    assert [a["kind"] for a in _alerts(db)] == ["gap"]
    ingest(db, _wire(device, 12, 20))  # the same refusal again is counted, not repeated
    assert _alerts(db, "gap")[0]["count"] == 2


def test_fork_is_refused_with_an_alert(db, device):
    _fill(device, 10)
    assert ingest(db, _wire(device, 1, 10)).status_code == 200
    fork = SigningDevice(device_id=device.device_id, key=device.key, entries=list(device.entries[:9]))
    fork.append("transaction", pawn_payload(999))  # another entry 10
    fork.append("transaction", pawn_payload(1000))  # 11 links to the other 10
    res = ingest(db, _wire(fork, 11, 11))
    assert res.status_code == 409 and res.body["reason"] == "fork"
    assert [a["kind"] for a in _alerts(db)] == ["fork"]
    assert _count(db, device.device_id) == 10


def test_same_seq_with_other_content_is_a_conflict(db, device):
    _fill(device, 10)
    assert ingest(db, _wire(device, 1, 10)).status_code == 200
    other = SigningDevice(device_id=device.device_id, key=device.key, entries=list(device.entries[:7]))
    for i in range(3):
        other.append("transaction", pawn_payload(500 + i))
    other.append("transaction", pawn_payload(600))
    res = ingest(db, _wire(other, 6, 11))
    assert res.status_code == 409 and res.body["reason"] == "conflict" and "seq 8" in res.body["detail"]
    assert [a["kind"] for a in _alerts(db)] == ["conflict"]
    assert _count(db, device.device_id) == 10


def test_replayed_old_batch_is_refused_with_an_alert(db, device):
    _fill(device, 10)
    old = _wire(device, 1, 5)
    assert ingest(db, old).status_code == 200
    newer = _wire(device, 6, 10)
    assert ingest(db, newer).status_code == 200
    res = ingest(db, old)
    assert res.status_code == 409 and res.body["reason"] == "replay"
    assert [a["kind"] for a in _alerts(db)] == ["replay"]
    assert ingest(db, newer).status_code == 200  # the latest batch re-sent is an idempotent retry
    assert _count(db, device.device_id) == 10


def test_wrong_key_is_refused_with_an_alert(db, device):
    _fill(device, 3)
    impostor = SigningDevice(device_id=device.device_id, entries=device.entries)  # same id, other key
    res = ingest(db, _wire(impostor, 1, 3))
    assert res.status_code == 401 and res.body["reason"] == "signature"
    assert [a["kind"] for a in _alerts(db)] == ["signature"]
    assert _count(db, device.device_id) == 0


def test_tampered_entry_signed_by_the_device_is_refused_with_an_alert(db, device):
    """An entry altered after the shop hashed it breaks the link to it (the last one: the head
    hash); a line that is not the canonical JSON the shop hashes is refused as it stands. All
    signed by the enrolled device, so each is tampering with an alert, and nothing is stored."""
    _fill(device, 3)
    b = batch_mod.build_batch(device.device_id, device.entries, prev_hash=device.prev_of(1))

    def altered(i: int, **payload) -> bytes:  # in the entry's own canonical form
        e = device.entries[i]
        return dataclasses.replace(e, payload=e.payload | payload).canonical()

    cases = [
        ([b.lines[0], altered(1, loan_vnd=1), b.lines[2]], "is not the hash of entry seq 2 as sent"),
        ([b.lines[0], b.lines[1], altered(2, loan_vnd=1)], "last entry (seq 3)"),
        ([b.lines[0], b.lines[1].replace(b'"kind":', b'"kind": '), b.lines[2]], "seq 2 is not in canonical form"),
        ([b.lines[0], b.lines[1][:-1], b.lines[2]], "entry 2 of the batch is not JSON"),
        ([b.lines[0], canonical_json({**device.entries[1].body(), "hash": device.entries[1].hash}), b.lines[2]],
         "entry 2 of the batch: expected an entry body"),
    ]
    for n, (lines, why) in enumerate(cases, 1):
        res = ingest(db, _raw_wire(b.header(), lines, device.sign))
        assert res.status_code == 422 and res.body["reason"] == "tampered" and why in res.body["detail"], res.body
        assert [a["kind"] for a in _alerts(db)] == ["tampered"] * n
    assert _count(db, device.device_id) == 0
    assert ingest(db, _raw_wire(b.header(), list(b.lines), device.sign)).status_code == 200  # the lines as hashed


def test_unknown_device_and_garbage_are_refused_without_alerts(db, device):
    stranger = SigningDevice()
    _fill(stranger, 2)
    assert ingest(db, _wire(stranger, 1, 2)).body["reason"] == "unknown-device"
    assert ingest(db, b"not gzip").status_code == 400
    assert ingest(db, gzip.compress(b"[1,2]")).status_code == 400
    assert ingest(db, gzip.compress(batch_mod.FORMAT.encode() + b"\nAAAA\n" + b"{" * 10)).status_code == 400
    assert ingest(db, gzip.compress(batch_mod.FORMAT.encode() + b"\nnot base64!\n{}")).status_code == 400
    older = ingest(db, gzip.compress(b"chipid-sync-batch/1\nAAAA\n{}"))  # a shop of an earlier format: it must update
    assert older.status_code == 426 and older.body["reason"] == "upgrade_required" and "chipid-sync-batch/4" in older.body["detail"]
    newer = ingest(db, gzip.compress(b"chipid-sync-batch/9\nAAAA\n{}"))  # not a format this backend knows: garbage
    assert newer.status_code == 400 and "expected a chipid-sync-batch/4 batch" in newer.body["detail"]
    bomb = gzip.compress(b" " * (batch_mod.MAX_JSON_BYTES + 10))
    assert ingest(db, bomb).status_code == 413
    assert _alerts(db) == []


def test_checkpoint_must_be_signed_and_match_the_chain(db, device):
    _fill(device, 10)
    forged = Checkpoint(device.device_id, 5, device.entries[4].hash, utc_now(), base64.b64encode(b"x" * 64).decode())
    res = ingest(db, _wire(device, 1, 5, checkpoint=forged))
    assert res.status_code == 422 and res.body["reason"] == "checkpoint"
    lying = Checkpoint(device.device_id, 8, "ab" * 32, utc_now()).signed(device.key)  # ahead of the batch: held
    assert ingest(db, _wire(device, 1, 5, checkpoint=lying)).status_code == 200
    res = ingest(db, _wire(device, 6, 10))
    assert res.status_code == 409 and res.body["reason"] == "checkpoint" and "seq 8" in res.body["detail"]
    assert sorted(a["kind"] for a in _alerts(db)) == ["checkpoint", "checkpoint"]
    assert _count(db, device.device_id) == 5


def test_priority_suspicious_event_alerts_at_once_and_is_checked_when_the_chain_arrives(db, device):
    _fill(device, 5)
    ev = device.append("event", {"contract_no": "HĐ-2026-000003", "type": "suspicious", "reason": "giấy tờ nghi giả"})
    assert ingest(db, _wire(device, 6, 6, priority=True)).status_code == 200
    assert [a["kind"] for a in _alerts(db)] == ["suspicious"]
    assert _count(db, device.device_id) == 0
    res = ingest(db, _wire(device, 1, 6))
    assert res.status_code == 200 and res.stored == 6
    assert len(_alerts(db, "suspicious")) == 1 and _alerts(db, "suspicious")[0]["count"] == 1
    assert ev.seq == 6


def test_priority_event_then_other_content_in_the_chain_is_a_conflict(db, device):
    _fill(device, 2)
    device.append("event", {"contract_no": "HĐ-2026-000001", "type": "suspicious"})
    assert ingest(db, _wire(device, 3, 3, priority=True)).status_code == 200
    other = SigningDevice(device_id=device.device_id, key=device.key, entries=list(device.entries[:2]))
    other.append("event", {"contract_no": "HĐ-2026-000001", "type": "redeemed"})
    res = ingest(db, _wire(other, 1, 3))
    assert res.status_code == 409 and res.body["reason"] == "conflict"


def test_batch_from_another_device_cannot_ride_on_a_device_id(db, make_device):
    a = make_device()
    b = make_device(shop="Cầm đồ B", license_no="LIC-B", province="79")
    _fill(a, 2)
    entries = [Entry.from_json({**e.to_json()}) for e in a.entries]
    batch = batch_mod.build_batch(a.device_id, entries, prev_hash=a.prev_of(1))
    res = ingest(db, _raw_wire(batch.header() | {"device_id": b.device_id}, batch.lines, b.sign))  # b signs a's entries under its own id
    assert res.status_code == 422 and res.body["reason"] == "tampered"
    assert _count(db, b.device_id) == 0 and _count(db, a.device_id) == 0


def test_odd_characters_survive_storage_and_the_export_verifies(db, device):
    from sync.backend.export import export_device
    from verifier.ledger.export import verify_bundle

    weird = "a\\b\tc\nd\re \u2028 ' \" %s :x \\N \x00 Ω 😀"
    device.append("transaction", {**pawn_payload(1), "contract_no": "HĐ\t1\\N", "notes": weird,
                                  "items": [{"description": weird, "serial": "SN\\1\t2"}]})
    device.append("event", {"type": "redeemed", "txn_id": pawn_payload(1)["id"], "notes": weird})
    assert ingest(db, _wire(device, 1, 2, checkpoint=device.checkpoint(2))).status_code == 200
    bundle = export_device(db, device.device_id)
    report = verify_bundle(bundle)
    assert report["ok"], report
    assert bundle["entries"][0]["payload"]["notes"] == weird
    assert [e["hash"] for e in bundle["entries"]] == [e.hash for e in device.entries]


def test_person_history_finds_events_of_a_contract_whose_id_has_spaces(db, device):
    """The history looks a contract's events up by the contract's id exactly as ingest keyed
    it (trimmed), so an id the shop stored with stray spaces still finds its events."""
    txn = pawn_payload(7) | {"id": "  HĐ-7  "}
    device.append("transaction", txn)
    device.append("event", event_payload(8, {"id": "HĐ-7"}, "redeemed"))
    assert ingest(db, _wire(device, 1, 2)).status_code == 200
    history = search.person_history(db, txn["pawner"]["id_number"])
    assert [e["seq"] for e in history["transactions"]] == [1]
    assert [(e["seq"], e["event_type"]) for e in history["events"]] == [(2, "redeemed")]


def _keys_of(db, seq: int) -> set[int]:
    with db.read() as conn:
        if db.dialect == "postgresql":
            return set(conn.execute(text("SELECT keys FROM entries WHERE seq = :s"), {"s": seq}).scalar())
        return set(conn.execute(text("SELECT k FROM entry_keys WHERE seq = :s"), {"s": seq}).scalars())


def test_an_entry_keeps_each_of_its_blind_keys_and_key_filters_combine(db, device):
    """Every searched value of an entry is one blind key of it (an array column on
    PostgreSQL, rows on SQLite); several key filters in one query must all match."""
    txn = pawn_payload(3, id_number="079088001234", serial="SN-77 01", name="Trần Thị Lan")
    device.append("transaction", txn)
    device.append("event", event_payload(4, txn, "redeemed"))
    assert ingest(db, _wire(device, 1, 2)).status_code == 200
    blind = db.vault.blind
    pawner = txn["pawner"]
    assert _keys_of(db, 1) == {blind("id", "079088001234"), blind("serial", "SN7701"), blind("txn", txn["id"]),
                               blind("name", "tran thi lan"), blind("name", "thi lan"), blind("name", "lan"),
                               # the watchlist's name + birth date, and the address that links people
                               blind("namedob", person_key("Trần Thị Lan", pawner["date_of_birth"])),
                               blind("addr", norm_address(pawner["place_of_residence"]))}
    assert _keys_of(db, 2) == {blind("txn", txn["id"])}

    def seqs(**kw):
        return [h["seq"] for h in search.search_entries(db, search.Query(**kw))]

    assert seqs(id_number="079088001234", serial="sn 7701", name="thi LAN") == [1]
    assert seqs(id_number="079088001234", serial="SN7702") == []
    assert seqs(id_number="079088001234", name="van lan") == []


def test_key_searches_use_the_key_index(db, device):
    """A key search and a person's events (any of several keys) are served by the key index:
    GIN ``entries_keys`` on PostgreSQL, ``entry_keys_k`` on SQLite."""
    _fill(device, 2)
    assert ingest(db, _wire(device, 1, 2)).status_code == 200
    cond, params = schema.has_keys(db.dialect, [1, 2], any_of=True)
    for sql, p in (search._build(db, search.Query(id_number="0123", serial="SN1")),
                   (f"SELECT seq FROM entries e WHERE {cond}", params)):
        with db.read() as conn:
            if db.dialect == "postgresql":
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the table is tiny: ask whether the index can serve
                plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), p))
            else:
                plan = "\n".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql), p))
        assert ("entries_keys" if db.dialect == "postgresql" else "entry_keys_k") in plan, plan


def test_a_contract_with_chip_evidence_stays_in_its_table_page(db, device):
    """A contract carrying chip evidence is a 6 KB line of mostly base64 (EF.SOD, DGs, AA): on
    PostgreSQL its sealed body stays inline (``toast_tuple_target``), none of it goes to the TOAST
    table; on both databases it reads back whole."""
    import json
    import random

    txn = pawn_payload(7)
    blob = random.Random(7).randbytes(3000)  # incompressible, as a SOD's signature and certificates are
    txn["evidence"] = {"sod": base64.b64encode(blob).decode()}
    device.append("transaction", txn)
    assert ingest(db, _wire(device, 1, 1)).status_code == 200
    with db.read() as conn:
        shop_id, body = conn.execute(text("SELECT shop_id, body FROM entries WHERE device_id = :d AND seq = 1"),
                                     {"d": device.device_id}).one()
        assert len(body) > 4000, len(body)
        if db.dialect == "postgresql":
            toast = conn.execute(text("SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'entries'")).scalar()
            assert conn.execute(text(f"SELECT count(*) FROM {toast}")).scalar() == 0
    stored = json.loads(db.vault.open_entry(body, shop_id, device.device_id, 1))
    assert stored["payload"] == txn and base64.b64decode(stored["payload"]["evidence"]["sod"]) == blob


def test_a_version_3_database_is_migrated_and_still_finds_its_entries(db, device):
    """Schema 3 kept PostgreSQL's keys in an ``entry_keys`` table; opening it migrates them into
    ``entries.keys`` (a SQLite database of version 3 is laid out as 4 already)."""
    from sync.backend.db import Database

    txn = pawn_payload(5)
    device.append("transaction", txn)
    device.append("event", event_payload(6, txn, "redeemed"))
    assert ingest(db, _wire(device, 1, 2)).status_code == 200
    keys = {1: _keys_of(db, 1), 2: _keys_of(db, 2)}
    with db.write() as conn:  # back to version 3's layout
        if db.dialect == "postgresql":
            conn.exec_driver_sql("CREATE TABLE entry_keys (shop_id TEXT NOT NULL, device_id TEXT NOT NULL, seq BIGINT NOT NULL, "
                                 "k BIGINT NOT NULL)")
            conn.exec_driver_sql("INSERT INTO entry_keys SELECT shop_id, device_id, seq, unnest(keys) FROM entries")
            conn.exec_driver_sql("CREATE INDEX entry_keys_k ON entry_keys USING hash (k)")
            conn.exec_driver_sql("ALTER TABLE entries DROP COLUMN keys")
        conn.exec_driver_sql("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    _sealed_back_to_text(db)  # as version 3 stored them
    again = Database.open(database_url=db.url, vault=db.vault)
    try:
        with again.read() as conn:
            assert conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar() == "5"
        assert {1: _keys_of(again, 1), 2: _keys_of(again, 2)} == keys
        history = search.person_history(again, txn["pawner"]["id_number"])
        assert [e["seq"] for e in history["transactions"]] == [1] and [e["seq"] for e in history["events"]] == [2]
    finally:
        again.close()


def _sealed_back_to_text(db) -> None:
    """Sealed entry bodies and item photos as schema versions 3 and 4 stored them: ``z1:`` + base64 text."""
    with db.write() as conn:
        for table, column in schema.SEALED_COLUMNS:
            if db.dialect == "postgresql":
                conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT USING "
                                     f"'z1:' || translate(encode(substr({column}, 3), 'base64'), E'\\n', '')")
            else:
                rows = conn.exec_driver_sql(f"SELECT rowid, {column} FROM {table}").all()
                for rowid, value in rows:
                    conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE rowid = :r"),
                                 {"v": "z1:" + base64.b64encode(value[2:]).decode(), "r": rowid})


def test_a_version_4_database_is_migrated_to_sealed_bytes_and_reads_as_before(db, device):
    """Schema 4 stored each sealed entry body and item photo as ``z1:`` + base64 text; opening it turns
    each into the bytes its base64 held, and every reader finds what it found before."""
    from sync.backend import photos
    from sync.backend.db import Database
    from sync.backend.vault import ENTRY_FORMAT

    txn = pawn_payload(5)
    device.append("transaction", txn)
    device.append("event", event_payload(6, txn, "redeemed"))
    assert ingest(db, _wire(device, 1, 2)).status_code == 200
    photo = b"\xff\xd8\xff\xe0 the bytes of an item photo"
    with db.write() as conn:
        shop_id = conn.execute(text("SELECT shop_id FROM devices WHERE device_id = :d"), {"d": device.device_id}).scalar()
        conn.execute(text("INSERT INTO item_photos (shop_id, txn_id, kind, device_id, seq, contract_no, sha256, data, received_at) "
                          "VALUES (:s, :t, 'item-1', :d, 1, :c, :h, :b, :r)"),
                     {"s": shop_id, "t": txn["id"], "d": device.device_id, "c": txn["contract_no"],
                      "h": hashlib.sha256(photo).hexdigest(), "r": utc_now(),
                      "b": db.vault.seal_entry(photo, shop_id, photos._aad_device(txn["id"], "item-1"), 1)})
    lines = {e.seq: e.canonical() for e in device.entries}
    _sealed_back_to_text(db)
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    with db.read() as conn:
        old = conn.execute(text("SELECT body FROM entries ORDER BY seq")).scalars().all()
    assert len(old) == 2 and all(type(b) is str and b.startswith("z1:") for b in old)
    again = Database.open(database_url=db.url, vault=db.vault)
    try:
        with again.read() as conn:
            assert conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar() == "5"
            rows = conn.execute(text("SELECT seq, body FROM entries ORDER BY seq")).all()
        assert all(type(b) is bytes and b.startswith(ENTRY_FORMAT) for _, b in rows)
        assert {seq: again.vault.open_entry(b, shop_id, device.device_id, seq) for seq, b in rows} == lines
        assert photos.read(again, shop_id, txn["id"], "item-1") == photo
        history = search.person_history(again, txn["pawner"]["id_number"])
        assert [e["seq"] for e in history["transactions"]] == [1] and [e["seq"] for e in history["events"]] == [2]
        assert ingest(again, _wire(device, 1, 2)).status_code == 200  # the chain still answers a re-sent batch
    finally:
        again.close()


def test_a_rolled_back_checkpoint_is_refused_with_an_alert(db, device):
    """A signed head only grows (RFC 9162 §2.1.4): after a checkpoint at seq 10, one at seq 5 (a
    shop ledger restored from an old backup, or a replayed old checkpoint) is refused."""
    _fill(device, 12)
    assert ingest(db, _wire(device, 1, 10, checkpoint=device.checkpoint(10))).status_code == 200
    res = ingest(db, _wire(device, 1, 12, checkpoint=device.checkpoint(5)))
    assert res.status_code == 409 and res.body["reason"] == "checkpoint", res.body
    assert "seq 5" in res.body["detail"] and "seq 10" in res.body["detail"] and "rolled back" in res.body["detail"]
    assert [a["kind"] for a in _alerts(db)] == ["checkpoint"]
    assert _count(db, device.device_id) == 10  # nothing of the refused batch stored
    # the same checkpoint again, or a newer one, is fine
    assert ingest(db, _wire(device, 11, 12, checkpoint=device.checkpoint(10))).status_code == 200
    assert ingest(db, _wire(device, 11, 12, checkpoint=device.checkpoint(12))).status_code == 200


def test_a_seq_0_checkpoint_must_name_the_genesis_and_not_come_after_others(db, device):
    _fill(device, 6)
    liar = Checkpoint(device.device_id, 0, device.entries[2].hash, utc_now()).signed(device.key)
    res = ingest(db, _wire(device, 1, 3, checkpoint=liar))
    assert res.status_code == 409 and res.body["reason"] == "checkpoint" and "seq 0" in res.body["detail"]
    assert _count(db, device.device_id) == 0
    # an empty ledger's honest checkpoint (seq 0, genesis) is fine before any other
    assert ingest(db, _wire(device, 1, 3, checkpoint=device.checkpoint(0))).status_code == 200
    assert ingest(db, _wire(device, 4, 4, checkpoint=device.checkpoint(4))).status_code == 200
    res = ingest(db, _wire(device, 5, 6, checkpoint=device.checkpoint(0)))
    assert res.status_code == 409 and "rolled back" in res.body["detail"]
    assert sorted(a["kind"] for a in _alerts(db)) == ["checkpoint", "checkpoint"]
    assert _count(db, device.device_id) == 4


def test_bulk_insert_writes_each_value_as_stored_keys_empty_or_at_the_64_bit_limits(db):
    """Ingest's bulk insert (binary COPY on PostgreSQL, with its own int8[] encoding; executemany on
    SQLite) stores what it is given: bytes as bytes, text with tabs and newlines, no keys, extreme keys."""
    pg = db.dialect == "postgresql"
    keys_col = ", keys BIGINT[] NOT NULL" if pg else ""
    rows = [("a\tb\nc\\", b"z1\x00\xff", [-2**63, 0, 2**63 - 1]), ("é", b"", []), ("x", b"y", [7])]
    with db.write() as conn:
        conn.exec_driver_sql(f"CREATE TABLE t_bulk (t TEXT NOT NULL, b {'BYTEA' if pg else 'BLOB'} NOT NULL{keys_col})")
        if pg:
            ingest_mod.bulk_insert(db, conn, "t_bulk", ("t", "b", "keys"), rows, ("text", "bytea", "int8[]"))
        else:
            ingest_mod.bulk_insert(db, conn, "t_bulk", ("t", "b"), [r[:2] for r in rows])
    with db.read() as conn:
        got = [tuple(r) for r in conn.exec_driver_sql(f"SELECT t, b{', keys' if pg else ''} FROM t_bulk ORDER BY b").all()]
    want = sorted(rows if pg else [r[:2] for r in rows], key=lambda r: r[1])
    assert [(t, bytes(b), *rest) for t, b, *rest in got] == want
