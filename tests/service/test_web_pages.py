"""Web pages served in-process: login, counter, inspector, print view; demo banner; no CDN."""

from __future__ import annotations

import re


def _login(api, svc, role="clerk"):
    created = svc.users.add(f"web-{role}", role)
    # the one-time password is changed first (verifier.api.people: the pages ask for it at the first login)
    svc.users.change_password(created["name"], created["password"], created["password"] + "-da-doi")
    r = api.post("/login", data={"name": created["name"], "password": created["password"] + "-da-doi", "next": "/"})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_pages_need_login(api):
    for path in ("/", "/counter", "/inspector", "/contracts/x/print"):
        r = api.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = api.get("/login")
    assert r.status_code == 200 and "Đăng nhập" in r.text


def test_bad_login(api, svc):
    svc.users.add("lan", "clerk")
    r = api.post("/login", data={"name": "lan", "password": "nope"})
    assert r.status_code == 401 and "Sai tên đăng nhập" in r.text


def test_counter_page_vietnamese_with_demo_banner_and_english_switch(api, svc):
    assert _login(api, svc) == "/counter"
    r = api.get("/counter")
    assert r.status_code == 200
    assert 'id="demo-banner"' in r.text and "CHẾ ĐỘ DEMO" in r.text
    assert "Đọc thẻ" in r.text and 'lang="vi"' in r.text
    csrf = re.search(r'<meta name="csrf" content="([^"]+)"', r.text).group(1)
    assert len(csrf) > 20
    en = api.get("/counter?lang=en")
    assert "Read card" in en.text and "DEMO MODE" in en.text and 'lang="en"' in en.text
    assert "Read card" in api.get("/counter").text  # remembered
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_inspector_lands_on_inspector_page(api, svc):
    assert _login(api, svc, "inspector") == "/inspector"
    r = api.get("/inspector")
    assert r.status_code == 200 and "Kiểm tra sổ cái" in r.text


def test_print_view(api, svc, make_scan, txn_body):
    _login(api, svc)
    scan = make_scan()
    txn = svc.book.create(scan.result, {k: v for k, v in txn_body(scan.id).items() if k != "scan_id"},
                          user="web-clerk", role="clerk", face=scan.face)
    r = api.get(f"/contracts/{txn['id']}/print")
    assert r.status_code == 200
    for text in ("HỢP ĐỒNG CẦM ĐỒ", "Nguyễn Văn An", "079090001234", "8.000.000 ₫", "18 %/năm", "F2LXK0ABCD12", "DEMO",
                 "Giấy tờ chứng minh quyền sở hữu", "Ngày đến hạn chuộc", txn["contract_no"]):
        assert text in r.text, text
    assert api.get("/contracts/nope/print").status_code == 404


def test_no_external_resources(api, svc):
    _login(api, svc)
    pages = [api.get(p).text for p in ("/counter", "/inspector", "/login")]
    static = [api.get(f"/static/{n}").text for n in ("app.css", "common.js", "counter.js", "inspector.js")]
    for text in pages + static:
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
        assert "url(http" not in text and "cdn" not in text.lower()
    assert api.get("/static/fonts/DejaVuSans.ttf").status_code == 200


def test_api_docs_are_offline(api):
    r = api.get("/docs")
    assert r.status_code == 200 and "/openapi.json" in r.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", r.text)
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_login_redirects_only_to_local_pages(api, svc):
    created = svc.users.add("lan2", "clerk")
    for evil in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        api.client.cookies.clear()
        r = api.post("/login", data={"name": "lan2", "password": created["password"], "next": evil})
        assert r.status_code == 303 and r.headers["location"] == "/counter", evil
    api.client.cookies.clear()
    r = api.post("/login", data={"name": "lan2", "password": created["password"], "next": "/inspector"})
    assert r.headers["location"] == "/inspector"
