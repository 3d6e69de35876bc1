"""The batch format at the police backend (issue 19 item 8), over real HTTP on SQLite and PostgreSQL:
an updated shop delivers the entries it wrote before (legacy bytes) and since (RFC 8785) and the
backend's export verifies, also by an independent rfc8785 verifier; a shop still on format 3 is
answered HTTP 426 ``upgrade_required`` and its relay tells the clerk, in Vietnamese, to update."""

from __future__ import annotations

import gzip

import httpx
from sqlalchemy import text

from sync import batch as batch_mod
from sync.backend import auth, enroll
from sync.enrollment import enroll as shop_enroll
from sync.relay import Relay, RelaySettings, sync_status
from sync.testing import SigningDevice, pawn_payload
from verifier import messages
from verifier.ledger.export import verify_bundle

from tests.sync.conftest import format_3_wire
from tests.sync.test_canonical_ledger import fill_updated_ledger, independent_verify


def _stored(db, device_id: str) -> list[tuple]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT seq, hash FROM entries WHERE device_id = :d ORDER BY seq"),
                                                {"d": device_id})]


def _alerts(db) -> list:
    with db.read() as conn:
        return conn.execute(text("SELECT kind FROM alerts")).all()


def _enrolled(backend, ledger) -> dict:
    tok = enroll.add_device_token(backend.db, shop="Cầm đồ Kim Long", license_no="KL-77", province="79")["token"]
    return shop_enroll(ledger, backend.url, tok)


def test_an_updated_shop_delivers_old_and_new_entries_and_the_export_verifies(backend, shop_ledger):
    _enrolled(backend, shop_ledger)
    fill_updated_ledger(shop_ledger, old=5, new=5)
    mine = [(e.seq, e.hash) for e in shop_ledger.entries(0, 1000)]
    assert {e.canon for e in shop_ledger.entries(0, 1000)} == {None, "jcs"}
    relay = Relay(shop_ledger, RelaySettings(backend.url, batch_size=4))  # batches mixing the two forms
    assert relay.drain() == len(mine)
    assert _stored(backend.db, shop_ledger.device_id) == mine
    auth.add_user(backend.db, "inspector1", "inspector", "mat-khau-rat-dai")
    token = httpx.post(backend.url + "/api/v1/login", json={"name": "inspector1", "password": "mat-khau-rat-dai"}).json()["token"]
    bundle = httpx.get(backend.url + "/api/v1/shops/79-KL77/export", headers={"Authorization": f"Bearer {token}"}).json()
    report = verify_bundle(bundle)
    assert report["ok"] and report["entries"] == len(mine), report
    assert independent_verify(bundle) == len(mine)
    assert _alerts(backend.db) == []


def test_a_shop_on_format_3_is_told_to_upgrade(backend, device):
    """The batch a shop of the previous release sends (format 3: ``chipid-sync-batch/3``, signed by
    an enrolled device over its header and lines) is answered 426 with the catalogue's Vietnamese sentence; nothing
    is stored and no alert is raised (it is no tampering)."""
    device.canon = None  # an old shop writes legacy entries
    device.append("transaction", pawn_payload(1))
    wire = gzip.decompress(batch_mod.encode(batch_mod.build_batch(device.device_id, device.entries, prev_hash=device.prev_of(1)),
                                            device.sign))
    old = gzip.compress(format_3_wire(wire, device.sign))
    for lang in ("vi", "en"):
        r = httpx.post(backend.url + "/api/v1/ingest", content=old,
                       headers={"Content-Encoding": "gzip", "Accept-Language": lang})
        assert r.status_code == 426, r.text
        body = r.json()
        assert body["reason"] == "upgrade_required" and body["error"]["code"] == "upgrade_required"
        assert body["error"]["message"] == messages.text("upgrade_required", lang)
        assert "chipid-sync-batch/4" in body["error"]["details"]["detail"]
    assert "cập nhật chipid" in messages.text("upgrade_required", "vi")
    assert _stored(backend.db, device.device_id) == [] and _alerts(backend.db) == []
    ok = httpx.post(backend.url + "/api/v1/ingest", content=gzip.compress(wire), headers={"Content-Encoding": "gzip"})
    assert ok.status_code == 200 and _stored(backend.db, device.device_id) == [(1, device.entries[0].hash)]


def test_the_relay_shows_the_clerk_that_chipid_must_be_updated(backend, shop_ledger, monkeypatch):
    """A relay whose batches the backend no longer reads (here: made to send format 3) records a
    permanent failure, and the sync status says in Vietnamese that chipid must be updated."""
    _enrolled(backend, shop_ledger)
    shop_ledger.append("transaction", pawn_payload(1))
    real_frame = batch_mod.frame
    monkeypatch.setattr(batch_mod, "frame", lambda header, lines, sign: format_3_wire(real_frame(header, lines, sign), sign))
    relay = Relay(shop_ledger, RelaySettings(backend.url))
    delivered, _ = relay.attempt()
    assert not delivered and relay._refused  # permanent: not retried as if the network were down
    status = sync_status(shop_ledger, relay)
    assert status["state"] == "failing" and "HTTP 426 upgrade_required" in status["last_error"]
    assert "cập nhật chipid" in status["last_error_vi"] and "cập nhật chipid" in status["summary"]["vi"]
    assert _stored(backend.db, shop_ledger.device_id) == []
    monkeypatch.setattr(batch_mod, "frame", real_frame)  # updated: delivered
    assert relay.attempt()[0] and _stored(backend.db, shop_ledger.device_id) == [(1, shop_ledger.entries(0, 1)[0].hash)]


def test_signing_device_writes_jcs_by_default():
    assert SigningDevice().canon == "jcs" and SigningDevice(canon=None).canon is None
