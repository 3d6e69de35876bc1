"""The backend's face is the counter's (issue 19 item 7), over real HTTP on SQLite and PostgreSQL:
``GET /api/v1/health``, errors in ``{"error": {"code", "message", "details"}}`` with the catalogue's
sentence by ``Accept-Language``, ``/docs`` offline, ``GET /metrics`` after a real accepted and a
real refused batch, and ``chipid backend serve`` printing its URL."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sync import batch as batch_mod
from sync.backend import auth
from sync.backend.app import create_app
from sync.backend.schema import SCHEMA_VERSION
from sync.testing import ThreadServer, pawn_payload
from verifier import messages

REPO = Path(__file__).resolve().parents[2]


def _send(url, dev, first, last):
    b = batch_mod.build_batch(dev.device_id, dev.entries[first - 1:last], prev_hash=dev.prev_of(first))
    return httpx.post(url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                      headers={"Content-Encoding": "gzip", "Content-Type": "application/vnd.chipid.batch"})


def _login(backend, role="inspector") -> dict:
    auth.add_user(backend.db, f"u-{role}", role, "mat-khau-dai-123")
    token = httpx.post(backend.url + "/api/v1/login", json={"name": f"u-{role}", "password": "mat-khau-dai-123"}).json()["token"]
    return {"Authorization": "Bearer " + token}


def test_health_answers_without_login_and_without_personal_data(backend, device, database_url):
    h = httpx.get(backend.url + "/api/v1/health")
    assert h.status_code == 200
    body = h.json()
    assert body["status"] == "ok" and body["service"] == "backend" and body["version"]
    assert body["database"] == {"kind": database_url.split(":")[0], "schema_version": SCHEMA_VERSION,
                                "schema_version_expected": SCHEMA_VERSION}
    assert body["shops"] == 1 and body["devices"] == 1 and body["last_batch_at"] is None and body["backlog_entries"] == 0
    for i in range(3):
        device.append("transaction", pawn_payload(i))
    assert _send(backend.url, device, 1, 3).status_code == 200
    after = httpx.get(backend.url + "/api/v1/health").json()
    assert after["last_batch_at"] and after["open_alerts"] == 0
    assert "Hoà Bình" not in h.text + str(after) and device.device_id not in str(after)  # no shop names, no device ids
    assert httpx.get(backend.url + "/healthz").json() == {"status": "ok"}  # sync.testing still waits on it


def test_errors_have_the_counter_shape_in_vietnamese_and_english(backend):
    hdr = _login(backend)
    vi = httpx.get(backend.url + "/api/v1/shops/khong-co", headers=hdr)
    en = httpx.get(backend.url + "/api/v1/shops/khong-co", headers={**hdr, "Accept-Language": "en-US,en;q=0.9"})
    assert vi.status_code == en.status_code == 404
    assert vi.headers["content-language"] == "vi" and en.headers["content-language"] == "en"
    assert vi.json()["error"] == {"code": "shop_not_found", "message": "Không có cửa hàng “khong-co”.",
                                  "details": {"shop_id": "khong-co", "detail": "shop 'khong-co' not found"}}
    assert en.json()["error"]["message"] == "No shop “khong-co”."
    anon = httpx.get(backend.url + "/api/v1/alerts").json()["error"]
    assert anon["code"] == "unauthenticated" and anon["message"] == messages.text("unauthenticated", "vi")
    bad = httpx.post(backend.url + "/api/v1/login", json={}, headers={"Accept-Language": "en"}).json()["error"]
    assert bad["code"] == "invalid_request" and bad["details"]["errors"]
    forbidden = httpx.post(backend.url + "/api/v1/devices", headers=hdr, json={"shop": "x", "license_no": "y", "province": "01"})
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    head = httpx.get(backend.url + "/api/v1/devices/nobody/head").json()["error"]
    assert head["code"] == "device_not_enrolled" and "nobody" in head["message"]
    enrol = httpx.post(backend.url + "/api/v1/enroll", json={"token": "x" * 20, "device_id": "d", "public_key": "k", "proof": "p"})
    assert enrol.status_code in (400, 409) and enrol.json()["error"]["code"] in ("invalid_input", "enrollment_refused")


def test_every_code_the_backend_raises_is_in_the_catalogue():
    pattern = re.compile(r"ApiError\(\s*\d{3}\s*,\s*\"([a-z_]+)\"")
    raised = set()
    for path in (REPO / "sync" / "backend").rglob("*.py"):
        raised |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert {"shop_not_found", "device_not_enrolled", "unauthenticated", "alert_not_found"} <= raised
    assert raised - set(messages.CATALOGUE) == set()


def _metrics(url, headers) -> dict:
    r = httpx.get(url + "/metrics", headers=headers)
    assert r.status_code == 200, r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def test_metrics_count_a_real_accepted_and_a_real_refused_batch(db, device):
    server = ThreadServer(create_app(db, metrics_token="prometheus-token-123")).start()
    server.db = db
    try:
        for i in range(5):
            device.append("transaction", pawn_payload(i))
        assert _send(server.url, device, 1, 3).status_code == 200
        gap = _send(server.url, device, 5, 5)  # seq 4 missing: refused with a gap alert
        assert gap.status_code == 409
        body = gap.json()
        assert body["reason"] == "gap" and body["status"] == "refused" and body["head_seq"] == 3  # what the relay reads
        assert body["error"]["code"] == "batch_refused" and body["error"]["details"]["reason"] == "gap"
        assert "gap" in body["error"]["message"] and "máy chủ" in body["error"]["message"].lower()
        assert _send(server.url, device, 1, 3).headers["x-chipid-duplicate"] == "1"

        assert httpx.get(server.url + "/metrics").status_code == 401
        assert httpx.get(server.url + "/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        by_token = _metrics(server.url, {"Authorization": "Bearer prometheus-token-123"})
        by_session = _metrics(server.url, _login(server))
        for m in (by_token, by_session):
            assert m[("chipid_backend_batches_total", (("outcome", "accepted"),))] == 1
            assert m[("chipid_backend_batches_total", (("outcome", "duplicate"),))] == 1
            assert m[("chipid_backend_batches_total", (("outcome", "refused"),))] == 1
            assert m[("chipid_backend_batch_refusals_total", (("reason", "gap"),))] == 1
            assert m[("chipid_backend_entries_ingested_total", ())] == 3
            assert m[("chipid_backend_alerts", (("kind", "gap"), ("state", "open")))] == 1
            assert m[("chipid_backend_alert_occurrences", (("kind", "gap"),))] == 1
            assert m[("chipid_backend_shops", ())] == 1 and m[("chipid_backend_devices", ())] == 1
            assert m[("chipid_backend_last_batch_timestamp_seconds", ())] > 0
    finally:
        server.stop()


def test_metrics_show_the_verification_lag_until_the_evidence_worker_catches_up(db, device):
    """Contracts stored but not yet judged (the evidence lock held here, as while another process's worker is
    busy): the backlog counts them and the lag is the age of the oldest; once the app's worker has run,
    both are 0."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import text

    from sync.backend import worker_lock
    from sync.testing import event_payload, wait_until

    headers = {"Authorization": "Bearer prometheus-token-123"}
    with worker_lock.exclusive(db, worker_lock.EVIDENCE) as mine:
        assert mine
        app = create_app(db, metrics_token="prometheus-token-123")
        server = ThreadServer(app).start()
        try:
            first = pawn_payload(1)
            device.append("transaction", first)
            device.append("event", event_payload(2, first, "redeemed"))
            device.append("transaction", pawn_payload(3))
            assert _send(server.url, device, 1, 3).status_code == 200
            two_minutes_ago = (datetime.now(timezone.utc) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            with db.write() as conn:
                conn.execute(text("UPDATE entries SET received_at = :t WHERE seq = 1"), {"t": two_minutes_ago})
            m = _metrics(server.url, headers)
            assert m[("chipid_backend_verification_backlog_entries", ())] == 3
            assert 110 < m[("chipid_backend_verification_lag_seconds", ())] < 600
        except BaseException:
            server.stop()
            raise
    worker = app.state.evidence_worker.start()  # what the app starts with its server (lifespan off here)
    try:  # the lock let go: the app's own worker takes it and judges the two contracts
        wait_until(lambda: _metrics(server.url, headers)[("chipid_backend_verification_backlog_entries", ())] == 0,
                   30, "the evidence worker")
        assert _metrics(server.url, headers)[("chipid_backend_verification_lag_seconds", ())] == 0
        with db.read() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM evidence_verdicts")).scalar() == 2
    finally:
        worker.stop()
        server.stop()


def test_docs_are_served_offline_and_the_document_declares_its_security(backend):
    page = httpx.get(backend.url + "/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs-assets/") for s in sources), sources
    assert "validatorUrl" in page.text and "/openapi.json" in page.text
    for s in sources:
        assert httpx.get(backend.url + s).status_code == 200, s
    spec = httpx.get(backend.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["session"]["in"] == "cookie"
    assert {"bearer": []} in spec["paths"]["/api/v1/entries"]["get"]["security"]
    assert {"bearer": []} in spec["paths"]["/metrics"]["get"]["security"]
    assert "security" not in spec["paths"]["/api/v1/health"]["get"]
    assert "ErrorResponse" in spec["components"]["schemas"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_its_url(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "CHIPID_BACKEND_DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "sync.backend", "serve", "--data-dir", str(tmp_path), "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line and "/docs" in line, (line, proc.poll())
    finally:
        proc.terminate()
        proc.wait(timeout=20)
