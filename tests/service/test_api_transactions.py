"""Transactions through the REST API (in-process, httpx + ASGITransport)."""

from __future__ import annotations


def _create(api, tokens, make_scan, txn_body, role="clerk", **over):
    scan = make_scan()
    return api.post("/api/v1/transactions", tokens[role], json=txn_body(scan.id, **over))


def test_health_needs_no_auth_and_reports_the_ledger(api):
    r = api.get("/api/v1/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["demo"] is True
    assert h["ledger"]["head_seq"] == 0 and len(h["ledger"]["head_hash"]) == 64
    assert "reader" in h and "trust_store" in h


def test_every_other_call_needs_auth(api):
    r = api.get("/api/v1/transactions")
    assert r.status_code == 401
    assert set(r.json()["error"]) == {"code", "message", "details"}
    assert r.json()["error"]["code"] == "unauthenticated"
    assert api.get("/api/v1/transactions", "chipid_wrong").status_code == 401
    assert api.get("/api/v1/transactions", headers={"Authorization": "Basic abc"}).status_code == 401


def test_create_and_read_transaction(api, tokens, make_scan, txn_body, svc):
    r = _create(api, tokens, make_scan, txn_body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["contract_no"].endswith("-000001") and created["demo"] is True
    r = api.get(f"/api/v1/transactions/{created['id']}", tokens["clerk"])
    assert r.status_code == 200
    view = r.json()
    assert view["pawner"]["full_name"] == "Nguyễn Văn An"
    assert view["status"] == "active" and view["loan_vnd"] == 8_000_000
    assert view["identity_check"]["verdict"] == "authentic"
    # by default the camera frame is not kept (privacy.store_camera_photo), only the decision
    assert view["face"]["decision"] == "match" and view["face"]["camera_photo_sha256"] is None
    assert view["photos"] == ["chip"]
    assert api.get(f"/api/v1/transactions/{created['id']}/photos/chip", tokens["clerk"]).headers["content-type"] == "image/jpeg"
    # the read is in the access log
    log = api.get("/api/v1/audit", tokens["manager"]).json()
    assert any(row["user"] == "clerk-1" and row["action"] == "read" and created["contract_no"] in row["record"] for row in log["items"])
    assert svc.ledger.verify().ok


def test_camera_photo_is_kept_only_when_the_operator_chose_to(api, tokens, make_scan, txn_body, svc):
    svc.cfg = svc.cfg.with_overrides(privacy__store_camera_photo=True)
    created = _create(api, tokens, make_scan, txn_body).json()
    view = api.get(f"/api/v1/transactions/{created['id']}", tokens["clerk"]).json()
    assert view["photos"] == ["chip", "camera"] and view["face"]["camera_photo_sha256"]
    assert api.get(f"/api/v1/transactions/{created['id']}/photos/camera", tokens["clerk"]).status_code == 200


def test_interest_rate_above_legal_cap_is_refused(api, tokens, make_scan, txn_body, svc):
    r = _create(api, tokens, make_scan, txn_body, interest_rate_year_pct=20.5)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "interest_rate_above_cap" and "468" in err["message"]
    assert err["details"]["max_interest_rate_year_pct"] == 20.0
    assert svc.ledger.head()[0] == 0
    assert _create(api, tokens, make_scan, txn_body, interest_rate_year_pct=20.0).status_code == 201


def test_not_authentic_needs_a_manager_override_with_reason(api, tokens, make_scan, txn_body):
    scan = make_scan(verdict="unverified")
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id))
    assert r.status_code == 422 and r.json()["error"]["code"] == "scan_not_authentic"
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id, override_reason="chip worn, checked by hand"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "override_needs_manager"
    r = api.post("/api/v1/transactions", tokens["manager"], json=txn_body(scan.id, override_reason="chip worn, checked by hand"))
    assert r.status_code == 201, r.text
    view = api.get(f"/api/v1/transactions/{r.json()['id']}", tokens["manager"]).json()
    assert view["override"] == {"by": "manager-1", "role": "manager", "reason": "chip worn, checked by hand", "verdict": "unverified"}


