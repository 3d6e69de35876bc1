"""The relay against a real backend over real HTTP on loopback, with the real shop ledger."""

from __future__ import annotations

import random

import httpx
import pytest
from sqlalchemy import text

from sync.backend import auth, enroll
from sync.client import BackendClient
from sync.enrollment import enroll as shop_enroll
from sync.enrollment import load_enrollment
from sync.relay import Relay, RelaySettings, backoff_delay, sync_status
from sync.testing import pawn_payload
from verifier.errors import ConfigError, SyncError
from verifier.ledger.export import verify_bundle


def _enrolled(backend, ledger):
    tok = enroll.add_device_token(backend.db, shop="Cầm đồ Kim Long", license_no="KL-77", province="79")["token"]
    record = shop_enroll(ledger, backend.url, tok)
    assert record["shop_id"] == "79-KL77" and load_enrollment(ledger.data_dir)["backend_url"] == backend.url
    return record


def _stored(db, device_id):
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT seq, hash FROM entries WHERE device_id = :d ORDER BY seq"), {"d": device_id})]


def _login(backend, role="inspector"):
    auth.add_user(backend.db, f"{role}1", role, "mat-khau-rat-dai")
    r = httpx.post(backend.url + "/api/v1/login", json={"name": f"{role}1", "password": "mat-khau-rat-dai"})
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_relay_delivers_the_ledger_in_signed_batches_and_the_export_verifies(backend, shop_ledger):
    _enrolled(backend, shop_ledger)
    for i in range(130):
        shop_ledger.append("transaction", pawn_payload(i, id_number="001099012345" if i == 7 else None))
    relay = Relay(shop_ledger, RelaySettings(backend.url, batch_size=50))
    assert relay.backlog() == 130
    assert relay.drain() == 130
    mine = [(e.seq, e.hash) for e in shop_ledger.entries(0, 1000)]
    assert _stored(backend.db, shop_ledger.device_id) == mine
    state = sync_status(shop_ledger, relay)
    assert state["backlog"] == 0 and state["acked_seq"] == 130 and state["last_error"] is None
    assert "Đã gửi đủ" in state["summary"]["vi"] and shop_ledger.sync_state()["pending"] == 0
    # nothing new: idle, no request needed beyond the head check
    assert relay.drain() == 0
    headers = _login(backend)
    r = httpx.get(backend.url + "/api/v1/entries", params={"id_number": "001 099 012 345"}, headers=headers)
    assert r.status_code == 200 and r.json()["count"] == 1
    hit = r.json()["entries"][0]
    assert hit["shop"]["name"] == "Cầm đồ Kim Long" and hit["seq"] == 8 and hit["payload"]["contract_no"] == "HĐ-2026-000007"
    bundle = httpx.get(backend.url + "/api/v1/shops/79-KL77/export", headers=headers).json()
    report = verify_bundle(bundle)
    assert report["ok"], report
    assert report["entries"] == 130 and bundle["unanchored_after"] == 0


def test_relay_resumes_from_the_backend_head_after_losing_its_own_state(backend, shop_ledger):
    _enrolled(backend, shop_ledger)
    for i in range(60):
        shop_ledger.append("transaction", pawn_payload(i))
    first = Relay(shop_ledger, RelaySettings(backend.url, batch_size=25))
    assert first.step() == 25  # acknowledged...
    # ...but pretend the process died before the ack was recorded: a new relay asks the backend
    second = Relay(shop_ledger, RelaySettings(backend.url, batch_size=25))
    assert second.drain() == 35
    assert [s for s, _ in _stored(backend.db, shop_ledger.device_id)] == list(range(1, 61))


def test_suspicious_event_jumps_the_queue(backend, shop_ledger):
    _enrolled(backend, shop_ledger)
    for i in range(80):
        shop_ledger.append("transaction", pawn_payload(i))
    ev = shop_ledger.append("event", {"type": "suspicious", "txn_id": pawn_payload(3)["id"], "reason": "CCCD nghi giả"})
    relay = Relay(shop_ledger, RelaySettings(backend.url, batch_size=20))
    assert relay.step() == 20  # the first chain batch; the suspicious event went before it
    with backend.db.read() as conn:
        alerts = conn.execute(text("SELECT kind, seq FROM alerts")).all()
    assert [tuple(a) for a in alerts] == [("suspicious", ev.seq)]
    assert len(_stored(backend.db, shop_ledger.device_id)) == 20
    relay.drain()
    assert len(_stored(backend.db, shop_ledger.device_id)) == 81
    with backend.db.read() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alerts")).scalar() == 1


