"""The role matrix: what each role may do through the API."""

from __future__ import annotations

import pytest

from verifier.users import PERMISSIONS, ROLES

ALLOWED = {
    # (method, path template) -> roles that may call it
    ("POST", "/api/v1/scans"): {"clerk", "manager", "integrator", "admin"},
    ("POST", "/api/v1/transactions"): {"clerk", "manager", "integrator", "admin"},
    ("POST", "/api/v1/transactions/{txn}/events"): {"clerk", "manager", "integrator", "admin"},
    ("GET", "/api/v1/transactions"): {"clerk", "manager", "inspector", "integrator", "admin"},
    ("GET", "/api/v1/transactions/{txn}"): {"clerk", "manager", "inspector", "integrator", "admin"},
    ("GET", "/api/v1/ledger/verify"): {"manager", "inspector", "integrator", "admin"},
    ("GET", "/api/v1/ledger/export"): {"manager", "inspector", "admin"},
    ("GET", "/api/v1/audit"): {"manager", "inspector", "admin"},
    ("POST", "/api/v1/users"): {"admin"},
}


def test_matrix_table_matches_the_code():
    assert set(PERMISSIONS["ledger.export"]) == ALLOWED[("GET", "/api/v1/ledger/export")]
    assert "clerk" not in PERMISSIONS["audit.read"] and "clerk" not in PERMISSIONS["ledger.export"]
    assert "inspector" not in PERMISSIONS["txn.create"] and "inspector" not in PERMISSIONS["txn.event"]


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role, api, tokens, make_scan, txn_body, svc):
    scan = make_scan()
    txn = svc.book.create(scan.result, {k: v for k, v in txn_body(scan.id).items() if k != "scan_id"},
                          user="seed", role="clerk", face=scan.face)["id"]
    svc.scans._runner = lambda config, access, progress: (_ for _ in ()).throw(RuntimeError("no card here"))
    bodies = {
        ("POST", "/api/v1/scans"): {},
        ("POST", "/api/v1/transactions"): txn_body(make_scan().id),
        ("POST", "/api/v1/transactions/{txn}/events"): {"type": "partial_payment", "amount_vnd": 1000},
        ("POST", "/api/v1/users"): {"name": f"new-{role}", "role": "clerk"},
    }
    for (method, path), roles in ALLOWED.items():
        url = path.format(txn=txn)
        r = api.request(method, url, tokens[role], json=bodies.get((method, path)))
        if role in roles:
            assert r.status_code < 400, (role, method, url, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, method, url, r.status_code, r.text)
            assert r.json()["error"]["code"] == "forbidden"


def test_session_login_and_csrf(api, svc):
    created = svc.users.add("lan", "clerk")
    r = api.post("/api/v1/auth/login", json={"name": "lan", "password": "wrong"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_credentials"
    r = api.post("/api/v1/auth/login", json={"name": "lan", "password": created["password"]})
    assert r.status_code == 200
    csrf = r.json()["csrf"]
    assert "chipid_session" in api.client.cookies
    assert api.get("/api/v1/me").json()["role"] == "clerk"
    # a write with the cookie but without the page's CSRF token is refused
    r = api.post("/api/v1/transactions/x/events", json={"type": "redeemed"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    r = api.post("/api/v1/transactions/x/events", json={"type": "redeemed"}, headers={"x-csrf-token": csrf})
    assert r.status_code == 404
    assert api.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf}).status_code == 200
    api.client.cookies.clear()
    assert api.get("/api/v1/me").status_code == 401


def test_integrator_cannot_log_in_with_password(api, svc):
    svc.users.add("erp", "integrator")
    r = api.post("/api/v1/auth/login", json={"name": "erp", "password": "anything"})
    assert r.status_code == 401


def test_too_many_failed_logins(api, svc):
    svc.users.add("binh", "clerk")
    for _ in range(svc.users.max_failed):
        api.post("/api/v1/auth/login", json={"name": "binh", "password": "nope"})
    r = api.post("/api/v1/auth/login", json={"name": "binh", "password": "nope"})
    assert r.status_code == 429
