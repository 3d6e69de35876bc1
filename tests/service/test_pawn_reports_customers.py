"""Customer files (verifier/ledger/customer_file.py, /api/v1/customers): found by ID number, name or a scan; notes
are ledger entries; late payments and flags."""

from __future__ import annotations

import pytest

from tests.service.pawn_reports_ledger import Shop, local


@pytest.fixture()
def shop(svc, monkeypatch):
    s = Shop(svc.book, monkeypatch)
    s.a = s.contract(local("2026-01-05 09:00"), "an", ("phone",), term=30, phone="0909123456")
    s.b = s.contract(local("2026-02-01 10:00"), "an", ("laptop",), term=10)
    s.c = s.contract(local("2026-02-01 11:00"), "binh", ("ring",))
    s.event(s.a, "interest_paid", local("2026-01-20 09:00"))  # on time
    s.event(s.a, "redeemed", local("2026-02-10 09:00"))  # due 4 February: 6 days late
    s.raw_event(s.b, {"type": "suspicious", "txn_id": s.b["id"], "by": {"user": "manager-1", "role": "manager"},
                      "reason": "Máy có dấu hiệu bị trộm", "target": "item"}, local("2026-02-01 12:00"))
    return s


def test_file_by_id_number_with_contracts_payments_late_and_flags(api, tokens, shop):
    r = api.get("/api/v1/customers?id_number=079090001234", tokens["manager"])
    assert r.status_code == 200, r.text
    found = r.json()
    assert [p["full_name"] for p in found["people"]] == ["Nguyễn Văn An"] and found["people"][0]["contracts"] == 2
    f = found["file"]
    assert found["subject"] == f["subject"] == api.app.state.svc.ledger.sealer.blind("id", "079090001234")
    assert f["person"]["phone"] == "0909123456" and f["person"]["id_number"] == "079090001234"
    assert {c["contract_no"]: c["status"] for c in f["contracts"]} == {shop.a["contract_no"]: "redeemed",
                                                                     shop.b["contract_no"]: "active"}
    assert [p["type"] for p in f["payments"]] == ["interest_paid", "redeemed"]
    late = {(x["contract_no"], x["type"]): x["days_late"] for x in f["late"]}
    assert late[(shop.a["contract_no"], "redeemed")] == 6
    assert (shop.a["contract_no"], "interest_paid") not in late
    assert (shop.b["contract_no"], "overdue_now") in late  # due 11 February, still active today
    assert {(x["contract_no"], x["type"]) for x in f["flags"]} == {(shop.b["contract_no"], "flagged"),
                                                                  (shop.b["contract_no"], "suspicious")}
    assert shop.c["contract_no"] not in str(f)  # another person's contract
    rows, _ = api.app.state.svc.ledger.access_log(record=f"customer:{f['subject']}")
    assert rows and rows[0]["user"] == "manager-1" and "079090001234" not in str(rows)


def test_found_by_name_and_by_scan(api, tokens, shop, make_scan):
    by_name = api.get("/api/v1/customers?name=nguyen%20van%20an", tokens["manager"]).json()
    assert [p["id_number"] for p in by_name["people"]] == ["079090001234"] and by_name["file"] is None
    scan = make_scan()  # the card of Nguyễn Văn An (tests/service/conftest.py HOLDER)
    by_scan = api.get(f"/api/v1/customers?scan_id={scan.id}", tokens["manager"]).json()
    assert by_scan["file"]["person"]["full_name"] == "Nguyễn Văn An"
    assert by_scan["subject"] == by_name["people"][0]["subject"]
    assert api.get("/api/v1/customers?scan_id=nope", tokens["manager"]).status_code == 404
    assert api.get("/api/v1/customers?id_number=12ab", tokens["manager"]).json()["error"]["code"] == "bad_id_number"
    assert api.get("/api/v1/customers?name=an", tokens["clerk"]).status_code == 403


def test_notes_are_ledger_entries(api, tokens, shop, svc):
    subject = svc.ledger.sealer.blind("id", "079090001234")
    head, _ = svc.ledger.head()
    r = api.post(f"/api/v1/customers/{subject}/notes", tokens["manager"], json={"text": "Khách quen, luôn chuộc đúng hẹn."})
    assert r.status_code == 201, r.text
    [entry] = svc.ledger.entries(head)
    assert entry.seq == r.json()["seq"] and entry.kind == "event"
    assert entry.payload["type"] == "customer_note" and entry.payload["subject"] == subject
    assert entry.payload["text"] == "Khách quen, luôn chuộc đúng hẹn." and entry.payload["by"]["user"] == "manager-1"
    assert svc.ledger.verify().ok
    f = api.get(f"/api/v1/customers/{subject}", tokens["manager"]).json()
    assert [n["text"] for n in f["notes"]] == ["Khách quen, luôn chuộc đúng hẹn."]
    # bad input loses nothing and records nothing
    assert api.post(f"/api/v1/customers/{subject}/notes", tokens["manager"], json={"text": ""}).status_code == 422
    assert api.post(f"/api/v1/customers/{'0' * 32}/notes", tokens["manager"], json={"text": "x"}).status_code == 404
    assert api.post(f"/api/v1/customers/{subject}/notes", tokens["clerk"], json={"text": "x"}).status_code == 403
    assert svc.ledger.head()[0] == entry.seq


def test_notes_are_found_after_a_restart_from_the_chain(cfg, tmp_path):
    """The notes' projection is rebuilt from the chain when its table is new (notes written elsewhere)."""
    from verifier.ledger.customer_file import CustomerNotes
    from verifier.ledger.store import Ledger

    ledger = Ledger.open(cfg.data_dir)
    subject = ledger.sealer.blind("id", "079090001234")
    ledger.append("event", {"type": "customer_note", "subject": subject, "text": "Ghi chú cũ", "by": {"user": "x", "role": "manager"}})
    notes = CustomerNotes(ledger)  # table created now: indexes the note already in the chain
    assert len(notes.seqs(subject)) == 1
    notes.add(subject, "Ghi chú mới", user="y", role="manager")
    assert len(notes.seqs(subject)) == 2
    ledger.close()
