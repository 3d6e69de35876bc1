"""The inspector's holds page (sync/backend/pages/holds.html, Vietnamese) over real HTTP, SQLite and PostgreSQL:
place a hold on a delivered contract, release it, send a notice; each form needs the session's CSRF token."""

from __future__ import annotations

import re

import httpx

from sync import batch as batch_mod
from sync.backend import auth, downlink
from sync.testing import pawn_payload
from tests.sync.test_downlink_holds import signing_key  # noqa: F401 - fixture


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_holds_page_places_and_releases_a_hold_and_sends_a_notice(backend, make_device, signing_key):
    dev = make_device(shop="Cầm đồ Bình An", license_no="BA-1", province="48")
    payload = pawn_payload(1)
    dev.append("transaction", payload)
    b = batch_mod.build_batch(dev.device_id, dev.entries, prev_hash=dev.prev_of(1), checkpoint=dev.checkpoint())
    assert httpx.post(backend.url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign),
                      headers={"Content-Encoding": "gzip"}).status_code == 200
    assert httpx.get(backend.url + "/holds", follow_redirects=False).status_code == 303  # login first
    auth.add_user(backend.db, "canbo", "inspector", "mat-khau-dai-3")
    c = httpx.Client(base_url=backend.url, follow_redirects=False)
    assert c.post("/login", data={"name": "canbo", "password": "mat-khau-dai-3"}).status_code == 303
    page = c.get("/holds")
    assert page.status_code == 200 and "Chưa có lệnh tạm giữ nào" in page.text
    token = _csrf(page.text)
    form = {"shop_id": "48-BA1", "contract_no": payload["contract_no"], "reason": "Tang vật <vụ 12>", "case_no": "12/CA"}
    assert c.post("/holds", data={**form, "csrf": "0" * 64}).status_code == 403
    r = c.post("/holds", data={**form, "csrf": token})
    assert r.status_code == 200 and "Đã gửi lệnh tạm giữ" in r.text
    assert "đang tạm giữ" in r.text and "Tang vật &lt;vụ 12&gt;" in r.text  # autoescaped
    bad = c.post("/holds", data={**form, "contract_no": "HĐ-0000-000000", "csrf": token})
    assert bad.status_code == 400 and "chưa gửi hợp đồng này" in bad.text
    [hold] = downlink.holds(backend.db, shop_id="48-BA1")
    assert hold["reason"] == "Tang vật <vụ 12>" and hold["placed_by"] == "canbo" and hold["active"]
    r = c.post(f"/holds/{hold['hold_id']}/release", data={"note": "xong", "csrf": token})
    assert r.status_code == 200 and "Đã gửi lệnh giải tỏa" in r.text and "đã giải tỏa" in r.text
    r = c.post("/holds/notice", data={"shop_id": "", "text": "Họp giao ban thứ Hai", "csrf": token})
    assert r.status_code == 200 and "Đã gửi thông báo tới 1 cửa hàng" in r.text
    kinds = [m["kind"] for m in downlink.messages(backend.db, shop_id="48-BA1")]
    assert kinds == ["hold", "hold_release", "notice"]
