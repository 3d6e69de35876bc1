"""Personal data at rest in the police backend (sync/backend/vault.py): after ingest and
searches, neither the holder's name (as typed, NFD, or folded) nor the ID number appears in
any file of the SQLite data directory or in any PostgreSQL table (pg_dump), while search by
ID number, name and serial and the export bundle still work through the API."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import unicodedata
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sync import batch as batch_mod
from sync.backend import auth, enroll, schema, watchlist
from sync.backend.app import create_app
from sync.backend.db import SQLITE_FILE, Database
from sync.backend import vault as vault_mod
from sync.backend.vault import DATA_KEY_ENV, ENTRY_FORMAT, INDEX_KEY_ENV, KEY_FILE, Vault
from sync.testing import SigningDevice, ThreadServer, pawn_payload
from verifier.errors import ConfigError, SyncError, TamperError
from verifier.ledger.entry import canonical_json
from verifier.ledger.export import verify_bundle

NAME = "Nguyễn Văn Ấn Khuê"
ID_NUMBER = "079188004321"
SERIAL = "IMEI-3520-9911-7654"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _needles() -> list[bytes]:
    forms = {NAME, unicodedata.normalize("NFD", NAME), NAME.lower(), "nguyen van an khue", "Nguyen Van An Khue",
             "van an khue", "an khue", ID_NUMBER, "3520991176", "IMEI35209911765"}
    out = set()
    for f in forms:
        out |= {f.encode("utf-8"), f.encode("utf-16-le")}
    return sorted(out)


def _enroll(db: Database) -> SigningDevice:
    dev = SigningDevice()
    tok = enroll.add_device_token(db, shop="Cầm đồ Bí Mật", license_no="BM-1", province="01")["token"]
    proof = base64.b64encode(dev.sign(enroll.enroll_message(tok, dev.device_id))).decode()
    enroll.enroll_device(db, token=tok, device_id=dev.device_id, public_key=dev.public_key, proof=proof)
    return dev


def _populate_and_search(db: Database) -> None:
    """Ingest through the API, then search by ID number, name, serial; check results and export."""
    server = ThreadServer(create_app(db)).start()
    try:
        dev = _enroll(db)
        watchlist.add_items(db, [{"kind": "cccd", "value": ID_NUMBER, "note": f"truy nã {NAME}"}], "quan.tri")
        assert [(i["value"], i["note"]) for i in watchlist.list_items(db)] == [(ID_NUMBER, f"truy nã {NAME}")]
        for i in range(12):
            dev.append("transaction", pawn_payload(i, id_number=ID_NUMBER if i in (2, 9) else None,
                                                   name=NAME if i in (2, 9) else None, serial=SERIAL if i == 9 else None))
        dev.append("event", {"type": "suspicious", "txn_id": pawn_payload(9)["id"], "reason": f"CCCD của {NAME} nghi giả"})
        b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1), checkpoint=dev.checkpoint(13))
        r = httpx.post(server.url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                       headers={"Content-Encoding": "gzip", "Content-Type": "application/vnd.chipid.batch"})
        assert r.status_code == 200, r.text
        auth.add_user(db, "kiem.tra", "inspector", "mat-khau-dai-9")
        tok = httpx.post(server.url + "/api/v1/login", json={"name": "kiem.tra", "password": "mat-khau-dai-9"}).json()["token"]
        h = {"Authorization": f"Bearer {tok}"}

        def search(**params):
            r = httpx.get(server.url + "/api/v1/entries", params=params, headers=h)
            assert r.status_code == 200, r.text
            return r.json()["entries"]

        by_id = search(id_number="0791-8800-4321")
        assert sorted(e["seq"] for e in by_id) == [3, 10]
        assert {e["payload"]["pawner"]["full_name"] for e in by_id} == {NAME}
        assert {e["payload"]["pawner"]["id_number"] for e in by_id} == {ID_NUMBER}
        for name in ("nguyen van an khue", NAME, "Ấn Khuê", "khue"):
            assert sorted(e["seq"] for e in search(name=name)) == [3, 10], name
        assert search(name="nguyen van") == []  # exact match on trailing words, not a prefix
        hit = search(serial="imei 3520991176 54")
        assert [e["seq"] for e in hit] == [10] and hit[0]["payload"]["items"][0]["serial"] == SERIAL
        assert search(q="nguyen") == [] and search(q=ID_NUMBER) == []  # free text holds no names or ID numbers
        person = httpx.get(server.url + f"/api/v1/persons/{ID_NUMBER}", headers=h)
        assert person.status_code == 200, person.text
        assert [t["payload"]["pawner"]["full_name"] for t in person.json()["transactions"]] == [NAME, NAME]
        alerts = httpx.get(server.url + "/api/v1/alerts", headers=h).json()["alerts"]
        assert sorted(a["kind"] for a in alerts) == ["suspicious", "watchlist", "watchlist"]
        assert all(ID_NUMBER in a["detail"] and NAME in a["detail"] for a in alerts if a["kind"] == "watchlist")
        assert all(NAME in a["detail"] for a in alerts if a["kind"] == "suspicious")
        bundle = httpx.get(server.url + "/api/v1/shops/01-BM1/export", headers=h).json()
        report = verify_bundle(bundle)
        assert report["ok"] and report["entries"] == 13, report
        assert bundle["entries"][2]["payload"]["pawner"]["full_name"] == NAME
    finally:
        server.stop()


def _assert_absent(blob: bytes, where: str) -> None:
    for n in _needles():
        assert n not in blob, f"{n!r} found in {where}"


def test_sqlite_data_dir_holds_no_personal_data(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_KEY_ENV, raising=False)
    monkeypatch.delenv(INDEX_KEY_ENV, raising=False)
    data_dir = tmp_path / "backend"
    db = Database.open(data_dir)
    try:
        _populate_and_search(db)
        with db.read() as conn:
            raw = conn.execute(text("SELECT body FROM entries ORDER BY seq")).scalars().all()
        assert raw and all(type(b) is bytes and b.startswith(ENTRY_FORMAT) for b in raw)
    finally:
        db.close()
    key_file = data_dir / KEY_FILE
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("backend.sqlite3") for p in files)
    for p in files:
        _assert_absent(p.read_bytes(), str(p))
    # the same key file opens it again and finds the entries
    db = Database.open(data_dir)
    try:
        from sync.backend.alerts import list_alerts, raise_alert
        from sync.backend.search import Query, search_entries

        assert len(search_entries(db, Query(id_number=ID_NUMBER))) == 2
        with db.write() as conn:  # the same detail again is counted up, not repeated (blind detail_key)
            before = list_alerts(conn, db.vault, kind="suspicious")
            assert len(before) == 1 and before[0]["count"] == 1
            raise_alert(conn, db.vault, shop_id=before[0]["shop_id"], device_id=before[0]["device_id"],
                        kind="suspicious", detail=before[0]["detail"], seq=13)
            after = list_alerts(conn, db.vault, kind="suspicious")
            assert [(a["count"], a["detail"]) for a in after] == [(2, before[0]["detail"])]
    finally:
        db.close()


@pytest.mark.postgres
def test_postgres_dump_holds_no_personal_data(pg_admin_url):
    from sync.testing import create_database, drop_database

    name = "chipid_atrest_" + os.urandom(4).hex()
    url = create_database(pg_admin_url, name)
    try:
        db = Database.open(database_url=url)  # keys from the environment (conftest sets them)
        try:
            _populate_and_search(db)
        finally:
            db.close()
        dump = subprocess.run([str(PG_BIN / "pg_dump"), "--data-only", "--no-owner", url.replace("+psycopg", "")],
                              capture_output=True, timeout=60)
        assert dump.returncode == 0, dump.stderr.decode(errors="replace")
        assert b"COPY public.entries" in dump.stdout and b"\\\\x7a31" in dump.stdout and b"v1:" in dump.stdout
        _assert_absent(dump.stdout, "pg_dump of the backend database")
    finally:
        drop_database(pg_admin_url, name)


def test_entry_dictionary_is_frozen():
    """Stored bodies decompress only with these exact bytes: a new dictionary needs a new prefix."""
    data = (Path(vault_mod.__file__).parent / "data" / "entry-dictionary-1.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == "f2911a32bd337726cffee6097ebae61e11f5940dd261cec5c03da22526cc727b"


def test_wrong_keys_and_plaintext_schema_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_KEY_ENV, raising=False)
    monkeypatch.delenv(INDEX_KEY_ENV, raising=False)
    data_dir = tmp_path / "b"
    Database.open(data_dir).close()
    other = Vault(os.urandom(32), os.urandom(32))
    with pytest.raises(SyncError, match="other keys"):
        Database.open(data_dir, vault=other)
    with pytest.raises(SyncError, match="other keys"):
        Database.open(data_dir, vault=other, migrate=False)
    # older databases (1: plaintext bodies, 2: hex blind keys) are refused with a clear error, not misread
    for old in ("1", "2"):
        db = Database(f"sqlite:///{data_dir / SQLITE_FILE}", Vault.load(data_dir))  # no version check on this path
        with db.write() as conn:
            conn.execute(text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": old})
        db.close()
        with pytest.raises(SyncError, match=f"expected schema version 5, found '{old}'.*not migrated.*enrol"):
            Database.open(data_dir)
        with pytest.raises(SyncError, match="not migrated"):
            Database.open(data_dir, migrate=False)
    assert schema.SCHEMA_VERSION == 5


def test_vault_keys_and_tamper(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_KEY_ENV, base64.b64encode(b"d" * 32).decode())
    monkeypatch.delenv(INDEX_KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=INDEX_KEY_ENV):
        Vault.load(tmp_path)
    monkeypatch.setenv(INDEX_KEY_ENV, "not base64!")
    with pytest.raises(ConfigError, match="base64"):
        Vault.load(tmp_path)
    monkeypatch.setenv(INDEX_KEY_ENV, base64.b64encode(b"i" * 16).decode())
    with pytest.raises(ConfigError, match="16 bytes"):
        Vault.load(tmp_path)
    monkeypatch.setenv(INDEX_KEY_ENV, base64.b64encode(b"i" * 32).decode())
    v = Vault.load(tmp_path)
    assert not (tmp_path / KEY_FILE).exists()  # environment keys: no key file written
    sealed = v.seal('{"a":1}', "S", "D", 7)
    assert sealed.startswith("v1:") and v.open(sealed, "S", "D", 7) == '{"a":1}'
    with pytest.raises(TamperError, match=r"^value of S\|D\|8: .*altered or moved"):
        v.open(sealed, "S", "D", 8)  # moved to another row (named by its row, not as an entry)
    with pytest.raises(TamperError, match="plaintext"):
        v.open('{"a":1}', "S", "D", 7)
    contract = canonical_json({"kind": "transaction", "payload": pawn_payload(7), "seq": 7})
    body = v.seal_entry(contract, "S", "D", 7)
    assert body.startswith(ENTRY_FORMAT) and v.open_entry(body, "S", "D", 7) == contract
    assert len(body) < len(contract) / 2  # compressed against the entry dictionary before sealing
    with pytest.raises(TamperError, match=r"^entry D#8: .*altered or moved"):
        v.open_entry(body, "S", "D", 8)
    with pytest.raises(TamperError, match="expected a sealed entry body .*found text"):
        v.open_entry(sealed, "S", "D", 7)  # a v1 value is not an entry body
    with pytest.raises(TamperError, match="expected a sealed entry body .*found other bytes"):
        v.open_entry(b"z2" + body[2:], "S", "D", 7)  # another format's marker
    with pytest.raises(TamperError, match=r"^entry D#7: .*altered or moved"):
        v.open_entry(body[:5], "S", "D", 7)  # cut short inside its nonce
    evidence = canonical_json({"kind": "transaction", "payload": {**pawn_payload(11), "evidence": {
        "sod": base64.b64encode(os.urandom(3000)).decode()}}, "seq": 11})  # a long body (its own zstd level)
    assert len(evidence) > vault_mod.LONG_ENTRY > len(contract)
    many = v.seal_entries("S", "D", [(8, contract), (9, contract), (10, b"{}"), (11, evidence)])  # one batch's bodies at once
    assert [v.open_entry(b, "S", "D", seq) for b, seq in zip(many, (8, 9, 10, 11))] == [contract, contract, b"{}", evidence]
    assert len(many[3]) < len(evidence) * 0.85  # base64 is still packed
    nonces = {b[2:14] for b in many + [body]}
    assert len(nonces) == 5  # a nonce of its own for each, also within one call
    with pytest.raises(TamperError, match=r"^entry D#9: "):
        v.open_entry(many[0], "S", "D", 9)  # bound to its own seq
    blind = v.blind("id", "079090001234")
    assert blind != v.blind("serial", "079090001234") and type(blind) is int and -2**63 <= blind < 2**63
    assert blind == v.blind("id", "079090001234")  # deterministic: a search finds what ingest stored
    assert blind == int.from_bytes(hashlib.blake2b(b"id:079090001234", key=b"i" * 32, digest_size=8).digest(), "big", signed=True)
    keys = [("id", "079090001234"), ("name", "nguyen van an"), ("id", "1"), ("name", "an")]
    assert v.blind_keys(keys) == [v.blind(t, x) for t, x in keys] and v.blind_keys([]) == []
    monkeypatch.delenv(DATA_KEY_ENV)
    monkeypatch.delenv(INDEX_KEY_ENV)
    with pytest.raises(ConfigError, match="found neither"):
        Vault.load(None)
    a, b = Vault.load(tmp_path), Vault.load(tmp_path)  # created once, then read back
    assert a.blind("id", "1") == b.blind("id", "1") != v.blind("id", "1")
