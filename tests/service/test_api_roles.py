"""The role matrix: what each role may do through the API."""

from __future__ import annotations

import re

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
        ("POST", "/api/v1/transactions/{txn}/events"): {"type": "partial_payment", "amount_vnd": 1000,
                                                         "expected": {"cash_in_vnd": 1000}},
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
    svc.users.change_password("lan", created["password"], "mat-khau-moi-123")  # no longer a one-time password
    r = api.post("/api/v1/auth/login", json={"name": "lan", "password": "mat-khau-moi-123"})
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


def _session(api, name, password):
    r = api.post("/api/v1/auth/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return {"x-csrf-token": r.json()["csrf"]}


def test_one_time_password_must_be_changed_first(api, svc):
    created = svc.users.add("mai", "clerk")
    h = _session(api, "mai", created["password"])
    # everything but the change (and who am I, logout) answers 403 password_change_required, in both languages
    for method, url in (("GET", "/api/v1/transactions"), ("POST", "/api/v1/scans"), ("GET", "/api/v1/events")):
        r = api.request(method, url, headers=h)
        assert r.status_code == 403, (url, r.text)
        err = r.json()["error"]
        assert err["code"] == "password_change_required" and "đổi mật khẩu" in err["message"]  # vi: the default
    assert api.get("/api/v1/me").status_code == 200
    # the change needs the right old password and a password a person may choose
    r = api.post("/api/v1/auth/password", json={"old_password": "sai-mat-khau", "new_password": "mat-khau-moi-123"}, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_credentials"
    for weak in ("ngan", created["password"], "mai-mat-khau-dai", "aaaaaaaaaaaa"):
        r = api.post("/api/v1/auth/password", json={"old_password": created["password"], "new_password": weak}, headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password", weak
        assert r.json()["error"]["message"].startswith("Mật khẩu mới"), weak
    r = api.post("/api/v1/auth/password", json={"old_password": created["password"], "new_password": "mat-khau-moi-123"}, headers=h)
    assert r.status_code == 200 and r.json() == {"name": "mai", "role": "clerk", "must_change": False}
    # the same session goes on, now allowed
    assert api.get("/api/v1/transactions").status_code == 200
    # the one-time password is gone
    api.client.cookies.clear()
    assert api.post("/api/v1/auth/login", json={"name": "mai", "password": created["password"]}).status_code == 401


def test_first_admin_must_change_too(tmp_path):
    from verifier.users import UserStore

    store = UserStore(tmp_path)
    first = store.ensure_admin()
    assert store.check_password("admin", first["password"]).must_change is True
    store.change_password("admin", first["password"], "quan-tri-vien-2026")
    assert store.check_password("admin", "quan-tri-vien-2026").must_change is False
    store.close()


def test_admin_reset_gives_a_one_time_password_and_ends_sessions(api, svc, tokens):
    created = svc.users.add("tuan", "clerk")
    svc.users.change_password("tuan", created["password"], "mat-khau-so-7-abc")
    _session(api, "tuan", "mat-khau-so-7-abc")
    assert api.get("/api/v1/transactions").status_code == 200
    assert api.post("/api/v1/users/tuan/reset", tokens["clerk"]).status_code == 403
    r = api.post("/api/v1/users/tuan/reset", tokens["admin"])
    assert r.status_code == 200 and r.json()["must_change"] is True
    one_time = r.json()["password"]
    assert api.get("/api/v1/transactions").status_code == 401  # the session ended at once
    api.client.cookies.clear()
    h = _session(api, "tuan", one_time)
    assert api.get("/api/v1/transactions", headers=h).json()["error"]["code"] == "password_change_required"
    assert api.post("/api/v1/users/nobody/reset", tokens["admin"]).status_code == 404
    assert api.post("/api/v1/users/clerk-1/reset", tokens["admin"]).status_code == 200
    r = api.post("/api/v1/users/integrator-1/reset", tokens["admin"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "integrator_has_no_password"


def test_disable_stops_sessions_and_tokens_at_once(api, svc, tokens):
    created = svc.users.add("hung", "manager")
    svc.users.change_password("hung", created["password"], "mat-khau-quan-ly-9")
    _session(api, "hung", "mat-khau-quan-ly-9")
    assert api.get("/api/v1/audit").status_code == 200
    assert api.get("/api/v1/transactions", tokens["integrator"]).status_code == 200
    assert api.post("/api/v1/users/hung/disable", tokens["manager"]).status_code == 403
    for name in ("hung", "integrator-1"):
        r = api.post(f"/api/v1/users/{name}/disable", tokens["admin"])
        assert r.status_code == 200 and r.json()["disabled"] is True
    assert api.get("/api/v1/audit").status_code == 401
    assert api.get("/api/v1/transactions", tokens["integrator"]).status_code == 401
    api.client.cookies.clear()
    assert api.post("/api/v1/auth/login", json={"name": "hung", "password": "mat-khau-quan-ly-9"}).status_code == 401
    # enabled again: the same password and token work
    for name in ("hung", "integrator-1"):
        assert api.post(f"/api/v1/users/{name}/enable", tokens["admin"]).json()["disabled"] is False
    assert api.get("/api/v1/transactions", tokens["integrator"]).status_code == 200
    _session(api, "hung", "mat-khau-quan-ly-9")
    listed = {u["name"]: u for u in api.get("/api/v1/users", tokens["admin"]).json()}
    assert listed["hung"]["disabled"] is False and "pw_hash" not in listed["hung"]


def test_the_last_admin_cannot_be_disabled(api, svc, tokens):
    svc.users.disable("admin")  # the first admin of the app fixture; admin2-1 of the tokens fixture remains
    r = api.post("/api/v1/users/admin2-1/disable", tokens["admin"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_admin"
    assert "quản trị viên" in r.json()["error"]["message"]


def _page_session(api, svc, name, role):
    created = svc.users.add(name, role)
    svc.users.change_password(name, created["password"], created["password"] + "-da-doi")
    r = api.post("/login", data={"name": name, "password": created["password"] + "-da-doi", "next": "/"})
    assert r.status_code == 303


@pytest.mark.parametrize("role, allowed, refused", [
    ("clerk", "/counter", "/inspector"),
    ("inspector", "/inspector", "/counter"),
])
def test_pages_gated_by_role(api, svc, role, allowed, refused):
    _page_session(api, svc, f"p-{role}", role)
    page = api.get(allowed)
    assert page.status_code == 200
    assert f'href="{refused}"' not in page.text  # no link to what the role may not open
    r = api.get(refused)
    assert r.status_code == 403 and "Không được phép truy cập" in r.text and "«" + role + "»" in r.text
    assert f'href="{refused}"' not in r.text
    assert api.get(refused + "?lang=en").text.count("may not open this page") == 1
    assert api.get("/users").status_code == 403


def test_pages_send_a_one_time_password_to_the_change_page(api, svc):
    created = svc.users.add("lien", "clerk")
    r = api.post("/login", data={"name": "lien", "password": created["password"], "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/counter"
    r = api.get("/counter")
    assert r.status_code == 303 and r.headers["location"] == "/password?next=/counter"
    page = api.get("/password")
    assert "mật khẩu dùng một lần" in page.text and 'href="/counter"' not in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form = {"old_password": created["password"], "new_password": "mat-khau-so-1", "repeat_password": "mat-khau-so-2",
            "csrf": csrf, "next": "/counter"}
    r = api.post("/password", data=form)
    assert r.status_code == 422 and "không giống nhau" in r.text
    r = api.post("/password", data={**form, "repeat_password": "mat-khau-so-1", "csrf": "forged"})
    assert r.status_code == 422
    r = api.post("/password", data={**form, "repeat_password": "mat-khau-so-1"})
    assert r.status_code == 303 and r.headers["location"] == "/counter"
    assert api.get("/counter").status_code == 200


def test_admin_users_page(api, svc):
    _page_session(api, svc, "boss", "admin")
    svc.users.add("an", "clerk")
    page = api.get("/users")
    assert page.status_code == 200 and 'data-name="an"' in page.text and "chưa đổi mật khẩu dùng một lần" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = api.post("/users", data={"action": "reset", "name": "an", "csrf": csrf})
    one_time = re.search(r'<code id="one-time-secret">([^<]+)</code>', r.text).group(1)
    assert svc.users.check_password("an", one_time).must_change
    r = api.post("/users", data={"action": "disable", "name": "an", "csrf": csrf})
    assert r.status_code == 200 and svc.users.get("an")["disabled"]
    r = api.post("/users", data={"action": "enable", "name": "an", "csrf": csrf})
    assert not svc.users.get("an")["disabled"]
    r = api.post("/users", data={"action": "add", "name": "binh", "role": "inspector", "csrf": csrf})
    assert svc.users.get("binh")["role"] == "inspector" and "one-time-secret" in r.text
    r = api.post("/users", data={"action": "add", "name": "binh", "role": "inspector", "csrf": csrf})
    assert r.status_code == 422
    assert api.post("/users", data={"action": "disable", "name": "an", "csrf": "forged"}).status_code == 403
