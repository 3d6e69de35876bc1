"""Errors in Vietnamese and English by Accept-Language (issue 17 item 4): the same error, the same code,
the catalogue's sentence in the language asked for, the raise site's technical text in details.detail."""

from __future__ import annotations

from verifier import messages

VI = {"Accept-Language": "vi-VN,vi;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def _both(api, method, url, token, **kw):
    vi = api.request(method, url, headers={**VI, "Authorization": f"Bearer {token}"}, **kw)
    en = api.request(method, url, headers={**EN, "Authorization": f"Bearer {token}"}, **kw)
    assert vi.status_code == en.status_code and vi.status_code >= 400, (vi.text, en.text)
    assert vi.headers["content-language"] == "vi" and en.headers["content-language"] == "en"
    ev, ee = vi.json()["error"], en.json()["error"]
    assert ev["code"] == ee["code"] and ev["message"] != ee["message"]
    return ev, ee


def test_interest_cap_and_loan_above_valuation_in_both_languages(api, tokens, make_scan, txn_body):
    scan = make_scan()
    ev, ee = _both(api, "POST", "/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id, interest_rate_year_pct=20.5))
    assert ev["code"] == "interest_rate_above_cap"
    assert ev["message"] == "Lãi suất 20.5%/năm vượt mức tối đa 20%/năm (Điều 468 Bộ luật Dân sự)."
    assert ee["message"].startswith("The interest rate 20.5 %/year exceeds the legal cap")
    assert "Civil Code art. 468" in ev["details"]["detail"]  # the technical English stays, out of the clerk's sentence
    ev, ee = _both(api, "POST", "/api/v1/transactions", tokens["clerk"],
                   json=txn_body(scan.id, loan_vnd=50_000_000, valuation_vnd=10_000_000))
    assert ev["code"] == "loan_above_valuation" and ev["message"] == messages.CATALOGUE["loan_above_valuation"][0]
    assert ee["message"] == messages.CATALOGUE["loan_above_valuation"][1]


def test_not_authentic_face_and_redeem_twice_in_both_languages(api, tokens, make_scan, txn_body):
    ev, ee = _both(api, "POST", "/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan(verdict="not_authentic").id))
    assert ev["code"] == "scan_not_authentic" and "không nhận cầm, gọi quản lý" in ev["message"]
    assert "call the manager" in ee["message"] and ev["details"]["verdict"] == "not_authentic"
    ev, ee = _both(api, "POST", "/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan(face="no_match").id))
    assert ev["code"] == "face_not_confirmed" and "Khuôn mặt" in ev["message"] and "face" in ee["message"]
    created = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json()
    url = f"/api/v1/transactions/{created['id']}/events"
    redeem = {"type": "redeemed", "expected": {"cash_in_vnd": 8_000_000}}
    assert api.post(url, tokens["clerk"], json=redeem).status_code == 201
    ev, ee = _both(api, "POST", url, tokens["clerk"], json=redeem)
    assert ev["code"] == "bad_transition" and "đã chuộc thì không chuộc lại được" in ev["message"]
    assert "cannot be redeemed again" in ee["message"] and "'redeemed'" in ev["details"]["detail"]


def test_language_falls_back_to_the_page_setting_then_service_language(api, tokens, svc):
    def message(headers=None, cookies=None):
        api.client.cookies.clear()
        if cookies:
            api.client.cookies.update(cookies)
        return api.get("/api/v1/scans/unknown", tokens["clerk"], headers=headers).json()["error"]["message"]
    vi, en = messages.CATALOGUE["scan_not_found"]
    assert message() == vi  # service.language = vi by default
    assert message(headers={"Accept-Language": "fr"}) == vi
    assert message(cookies={"lang": "en"}) == en  # the user's choice on the pages
    assert message(headers=VI, cookies={"lang": "en"}) == vi  # an explicit header wins
    svc.cfg = svc.cfg.with_overrides(service__language="en")
    assert message() == en
    api.client.cookies.clear()


def test_validation_and_auth_errors_are_translated_too(api, tokens):
    r = api.get("/api/v1/transactions", headers=EN)
    assert r.status_code == 401 and r.json()["error"]["message"] == messages.CATALOGUE["unauthenticated"][1]
    r = api.get("/api/v1/transactions", headers=VI)
    assert r.json()["error"]["message"] == messages.CATALOGUE["unauthenticated"][0]
    r = api.request("POST", "/api/v1/transactions", headers={**VI, "Authorization": f"Bearer {tokens['clerk']}"}, json={"x": 1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["message"] == messages.CATALOGUE["invalid_request"][0] and r.json()["error"]["details"]["errors"]