def test_face_must_match_or_be_a_confirmed_refer(api, tokens, make_scan, txn_body):
    for decision in (None, "no_match", "no_face"):
        scan = make_scan(face=decision)
        r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id))
        assert r.status_code == 422 and r.json()["error"]["code"] == "face_not_confirmed", decision
    scan = make_scan(face="refer")
    assert api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id)).status_code == 422
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(scan.id, face_refer_confirmed=True))
    assert r.status_code == 201
    view = api.get(f"/api/v1/transactions/{r.json()['id']}", tokens["clerk"]).json()
    assert view["face"]["confirmed_by"] == "clerk-1"


def test_a_face_no_match_passes_only_with_the_managers_recorded_reason(api, tokens, make_scan, txn_body):
    scan = make_scan(face="no_match")
    r = api.post("/api/v1/transactions", tokens["manager"], json=txn_body(scan.id))
    assert r.status_code == 422 and r.json()["error"]["code"] == "face_not_confirmed"
    r = api.post("/api/v1/transactions", tokens["manager"],
                 json=txn_body(scan.id, override_reason="chip photo taken 15 years ago, checked the paper card"))
    assert r.status_code == 201, r.text
    view = api.get(f"/api/v1/transactions/{r.json()['id']}", tokens["manager"]).json()
    assert view["override"] == {"by": "manager-1", "role": "manager", "verdict": "authentic", "face_decision": "no_match",
                                "reason": "chip photo taken 15 years ago, checked the paper card"}