def test_refused_batch_is_reported_in_words_and_retried(backend, shop_ledger):
    for i in range(5):
        shop_ledger.append("transaction", pawn_payload(i))
    relay = Relay(shop_ledger, RelaySettings(backend.url, batch_size=10))
    with pytest.raises(SyncError, match="not enrolled"):
        relay.drain()
    relay.record_failure(SyncError("this device is not enrolled at the backend"))
    status = sync_status(shop_ledger, relay)
    assert status["backlog"] == 5 and "not enrolled" in status["last_error"] and "Còn 5 bản ghi" in status["summary"]["vi"]
    _enrolled(backend, shop_ledger)
    assert relay.drain() == 5
    assert sync_status(shop_ledger, relay)["last_error"] is None
    relay.record_failure(SyncError("cannot connect to the backend"))  # a later outage with nothing new to send...
    assert relay.drain() == 0  # ...then the backend is back: the error is cleared although nothing was sent
    assert sync_status(shop_ledger, relay)["last_error"] is None


def test_enrollment_token_is_one_time(backend, shop_ledger, tmp_path):
    from verifier.ledger.store import Ledger

    tok = enroll.add_device_token(backend.db, shop="Cầm đồ A", license_no="A1", province="01")["token"]
    shop_enroll(shop_ledger, backend.url, tok)
    shop_enroll(shop_ledger, backend.url, tok)  # the same device retrying gets the same answer
    other = Ledger.open(tmp_path / "other")
    try:
        with pytest.raises(SyncError, match="already used"):
            shop_enroll(other, backend.url, tok)
        with pytest.raises(SyncError, match="unknown"):
            shop_enroll(other, backend.url, "x" * 32)
    finally:
        other.close()


def test_plain_http_only_on_loopback():
    with pytest.raises(ConfigError, match="loopback"):
        BackendClient("http://backend.police.example/")
    with pytest.raises(ConfigError, match="pinned"):
        BackendClient("https://backend.police.example/")
    with pytest.raises(ConfigError, match="64 hex"):
        BackendClient("https://backend.police.example/", pin_sha256="abc")
    BackendClient("http://127.0.0.1:9/").close()
    BackendClient("http://[::1]:9/").close()


def test_backoff_has_full_jitter_and_a_ceiling():
    rng = random.Random(1)
    delays = [backoff_delay(n, 1.0, 60.0, rng) for n in range(1, 12)]
    assert all(0 <= d <= min(60.0, 2 ** (n - 1)) for n, d in zip(range(1, 12), delays))
    assert max(backoff_delay(20, 1.0, 60.0, rng) for _ in range(200)) <= 60.0
    assert len({round(backoff_delay(5, 1.0, 60.0, rng), 6) for _ in range(20)}) > 10
    assert backoff_delay(0, 1.0, 60.0) == 0.0


def test_start_relay_runs_in_a_thread_and_wakes_on_demand(backend, shop_ledger):
    import time

    from sync.relay import start_relay
    from verifier.config import Config

    assert start_relay(shop_ledger, Config()) is None  # no backend configured, not enrolled: no relay
    _enrolled(backend, shop_ledger)
    cfg = Config().with_overrides(**{"sync.interval_s": 600.0, "sync.backoff_base_s": 0.05, "sync.batch_size": 10})
    handle = start_relay(shop_ledger, cfg)  # URL from the enrolment record
    try:
        for i in range(25):
            shop_ledger.append("transaction", pawn_payload(i))
        handle.wake()
        deadline = time.monotonic() + 30
        while handle.status()["backlog"] and time.monotonic() < deadline:
            time.sleep(0.05)
        status = handle.status()
        assert status["backlog"] == 0 and status["running"] and status["acked_seq"] == 25
    finally:
        handle.stop()
    assert not handle.thread.is_alive()
    assert len(_stored(backend.db, shop_ledger.device_id)) == 25
