"""GET /metrics: Prometheus text, parsed with prometheus_client's own parser after a real demo scan
(the emulated card), the demo face step and a contract; behind authentication."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow


def _families(text: str) -> dict[str, dict]:
    """metric family name -> {(sample name, frozenset(labels)): value}."""
    out: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        out[family.name] = {(s.name, frozenset(s.labels.items())): s.value for s in family.samples}
    return out


def test_metrics_after_a_demo_scan_face_and_contract(api, tokens, svc, txn_body):
    token = tokens["integrator"]
    r = api.post("/api/v1/scans", token)
    assert r.status_code == 202, r.text
    scan_id = r.json()["id"]
    for _ in range(1500):  # the emulated card, read for real: about a second, up to 30 s on a loaded machine
        body = api.get(f"/api/v1/scans/{scan_id}", token).json()
        if body["status"] in ("done", "failed"):
            break
        api.run(asyncio.sleep(0.02))
    assert body["status"] == "done" and body["result"]["verdict"] == "authentic", body
    r = api.post(f"/api/v1/scans/{scan_id}/face", token, json={"consent": True, "camera": True})
    assert r.status_code == 200 and r.json()["decision"] == "match", r.text
    r = api.post("/api/v1/transactions", token, json=txn_body(scan_id))
    assert r.status_code == 201, r.text

    page = api.get("/metrics", token)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    m = _families(page.text)
    assert m["chipid_scans"][("chipid_scans_total", frozenset({("verdict", "authentic")}))] == 1
    assert m["chipid_face_decisions"][("chipid_face_decisions_total", frozenset({("decision", "match")}))] == 1
    assert m["chipid_contracts"][("chipid_contracts_total", frozenset())] == 1
    for hist in ("chipid_read_seconds", "chipid_face_seconds"):
        samples = m[hist]
        assert samples[(f"{hist}_count", frozenset())] == 1
        assert samples[(f"{hist}_sum", frozenset())] > 0
        assert samples[(f"{hist}_bucket", frozenset({("le", "+Inf")}))] == 1
    # not enrolled with a backend: the contract's entries wait; never delivered
    assert m["chipid_sync_backlog_entries"][("chipid_sync_backlog_entries", frozenset())] >= 1
    assert m["chipid_sync_last_success_timestamp_seconds"][("chipid_sync_last_success_timestamp_seconds", frozenset())] == 0
    assert "079090001234" not in page.text and "Nguy" not in page.text  # no personal data


def test_metrics_need_a_role_that_may_read_them(api, tokens):
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", tokens["clerk"]).status_code == 403
    assert api.get("/metrics", tokens["inspector"]).status_code == 403
    for role in ("manager", "integrator", "admin"):
        assert api.get("/metrics", tokens[role]).status_code == 200


def test_failed_reads_are_counted(api, tokens, svc):
    svc.bus.publish("scan", {"scan_id": "x", "status": "failed", "step": "failed"})
    m = _families(api.get("/metrics", tokens["admin"]).text)
    assert m["chipid_scans"][("chipid_scans_total", frozenset({("verdict", "failed")}))] == 1