def test_unknown_or_unfinished_scan(api, tokens, txn_body, svc):
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body("nope"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "scan_not_found"
    from verifier.api.scans import Scan
    from verifier.results import ScanStep

    scan = Scan(id="s1", user="x", access_kind=None, step=ScanStep.READING)
    svc.scans._scans["s1"] = scan
    r = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body("s1"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "scan_not_finished"


def test_validation_errors_have_the_one_shape(api, tokens):
    r = api.post("/api/v1/transactions", tokens["clerk"], json={"scan_id": "x"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_request" and err["details"]["errors"]
    r = api.post("/api/v1/transactions", tokens["clerk"], content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()
    r = api.get("/api/v1/nothing-here", tokens["clerk"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_lifecycle_events(api, tokens, make_scan, txn_body, svc):
    txn = _create(api, tokens, make_scan, txn_body).json()["id"]
    url = f"/api/v1/transactions/{txn}/events"
    before = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["due_date"]
    # the same day as the contract: no interest yet, the clerk confirms the cash (README "Money")
    pay = {"type": "partial_payment", "amount_vnd": 1_000_000}
    r = api.post(url, tokens["clerk"], json=pay)
    assert r.status_code == 409 and r.json()["error"]["code"] == "amount_changed"  # not confirmed
    assert api.post(url, tokens["clerk"], json={**pay, "expected": {"cash_in_vnd": 1_000_000}}).status_code == 201
    r = api.post(url, tokens["clerk"], json={"type": "extended", "extend_days": 15})
    assert r.status_code == 201, r.text
    assert api.post(url, tokens["manager"], json={"type": "correction", "reason": "typo", "fields": {"notes": "màu đen"}}).status_code == 201
    assert api.post(url, tokens["manager"], json={"type": "correction", "fields": {"notes": "x"}}).json()["error"]["code"] == "reason_required"
    assert api.post(url, tokens["manager"], json={"type": "correction", "reason": "r", "fields": {"loan_vnd": 1}}).status_code == 422
    for bad in ({"valuation_vnd": "lots"}, {"items": []}, {"items": [{"serial": "x"}]}, {"notes": 5}):
        r = api.post(url, tokens["manager"], json={"type": "correction", "reason": "r", "fields": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_correction", bad
    assert api.post(url, tokens["clerk"], json={"type": "liquidated", "sale_vnd": 9_000_000}).status_code == 409
    assert api.post(url, tokens["clerk"], json={"type": "redeemed", "expected": {"cash_in_vnd": 7_000_000}}).status_code == 201
    r = api.post(url, tokens["clerk"], json={"type": "redeemed"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "bad_transition"
    assert api.post(url, tokens["clerk"], json={"type": "suspicious", "reason": "serial matches a stolen phone", "target": "item"}).status_code == 201
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    assert view["status"] == "redeemed" and view["flagged"] is True
    assert view["paid_vnd"] == 8_000_000 and view["notes"] == "màu đen"  # 1 000 000 then the 7 000 000 left
    assert [e["money"]["principal_in_vnd"] for e in view["events"] if "money" in e and e["type"] != "extended"] == [1_000_000, 7_000_000]
    assert view["due_date"] > before
    assert [e["type"] for e in view["events"]] == ["partial_payment", "extended", "correction", "redeemed", "suspicious"]
    # the suspicious event goes first in the outbox
    assert svc.ledger.outbox()[0].payload["type"] == "suspicious"
    assert api.post("/api/v1/transactions/nope/events", tokens["clerk"], json={"type": "redeemed"}).status_code == 404


def test_forfeit_then_liquidate(api, tokens, make_scan, txn_body):
    txn = _create(api, tokens, make_scan, txn_body).json()["id"]
    url = f"/api/v1/transactions/{txn}/events"
    assert api.post(url, tokens["clerk"], json={"type": "forfeited"}).status_code == 422  # needs a reason
    assert api.post(url, tokens["clerk"], json={"type": "forfeited", "reason": "not redeemed by due date"}).status_code == 201
    sale = {"type": "liquidated", "sale_vnd": 9_000_000, "expected": {"cash_in_vnd": 9_000_000, "cash_out_vnd": 1_000_000}}
    assert api.post(url, tokens["clerk"], json=sale).status_code == 201  # the loan was 8 000 000: 1 000 000 back
    assert api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["status"] == "liquidated"


def test_search_filters_and_pages(api, tokens, make_scan, txn_body, holder):
    other = dict(holder, id_number="001185000777", full_name="Trần Thị Bích Ngọc")
    ids = []
    for i in range(5):
        scan = make_scan(holder=other if i % 2 else holder)
        body = txn_body(scan.id, items=[{"description": f"Xe máy {i}", "category": "motorbike", "serial": f"SN-00{i}"}])
        ids.append(api.post("/api/v1/transactions", tokens["clerk"], json=body).json()["id"])
    q = lambda **p: api.get("/api/v1/transactions", tokens["inspector"], params=p).json()  # noqa: E731
    assert q()["total"] == 5
    assert q(id_number="079090001234")["total"] == 3
    assert q(id_number="079 090 001 234")["total"] == 3
    assert q(name="tran thi")["total"] == 2
    assert q(name="Trần Thị Bích Ngọc")["total"] == 2
    assert q(name="Nguyễn An")["total"] == 3
    assert q(name="Nguyen Minh")["total"] == 0
    found = q(serial="sn003")
    assert found["total"] == 1 and found["items"][0]["id"] == ids[3]
    assert found["items"][0]["pawner_name"] == "Trần Thị Bích Ngọc"
    page = q(page=2, page_size=2)
    assert page["total"] == 5 and len(page["items"]) == 2 and page["items"][0]["id"] == ids[2]
    assert q(status="active")["total"] == 5 and q(status="redeemed")["total"] == 0
    assert q(**{"from": "2000-01-01", "to": "2000-12-31"})["total"] == 0
    assert q(**{"from": "2000-01-01"})["total"] == 5
    # the ends of the calendar (0001-01-01 in Vietnam starts before year 1 in UTC) stand for "any time"
    assert q(**{"from": "0001-01-01", "to": "9999-12-31"})["total"] == 5
    assert q(**{"from": "9999-12-31"})["total"] == q(**{"to": "0001-01-01"})["total"] == 0
    r = api.get("/api/v1/transactions", tokens["inspector"], params={"status": "weird"})
    assert r.status_code == 422
    r = api.get("/api/v1/transactions", tokens["inspector"], params={"from": "yesterday"})
    assert r.status_code == 422


def test_contract_pdf_is_vietnamese(api, tokens, make_scan, txn_body):
    txn = _create(api, tokens, make_scan, txn_body).json()["id"]
    r = api.get(f"/api/v1/transactions/{txn}/contract.pdf", tokens["clerk"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and b"/Title" in r.content and len(r.content) > 5000
