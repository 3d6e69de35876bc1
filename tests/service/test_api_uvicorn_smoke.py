"""Smoke test against a real `chipid serve` (uvicorn) on loopback."""

from __future__ import annotations


import httpx


def test_real_server(live_server):
    base = live_server.base
    h = httpx.get(base + "/api/v1/health").json()
    assert h["status"] == "ok" and h["demo"] is True and h["reader"]["name"] == "emulator"
    assert live_server.admin_password, "first start prints the admin password once"
    assert httpx.get(base + "/api/v1/transactions").status_code == 401
    # the admin logs in, an integrator gets a token through the CLI against the running service's data dir
    with httpx.Client(base_url=base) as c:
        r = c.post("/api/v1/auth/login", json={"name": "admin", "password": live_server.admin_password})
        assert r.status_code == 200
        assert c.get("/api/v1/me").json()["role"] == "admin"
    token = live_server.add_user("erp", "integrator")["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(base + "/api/v1/transactions", headers=auth).json()["total"] == 0
    assert httpx.get(base + "/openapi.json").json()["info"]["title"] == "chipid counter service"
    assert httpx.get(base + "/docs").status_code == 200
    # server-sent events over a real socket
    with httpx.stream("GET", base + "/api/v1/events", params={"limit": 1, "timeout_s": 5}, headers=auth, timeout=10) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        first = next(r.iter_lines())
        assert first == "event: hello"
    log = live_server.log_path.read_text(errors="replace")
    assert "Traceback" not in log
