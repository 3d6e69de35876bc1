"""Issue 17 item 8: the sync status tells the truth, and a running counter service picks up an
enrolment (and a changed ``[sync]`` setting) without a restart. Real backend on loopback, the real
service app served over HTTP (``sync.testing.ThreadServer``), the real ``chipid sync enroll`` code."""

from __future__ import annotations

import httpx
import pytest

from sync.backend import enroll
from sync.enrollment import enroll as shop_enroll
from sync.relay import error_vi, sync_status
from sync.testing import wait_until
from tests.sync.test_sync_shop_service import _scan
from verifier.config import Config, load_config
from verifier.ledger.store import Ledger


@pytest.fixture
def shop(tmp_path, served_shop):
    """A counter service (not enrolled) served on loopback, its settings in a config file it watches;
    returns (url, service, headers, config file)."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[service]\ndata_dir = "{tmp_path / "shop"}"\n\n[sync]\ninterval_s = 0.2\n'
                           "backoff_base_s = 0.05\nbackoff_max_s = 0.5\n", encoding="utf-8")
    served = served_shop(cfg=load_config(config_file))
    return served.url, served.svc, served.clerk, config_file


def _contract(url, svc, h, shared):
    portrait = (shared / "faces" / "obama.jpg").read_bytes()
    body = {"scan_id": _scan(svc, portrait).id, "valuation_vnd": 12_000_000, "loan_vnd": 8_000_000,
            "interest_rate_year_pct": 18.0, "term_days": 30,
            "items": [{"description": "Điện thoại iPhone 13 128GB", "category": "phone", "serial": "F2LX-K0AB-CD12"}]}
    r = httpx.post(url + "/api/v1/transactions", json=body, headers=h)
    assert r.status_code == 201, r.text


def test_enrolment_after_start_is_delivered_without_restart(backend, shop):
    from tests.conftest import SHARED_DATA

    url, svc, h, _ = shop
    _contract(url, svc, h, SHARED_DATA)
    before = httpx.get(url + "/api/v1/sync", headers=h).json()
    # before enrolment nothing claims to be delivered
    assert before["state"] == "not_enrolled" and before["running"] is False and before["backlog"] == 1
    assert "Chưa đăng ký với công an" in before["summary"]["vi"] and "Đã gửi" not in before["summary"]["vi"]
    assert "Not enrolled" in before["summary"]["en"]

    tok = enroll.add_device_token(backend.db, shop="Cầm đồ Phú Nhuận", license_no="PN-12", province="79")["token"]
    shop_enroll(svc.ledger, backend.url, tok)  # what `chipid sync enroll` does, while the service runs

    # the watcher thread starts the relay by itself (no status call needed), and it delivers
    wait_until(lambda: svc.relay is not None)
    status = wait_until(lambda: (s := httpx.get(url + "/api/v1/sync", headers=h).json())["acked_seq"] == 1 and s)
    assert status["state"] == "delivered" and status["enrolled"] and status["backlog"] == 0
    assert "Đã gửi đủ" in status["summary"]["vi"] and status["last_success"]
    assert "vừa xong" in status["summary"]["vi"]
    # a contract made now is delivered by the same running relay
    _contract(url, svc, h, SHARED_DATA)
    wait_until(lambda: httpx.get(url + "/api/v1/sync", headers=h).json()["acked_seq"] == 2)


def test_a_changed_backend_setting_restarts_the_relay_and_the_error_is_in_words(backend, shop):
    url, svc, h, config_file = shop
    tok = enroll.add_device_token(backend.db, shop="Cầm đồ Gò Vấp", license_no="GV-1", province="79")["token"]
    shop_enroll(svc.ledger, backend.url, tok)
    first = wait_until(lambda: svc.relay)
    # the operator points the service at a backend that does not answer: picked up from config.toml
    config_file.write_text(config_file.read_text(encoding="utf-8") + 'backend_url = "http://127.0.0.1:9"\n', encoding="utf-8")
    status = wait_until(lambda: (s := httpx.get(url + "/api/v1/sync", headers=h).json())["state"] == "failing" and s)
    assert svc.relay is not first and svc.relay.relay.settings.backend_url == "http://127.0.0.1:9"
    assert status["backend_url"] == backend.url  # the enrolment record still names where it enrolled
    assert status["last_error_vi"] == "không kết nối được máy chủ công an, sẽ thử lại"
    assert "Lỗi gần nhất: không kết nối được máy chủ công an" in status["summary"]["vi"]
    assert "Last error:" in status["summary"]["en"]


def test_status_without_a_service(tmp_path, monkeypatch):
    """`chipid sync status` (no relay): not enrolled says so; known errors have Vietnamese words."""
    monkeypatch.delenv("CHIPID_LEDGER_KEY", raising=False)
    led = Ledger.open(tmp_path / "shop")
    try:
        s = sync_status(led)
        assert s["state"] == "not_enrolled" and s["summary"]["vi"].startswith("Chưa đăng ký với công an")
    finally:
        led.close()
    assert "đăng ký lại" in error_vi("this device is not enrolled at the backend: run `chipid sync enroll`")
    assert "gọi quản lý" in error_vi("entry 4 at the backend differs from the ledger's: the chains forked")
    assert error_vi(None) is None
    assert Config()["sync.interval_s"] > 0
