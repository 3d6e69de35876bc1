"""Nothing doubled (issue 17 item 3): Idempotency-Key on POST /transactions and events, and the
manager's supervised correction / cancellation."""

from __future__ import annotations

import threading

import httpx


def _post(api, token, scan_id, txn_body, key, **over):
    return api.post("/api/v1/transactions", token, json=txn_body(scan_id, **over), headers={"Idempotency-Key": key})


def test_same_key_and_body_gets_the_first_answer_and_one_entry(api, tokens, make_scan, txn_body, svc):
    scan = make_scan()
    first = _post(api, tokens["clerk"], scan.id, txn_body, "k-1")
    assert first.status_code == 201, first.text
    again = _post(api, tokens["clerk"], scan.id, txn_body, "k-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert svc.ledger.head()[0] == 1
    assert api.get("/api/v1/transactions", tokens["clerk"]).json()["total"] == 1


def test_same_key_other_body_is_409_in_both_languages(api, tokens, make_scan, txn_body, svc):
    scan = make_scan()
    assert _post(api, tokens["clerk"], scan.id, txn_body, "k-2").status_code == 201
    r = _post(api, tokens["clerk"], scan.id, txn_body, "k-2", loan_vnd=7_000_000)
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "idempotency_key_reused" and "Idempotency-Key" in (err["message"] + str(err["details"]))
    assert "mã chống gửi trùng" in str(err["details"]).lower() or "mã chống gửi trùng" in err["message"].lower()
    assert svc.ledger.head()[0] == 1
    # a key is a user's own: another clerk's identical key is a new contract
    assert _post(api, tokens["manager"], scan.id, txn_body, "k-2").status_code == 201
    assert svc.ledger.head()[0] == 2


def test_bad_key_is_a_400(api, tokens, make_scan, txn_body):
    r = _post(api, tokens["clerk"], make_scan().id, txn_body, "x" * 201)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_idempotency_key"


def test_retry_after_a_restart_gets_the_same_answer(api, tokens, make_scan, txn_body, cfg, app):
    from tests.service.conftest import Api
    from tests.service.live_app import counter_app

    scan = make_scan()
    first = _post(api, tokens["clerk"], scan.id, txn_body, "k-restart")
    assert first.status_code == 201
    app.state.svc.close()
    app2 = counter_app(cfg)
    api2 = Api(app2)
    try:
        # the scan is gone after the restart: the stored answer comes before the scan is looked up
        again = _post(api2, tokens["clerk"], scan.id, txn_body, "k-restart")
        assert again.status_code == 201 and again.json() == first.json()
        assert app2.state.svc.ledger.head()[0] == 1
    finally:
        api2.close()
        app2.state.svc.close()


def test_concurrent_double_post_makes_one_contract(app, tokens, make_scan, txn_body, svc):
    import asyncio

    scan = make_scan()
    body = txn_body(scan.id)
    results = []

    async def both():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            headers = {"Authorization": f"Bearer {tokens['clerk']}", "Idempotency-Key": "double-click"}
            return await asyncio.gather(*(c.post("/api/v1/transactions", json=body, headers=headers) for _ in range(2)))

    def run():
        results.extend(asyncio.run(both()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 4
    assert len({r.json()["id"] for r in results}) == 1
    assert svc.ledger.head()[0] == 1 and svc.ledger.verify().ok


def test_event_endpoint_is_idempotent(api, tokens, make_scan, txn_body, svc):
    txn = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json()["id"]
    url = f"/api/v1/transactions/{txn}/events"
    pay = {"type": "partial_payment", "amount_vnd": 1_000_000, "expected": {"cash_in_vnd": 1_000_000}}
    a = api.post(url, tokens["clerk"], json=pay, headers={"Idempotency-Key": "pay-1"})
    b = api.post(url, tokens["clerk"], json=pay, headers={"Idempotency-Key": "pay-1"})
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    assert api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["paid_vnd"] == 1_000_000
    c = api.post(url, tokens["clerk"], json=dict(pay, amount_vnd=2), headers={"Idempotency-Key": "pay-1"})
    assert c.status_code == 409
    assert svc.ledger.head()[0] == 2


def test_correction_is_a_managers_with_a_reason(api, tokens, make_scan, txn_body, svc):
    created = api.post("/api/v1/transactions", tokens["clerk"], json=txn_body(make_scan().id)).json()
    url = f"/api/v1/transactions/{created['id']}/events"
    r = api.post(url, tokens["clerk"], json={"type": "correction", "cancel": True, "reason": "bấm nhầm hai lần"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "correction_needs_manager"
    assert "quản lý" in str(r.json()["error"])
    r = api.post(url, tokens["manager"], json={"type": "correction", "cancel": True})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    head = svc.ledger.head()[0]
    r = api.post(url, tokens["manager"], json={"type": "correction", "cancel": True, "reason": "bấm nhầm hai lần"})
    assert r.status_code == 201, r.text
    assert svc.ledger.head()[0] == head + 1
    view = api.get(f"/api/v1/transactions/{created['id']}", tokens["clerk"]).json()
    assert view["status"] == "cancelled" and view["corrected"] is True and view["cancelled_at"]
    row = api.get("/api/v1/transactions", tokens["clerk"]).json()["items"][0]
    assert row["status"] == "cancelled" and row["corrected"] is True
    assert api.get("/api/v1/transactions?status=cancelled", tokens["clerk"]).json()["total"] == 1
    # the ledger was not edited: the contract entry is still there and the chain verifies
    assert svc.ledger.entries_by_seq([created["seq"]])[0].payload["contract_no"] == created["contract_no"]
    assert svc.ledger.verify().ok
    # a cancelled contract cannot be redeemed, nor cancelled again
    assert api.post(url, tokens["clerk"], json={"type": "redeemed"}).status_code == 409
    assert api.post(url, tokens["manager"], json={"type": "correction", "cancel": True, "reason": "again"}).status_code == 409
    # the correction goes to the police like any event: it is in the outbox
    assert any(e.payload.get("type") == "correction" for e in svc.ledger.outbox())
