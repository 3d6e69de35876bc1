"""GET /api/v1/health says whether CCCDs can be fully verified; the counter page shows it; serve's daily refresh."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from verifier.config import Config
from verifier.trust.store import TrustStore
from verifier.trust_download import refresh_loop

from .test_trust_refresh import pki_files, server  # noqa: F401 - the HTTP server fixtures

REPO = Path(__file__).resolve().parents[2]


def _app(tmp_path, **overrides):
    from tests.service.live_app import counter_app

    cfg = Config().with_overrides(service__data_dir=str(tmp_path / "data"), reader__name="emulator", **overrides)
    return counter_app(cfg, demo=False, start_sync=False)


@pytest.mark.parametrize("auto", [False, True])
def test_health_says_cccds_cannot_be_fully_verified_and_what_to_install(tmp_path, auto):
    before = {t.name for t in threading.enumerate()}
    app = _app(tmp_path, trust__auto_refresh=auto)
    try:
        started = {t.name for t in threading.enumerate()} - before
        assert ("trust-refresh" in started) is auto  # serve refreshes daily only when trust.auto_refresh is on
        h = TestClient(app).get("/api/v1/health").json()
        cccd = h["trust_store"]["cccd"]
        assert cccd["can_verify"] is False and cccd["fully"] is False
        assert "http://npkd.gov.vn/crt/eid-csca-vietnam.crt" in cccd["message_vi"]
        assert "CSCA Vietnam" in cccd["message"]
        assert h["trust_store"]["refresh"] is None
    finally:
        app.state.stop.set()
        app.state.svc.close()


def test_counter_page_has_the_trust_banner_fed_by_health():
    html = (REPO / "verifier" / "api" / "templates" / "counter.html").read_text(encoding="utf-8")
    js = (REPO / "verifier" / "api" / "static" / "counter.js").read_text(encoding="utf-8")
    assert 'id="trust-banner"' in html
    assert "trust_store || {}).cccd" in js and "message_vi" in js and "trustBanner(h)" in js


def test_refresh_loop_runs_refreshes_and_reports(tmp_path, server, pki_files, monkeypatch):  # noqa: F811
    from datetime import datetime, timezone

    from verifier.trust import cccd
    from verifier.trust_download import http_fetch

    monkeypatch.setattr(cccd, "shipped_witnesses", lambda: (pki_files["witness"],))
    cfg = Config().with_overrides(service__data_dir=str(tmp_path))
    stop = threading.Event()
    reports = []

    def on_report(report):
        reports.append(report)
        stop.set()

    refresh_loop(cfg, stop, on_report, first_delay_s=0, fetch=http_fetch(2.0),
                 cert_urls=[f"{server}/csca.crt"], crl_urls=[f"{server}/csca.crl"])
    assert len(reports) == 1 and reports[0].changed
    assert cccd.cccd_status(TrustStore.open(tmp_path), datetime.now(timezone.utc))["fully"] is True
