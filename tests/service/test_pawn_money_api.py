"""Pawn money through the REST API (in-process client): quotes, each money event's amounts in its ledger entry,
409 amount_changed on a stale confirmation, rates typed in each unit and the cap with fees.

The counter's day is the pawn book's clock (``verifier.ledger.pawn.today_vn``): it is set per step, as days pass
at a real counter (contract on 1 January 2026, payments weeks later). Amounts were computed by hand
(README "Money": principal × rate / 100 / 365 per day, rounded half up once)."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from verifier.ledger import pawn

JAN1 = date(2026, 1, 1)


@pytest.fixture()
def day(monkeypatch):
    """Set the counter's day: ``day(date)``."""
    def set_day(d: date) -> None:
        monkeypatch.setattr(pawn, "today_vn", lambda: d)
    set_day(JAN1)
    return set_day


def _contract(api, tokens, make_scan, txn_body, **over) -> str:
    body = txn_body(make_scan().id, **{"valuation_vnd": 12_000_000, "loan_vnd": 10_000_000, "interest_rate_year_pct": 18.0,
                                       "term_days": 30, **over})
    r = api.post("/api/v1/transactions", tokens["clerk"], json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _quote(api, tokens, txn, **params) -> dict:
    r = api.get(f"/api/v1/transactions/{txn}/quote", tokens["clerk"], params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _post(api, tokens, txn, body, role="clerk"):
    return api.post(f"/api/v1/transactions/{txn}/events", tokens[role], json=body)


def _entry(svc, seq) -> dict:
    return svc.ledger.entries_by_seq([seq])[0].payload


def _confirmed(q: dict) -> dict:
    return {"cash_in_vnd": q["money"]["cash_in_vnd"], "cash_out_vnd": q["money"]["cash_out_vnd"]}


def test_interest_paid_then_redeemed_charges_only_the_days_since(api, tokens, make_scan, txn_body, svc, day):
    txn = _contract(api, tokens, make_scan, txn_body)
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    assert view["money"]["interest_due_vnd"] == 0 and view["money"]["interest_to"] == "2026-01-01"
    assert view["money"]["interest_at_maturity_vnd"] == 147_945  # 30 days: 10 000 000 × 18 × 30 / 36 500
    day(date(2026, 1, 16))
    q = _quote(api, tokens, txn, type="interest_paid")
    assert q["money"]["interest_vnd"] == 73_973 and q["money"]["interest_to"] == "2026-01-16"  # 15 days: 73 972,60
    r = _post(api, tokens, txn, {"type": "interest_paid", "expected": _confirmed(q)})
    assert r.status_code == 201, r.text
    paid_seq = r.json()["seq"]
    paid = _entry(svc, paid_seq)
    assert paid["money"]["interest_vnd"] == 73_973 and paid["money"]["cash_in_vnd"] == 73_973 and paid["money"]["cash_out_vnd"] == 0
    day(date(2026, 1, 31))
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    assert view["money"]["interest_due_vnd"] == 73_972 and view["money"]["to_redeem_vnd"] == 10_073_972
    q = _quote(api, tokens, txn, type="redeemed")
    assert q["money"]["cash_in_vnd"] == 10_073_972  # the 15 days since, not the 30 since the start
    assert q["cash_in_words"] == "Mười triệu không trăm bảy mươi ba nghìn chín trăm bảy mươi hai đồng"
    assert q["cash_out_words"] == "Không đồng"
    r = _post(api, tokens, txn, {"type": "redeemed", "expected": _confirmed(q)})
    assert r.status_code == 201, r.text
    red_seq = r.json()["seq"]
    red = _entry(svc, red_seq)["money"]
    assert red["principal_in_vnd"] == 10_000_000 and red["interest_vnd"] == 73_972 and red["interest_to"] == "2026-01-31"
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    assert view["status"] == "redeemed" and view["money"]["principal_vnd"] == 0 and view["money"]["to_redeem_vnd"] == 0
    assert view["money"]["paid_vnd"] == view["paid_vnd"] == 10_147_945 and view["money"]["interest_paid_vnd"] == 147_945
    assert [(e["type"], e["money"]["cash_in_vnd"]) for e in view["events"]] == [("interest_paid", 73_973), ("redeemed", 10_073_972)]
    assert [e["seq"] for e in view["events"]] == [paid_seq, red_seq]  # receipts are per event seq
    assert svc.ledger.verify().ok


def test_a_stale_confirmation_is_409_with_the_fresh_quote_and_records_nothing(api, tokens, make_scan, txn_body, svc, day):
    txn = _contract(api, tokens, make_scan, txn_body)
    day(date(2026, 1, 16))
    seen = _quote(api, tokens, txn, type="redeemed")  # the clerk saw this on the 16th...
    day(date(2026, 1, 31))  # ...and confirms it on the 31st
    head = svc.ledger.head()
    r = _post(api, tokens, txn, {"type": "redeemed", "expected": _confirmed(seen)})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "amount_changed" and err["details"]["quote"]["money"]["cash_in_vnd"] == 10_147_945
    assert err["details"]["expected"] == {"cash_in_vnd": 10_073_973, "cash_out_vnd": 0}
    assert "xác nhận lại" in err["message"]
    r = _post(api, tokens, txn, {"type": "redeemed"})  # no confirmation at all: the same answer
    assert r.status_code == 409 and r.json()["error"]["code"] == "amount_changed"
    assert svc.ledger.head() == head  # nothing recorded
    assert api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["status"] == "active"


def test_partial_payment_and_principal_added_change_the_principal_from_the_next_day(api, tokens, make_scan, txn_body, svc, day):
    txn = _contract(api, tokens, make_scan, txn_body)
    day(date(2026, 1, 11))
    q = _quote(api, tokens, txn, type="partial_payment", amount_vnd=4_000_000)
    # 10 days on 10 000 000: 49 315,07 -> 49 315, paid with the 4 000 000
    assert q["money"] == {"interest_vnd": 49_315, "principal_in_vnd": 4_000_000, "cash_in_vnd": 4_049_315, "cash_out_vnd": 0,
                          "interest_to": "2026-01-11", "on": "2026-01-11"}
    r = _post(api, tokens, txn, {"type": "partial_payment", "amount_vnd": 4_000_000, "expected": _confirmed(q)})
    assert r.status_code == 201 and _entry(svc, r.json()["seq"])["money"]["principal_in_vnd"] == 4_000_000
    r = _post(api, tokens, txn, {"type": "partial_payment", "amount_vnd": 6_000_000, "expected": {"cash_in_vnd": 6_000_000}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "amount_above_principal"
    r = _post(api, tokens, txn, {"type": "principal_added", "amount_vnd": 7_000_000, "expected": {"cash_out_vnd": 7_000_000}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "loan_above_valuation"  # 6 000 000 + 7 000 000 > 12 000 000
    day(date(2026, 1, 21))
    r = _post(api, tokens, txn, {"type": "principal_added", "amount_vnd": 2_000_000, "expected": {"cash_out_vnd": 2_000_000}})
    assert r.status_code == 201, r.text
    added = _entry(svc, r.json()["seq"])["money"]
    assert added["principal_out_vnd"] == 2_000_000 and added["cash_out_vnd"] == 2_000_000 and added["cash_in_vnd"] == 0
    day(date(2026, 1, 31))
    money = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["money"]
    # 10 days on 6 000 000 then 10 days on 8 000 000: (60 000 000 + 80 000 000) × 18 / 36 500 = 69 041,10 -> 69 041
    # total accrued 31 days rounded once: (100 + 60 + 80) × 10^6 × 18 / 36 500 = 118 356,16 -> 118 356 − 49 315 paid
    assert money["principal_vnd"] == 8_000_000 and money["interest_due_vnd"] == 118_356 - 49_315 == 69_041
    assert money["to_redeem_vnd"] == 8_069_041


def test_extension_with_payment_moves_the_due_date(api, tokens, make_scan, txn_body, svc, day):
    txn = _contract(api, tokens, make_scan, txn_body)
    day(date(2026, 1, 31))
    # a fee of 10 000 ₫ on 10 000 000 over 30 days is 1,2 %/year: 19,2 % with the rate, under the cap
    q = _quote(api, tokens, txn, type="extended", extend_days=30, fees_vnd=10_000)
    assert q["new_due_date"] == "2026-03-02" and q["money"]["interest_vnd"] == 147_945 and q["money"]["cash_in_vnd"] == 157_945
    r = _post(api, tokens, txn, {"type": "extended", "extend_days": 30, "fees_vnd": 10_000, "expected": _confirmed(q)})
    assert r.status_code == 201, r.text
    e = _entry(svc, r.json()["seq"])
    assert e["new_due_date"] == "2026-03-02" and e["money"]["fees_vnd"] == 10_000 and e["money"]["interest_to"] == "2026-01-31"
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    assert view["due_date"] == "2026-03-02" and view["money"]["interest_due_vnd"] == 0
    assert view["money"]["interest_at_maturity_vnd"] == 147_945  # 30 more days at 18 %
    # an extension without payment moves no cash and needs no confirmation; its fee over 10 days breaks the cap
    r = _post(api, tokens, txn, {"type": "extended", "extend_days": 10, "pay_interest": False, "fees_vnd": 100_000,
                                 "expected": {"cash_in_vnd": 100_000}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "interest_rate_above_cap"  # 18 + 36,5 %/year
    day(date(2026, 2, 10))
    r = _post(api, tokens, txn, {"type": "extended", "extend_days": 10, "pay_interest": False})
    assert r.status_code == 201 and _entry(svc, r.json()["seq"])["money"]["cash_in_vnd"] == 0
    assert api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["money"]["interest_due_vnd"] == 49_315  # 10 days


def test_forfeit_then_liquidate_with_a_surplus(api, tokens, make_scan, txn_body, svc, day):
    txn = _contract(api, tokens, make_scan, txn_body)
    day(date(2026, 3, 2))
    assert _post(api, tokens, txn, {"type": "forfeited", "reason": "quá hạn 30 ngày"}).status_code == 201
    r = _post(api, tokens, txn, {"type": "liquidated", "expected": {"cash_in_vnd": 1}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "amount_required"
    q = _quote(api, tokens, txn, type="liquidated", sale_vnd=11_000_000)
    # 60 days: 295 890,41 -> 295 890; surplus 11 000 000 − 10 000 000 − 295 890 = 704 110, paid back to the pawner
    assert q["money"]["surplus_vnd"] == 704_110 and q["money"]["cash_out_vnd"] == 704_110 and q["money"]["cash_in_vnd"] == 11_000_000
    r = _post(api, tokens, txn, {"type": "liquidated", "sale_vnd": 11_000_000, "expected": _confirmed(q)})
    assert r.status_code == 201, r.text
    m = _entry(svc, r.json()["seq"])["money"]
    assert (m["sale_vnd"], m["principal_in_vnd"], m["interest_vnd"], m["surplus_vnd"]) == (11_000_000, 10_000_000, 295_890, 704_110)
    assert api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["status"] == "liquidated"


def test_rates_typed_in_each_unit_and_the_cap_with_fees(api, tokens, make_scan, txn_body, svc, day):
    txn = _contract(api, tokens, make_scan, txn_body, interest_rate_year_pct=None, rate_input={"value": "1,5", "unit": "month_pct"})
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    assert view["interest_rate_year_pct"] == 18.0 and view["rate_input"] == {"value": "1,5", "unit": "month_pct"}
    assert view["money"]["rate"] == {"year_pct": 18.0, "month_pct": 1.5, "vnd_per_million_day": pytest.approx(493.150684931)}
    # 548 ₫ per million per day = 20,002 %/year: above the 20 % cap; 547,945 = 19,999...
    body = lambda **kw: txn_body(make_scan().id, **{"interest_rate_year_pct": None, "loan_vnd": 10_000_000, **kw})  # noqa: E731
    r = api.post("/api/v1/transactions", tokens["clerk"], json=body(rate_input={"value": "548", "unit": "vnd_per_million_day"}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "interest_rate_above_cap"
    r = api.post("/api/v1/transactions", tokens["clerk"], json=body(rate_input={"value": "547.945", "unit": "vnd_per_million_day"}))
    assert r.status_code == 201, r.text
    # fees count: 18 %/year + 200 000 ₫ on 10 000 000 over 365 days (2 %/year) is exactly the cap: allowed; 1 ₫ more is not
    ok = body(interest_rate_year_pct=18.0, term_days=365, fees_vnd=200_000)
    assert api.post("/api/v1/transactions", tokens["clerk"], json=ok).status_code == 201
    r = api.post("/api/v1/transactions", tokens["clerk"], json={**ok, "scan_id": make_scan().id, "fees_vnd": 200_001})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "interest_rate_above_cap" and "tính cả phí" in err["message"] and err["details"]["fees_vnd"] == 200_001
    # both units sent must agree; a typed rate that is no number is refused by the schema
    r = api.post("/api/v1/transactions", tokens["clerk"], json=body(interest_rate_year_pct=12.0, rate_input={"value": "1,5", "unit": "month_pct"}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_rate_input"
    r = api.post("/api/v1/transactions", tokens["clerk"], json=body(rate_input={"value": "1.000,5", "unit": "month_pct"}))
    assert r.status_code == 422


def test_fees_at_signing_count_as_paid(api, tokens, make_scan, txn_body, day):
    txn = _contract(api, tokens, make_scan, txn_body, fees_vnd=10_000)
    money = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["money"]
    assert money["paid_vnd"] == 10_000 and money["interest_paid_vnd"] == 0 and money["principal_vnd"] == 10_000_000


def test_an_old_ledger_event_without_money_folds_as_zero(api, tokens, make_scan, txn_body, svc, day):
    txn = _contract(api, tokens, make_scan, txn_body)
    # what the old API recorded: a partial payment with an amount and no money block
    svc.ledger.append("event", {"type": "partial_payment", "txn_id": txn, "amount_vnd": 1_000_000,
                                "by": {"user": "clerk-1", "role": "clerk"}, "at": "2026-01-05T03:00:00Z"})
    day(date(2026, 1, 31))
    view = api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()
    assert view["events"][0]["amount_vnd"] == 1_000_000 and "money" not in view["events"][0]
    assert view["money"]["paid_vnd"] == 0 and view["money"]["principal_vnd"] == 10_000_000
    assert view["money"]["interest_due_vnd"] == 147_945


def test_two_concurrent_payments_cannot_use_the_same_state(api, tokens, make_scan, txn_body, svc, day):
    """Both saw principal 10 000 000 and confirmed 6 000 000: the second is judged on the state after the first."""
    txn = _contract(api, tokens, make_scan, txn_body)
    results, barrier = [], threading.Barrier(2)

    def pay():
        barrier.wait()
        try:
            results.append(svc.book.add_event(txn, "partial_payment", {"amount_vnd": 6_000_000,
                                              "expected": {"cash_in_vnd": 6_000_000, "cash_out_vnd": 0}},
                                              user="clerk-1", role="clerk"))
        except Exception as e:  # noqa: BLE001 - the refusal is the result under test
            results.append(e)

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ok = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if not isinstance(r, dict)]
    assert len(ok) == 1 and len(refused) == 1 and getattr(refused[0], "code", None) == "amount_above_principal"
    assert api.get(f"/api/v1/transactions/{txn}", tokens["clerk"]).json()["money"]["principal_vnd"] == 4_000_000


def test_quote_refusals(api, tokens, make_scan, txn_body, day):
    txn = _contract(api, tokens, make_scan, txn_body)
    r = api.get(f"/api/v1/transactions/{txn}/quote", tokens["clerk"], params={"type": "interest_paid"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "nothing_due"  # the contract's own day
    r = api.get(f"/api/v1/transactions/{txn}/quote", tokens["clerk"], params={"type": "interest_paid", "interest_to": "2026-03-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_interest_to"  # after the due date
    q = _quote(api, tokens, txn, type="interest_paid", interest_to="2026-01-31")  # paid in advance to the due date
    assert q["money"]["interest_vnd"] == 147_945
    assert api.get("/api/v1/transactions/nope/quote", tokens["clerk"], params={"type": "redeemed"}).status_code == 404
    assert api.get(f"/api/v1/transactions/{txn}/quote", tokens["clerk"], params={"type": "forfeited"}).status_code == 422
    assert api.get(f"/api/v1/transactions/{txn}/quote", params={"type": "redeemed"}).status_code == 401


@pytest.mark.parametrize("params", [
    {"type": "extended", "extend_days": 3650, "on": "9999-12-31"}, {"type": "interest_paid", "on": "0001-01-01"},
    {"type": "redeemed", "on": "9999-12-31"}, {"type": "interest_paid", "interest_to": "9999-12-31"},
])
def test_a_quote_on_the_first_or_last_day_a_date_can_be_is_answered_not_crashed(api, tokens, make_scan, txn_body, params):
    txn = _contract(api, tokens, make_scan, txn_body)
    r = api.get(f"/api/v1/transactions/{txn}/quote", tokens["clerk"], params=params)
    assert r.status_code in (200, 422), (params, r.status_code, r.text[:300])
    if r.status_code == 422:
        assert r.json()["error"]["code"]
    else:  # a what-if on a far day: whole đồng, and its words
        assert isinstance(r.json()["money"]["cash_in_vnd"], int) and r.json()["cash_in_words"].endswith("đồng")
