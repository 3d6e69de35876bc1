"""End to end over real HTTP on loopback: the real counter service (`verifier/api`, with the relay it
starts) records a pawn contract and a `suspicious` event; the real backend receives both, raises the
alert, and the inspector finds the pawn by ID number and serial. `GET /api/v1/sync` on the shop
reports the delivery in words."""

from __future__ import annotations

from pathlib import Path

import httpx

from sync.backend import auth
from sync.testing import wait_until
from tests.service.conftest import face_decision, scan_result

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HOLDER = {"id_number": "079090004321", "full_name": "Trần Thị Bích", "date_of_birth": "1991-02-03", "sex": "F",
          "nationality": "Việt Nam", "issue_date": "2021-04-20", "expiry_date": "2031-02-03"}


def _scan(svc, portrait: bytes):
    scan = svc.scans.add_finished(scan_result(holder=HOLDER, portrait=portrait), portrait, user="thu-ngan")
    scan.face = face_decision()
    scan.camera_image = portrait
    return scan


def test_counter_service_delivers_to_the_backend(backend, served_shop):
    shop = served_shop(backend)
    svc, h = shop.svc, shop.clerk
    assert svc.relay is not None, "the counter service did not start the relay"
    portrait = (SHARED / "faces" / "obama.jpg").read_bytes()
    body = {"scan_id": _scan(svc, portrait).id, "valuation_vnd": 12_000_000, "loan_vnd": 8_000_000,
            "interest_rate_year_pct": 18.0, "term_days": 30,
            "items": [{"description": "Điện thoại iPhone 13 128GB", "category": "phone", "serial": "F2LX-K0AB-CD12"}]}
    r = httpx.post(shop.url + "/api/v1/transactions", json=body, headers=h)
    assert r.status_code == 201, r.text
    txn = r.json()
    r = httpx.post(f"{shop.url}/api/v1/transactions/{txn['id']}/events", json={"type": "suspicious", "reason": "ảnh không khớp"},
                   headers=h)
    assert r.status_code == 201, r.text
    status = wait_until(lambda: (s := httpx.get(shop.url + "/api/v1/sync", headers=h).json())["backlog"] == 0 and s)
    assert status["acked_seq"] == 2 and status["last_error"] is None and "Đã gửi đủ" in status["summary"]["vi"]
    shop.close()  # the shop is gone: what the inspector finds is on the backend
    auth.add_user(backend.db, "cong-an", "inspector", "mat-khau-dai-9")
    t = httpx.post(backend.url + "/api/v1/login", json={"name": "cong-an", "password": "mat-khau-dai-9"}).json()["token"]
    bh = {"Authorization": f"Bearer {t}"}
    for params in ({"id_number": HOLDER["id_number"]}, {"serial": "F2LXK0ABCD12"}, {"name": "tran thi bich"}):
        hits = httpx.get(backend.url + "/api/v1/entries", params=params, headers=bh).json()["entries"]
        assert [h_["payload"]["contract_no"] for h_ in hits] == [txn["contract_no"]], params
        assert hits[0]["shop"]["name"] == "Cầm đồ Phú Nhuận"
    alerts = httpx.get(backend.url + "/api/v1/alerts", params={"kind": "suspicious"}, headers=bh).json()["alerts"]
    assert len(alerts) == 1 and "ảnh không khớp" in alerts[0]["detail"] and txn["contract_no"] in alerts[0]["detail"]
    person = httpx.get(f"{backend.url}/api/v1/persons/{HOLDER['id_number']}", headers=bh).json()
    assert [e["event_type"] for e in person["events"]] == ["suspicious"]
