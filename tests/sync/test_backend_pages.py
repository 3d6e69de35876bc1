"""Inspector pages: login, search, person history, shop status, alerts, watchlist forms with CSRF."""

from __future__ import annotations

import re

import httpx

from sync import batch as batch_mod
from sync.backend import auth
from sync.testing import pawn_payload

WANTED = "001088000777"


def _browser(backend, role="inspector"):
    auth.add_user(backend.db, "canbo", role, "mat-khau-dai-3")
    c = httpx.Client(base_url=backend.url, follow_redirects=False)
    r = c.post("/login", data={"name": "canbo", "password": "sai-mat-khau"})
    assert r.status_code == 401 and "Sai tên đăng nhập" in r.text
    r = c.post("/login", data={"name": "canbo", "password": "mat-khau-dai-3"})
    assert r.status_code == 303 and "chipid_backend_session" in r.headers["set-cookie"]
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_pages_need_login(backend):
    r = httpx.get(backend.url + "/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_search_person_shop_and_alert_pages(backend, make_device):
    dev = make_device(shop="Cầm đồ <Bình An>", license_no="BA-1", province="48")
    dev.append("transaction", pawn_payload(1, id_number=WANTED, name="Lê Thị <Hoa>"))
    dev.append("event", {"type": "suspicious", "txn_id": pawn_payload(1)["id"], "reason": "giấy tờ nghi giả"})
    b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1), checkpoint=dev.checkpoint())
    assert httpx.post(backend.url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                      headers={"Content-Encoding": "gzip"}).status_code == 200
    c = _browser(backend)
    page = c.get("/", params={"id_number": WANTED})
    assert page.status_code == 200 and "1 kết quả" in page.text
    assert "Lê Thị &lt;Hoa&gt;" in page.text and "<Hoa>" not in page.text  # autoescaped
    person = c.get(f"/persons/{WANTED}")
    assert "1 hợp đồng tại 1 cửa hàng" in person.text and "suspicious" in person.text
    shop = c.get("/shops/48-BA1")
    assert "Cửa hàng báo nghi vấn" in shop.text and "gói tự kiểm chứng" in shop.text
    assert "48-BA1" in c.get("/shops").text
    alerts = c.get("/alerts")
    assert "giấy tờ nghi giả" in alerts.text
    bad = c.get("/", params={"id_number": "---"})
    assert "id_number" in bad.text and bad.status_code == 200


def test_watchlist_form_requires_csrf_and_adds_items(backend):
    c = _browser(backend)
    page = c.get("/watchlist")
    token = _csrf(page.text)
    r = c.post("/watchlist", data={"kind": "serial", "value": "SN-9", "note": "mất", "csrf": "0" * 64})
    assert r.status_code == 403
    r = c.post("/watchlist", data={"kind": "serial", "value": "SN-9", "note": "mất trộm", "csrf": token})
    assert r.status_code == 200 and "Đã thêm 1" in r.text and "SN9" in r.text
    r = c.post("/watchlist/csv", data={"csrf": token},
               files={"file": ("a.csv", "kind,value,note\nid_number,079000000001,truy nã\n".encode(), "text/csv")})
    assert "thêm 1" in r.text and "079000000001" in r.text


def test_pages_show_vietnam_local_time_with_its_label(backend, make_device):
    """An entry stored at 2026-12-05T18:30Z happened at 01:30 on 06/12/2026 in Vietnam (issue 17 item 5)."""
    from verifier.ledger.entry import Entry

    dev = make_device(shop="Cầm đồ Nửa Đêm", license_no="ND-1", province="48")
    seq, prev = dev.head
    dev.entries.append(Entry(seq=seq + 1, device_id=dev.device_id, ts="2026-12-05T18:30:00.000000Z", kind="transaction",
                             payload=pawn_payload(1, id_number=WANTED, name="Trần Văn Khuya"), prev_hash=prev))
    b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1), checkpoint=dev.checkpoint())
    assert httpx.post(backend.url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                      headers={"Content-Encoding": "gzip"}).status_code == 200
    c = _browser(backend)
    for page in (c.get(f"/persons/{WANTED}"), c.get("/", params={"id_number": WANTED})):
        assert page.status_code == 200
        assert "01:30 06/12/2026 (giờ Việt Nam)" in page.text
        assert "2026-12-05 18:30" not in page.text
