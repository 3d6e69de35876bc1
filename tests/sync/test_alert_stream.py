"""Alerts out of the backend (issue 19 items 3, 4): the SSE stream with Last-Event-ID resume, the
signed webhook against a real receiver on loopback, the investigation API, and the inspector pages
in headless Chromium (the alerts page receiving a live alert; screenshots in /tmp/shots)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path

import httpx
import pytest

from sync import batch as batch_mod
from sync.backend import auth, watchlist
from sync.backend.app import create_app
from sync.backend.webhook import WebhookSettings
from sync.testing import ThreadServer, pawn_payload, wait_until
from tests.browser import new_page

WANTED = "001088000777"


def _login(backend) -> dict:
    auth.add_user(backend.db, "canbo", "inspector", "mat-khau-rat-dai")
    token = httpx.post(backend.url + "/api/v1/login", json={"name": "canbo", "password": "mat-khau-rat-dai"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _send(backend, dev, first: int) -> None:
    b = batch_mod.build_batch(dev.device_id, dev.entries[first - 1:], prev_hash=dev.prev_of(first), checkpoint=dev.checkpoint())
    r = httpx.post(backend.url + "/api/v1/ingest", content=batch_mod.encode(b, dev.sign), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text


def _next_alert(lines) -> tuple[str, dict]:
    ev_id = None
    for line in lines:
        if line.startswith("id: "):
            ev_id = line[4:]
        elif line.startswith("data: ") and ev_id:
            return ev_id, json.loads(line[6:])
    raise AssertionError("stream ended")


def test_alert_stream_needs_a_session_and_resumes_after_last_event_id(backend, make_device):
    assert httpx.get(backend.url + "/api/v1/alerts/stream").status_code == 401
    headers = _login(backend)
    watchlist.add_items(backend.db, [{"kind": "id_number", "value": WANTED, "note": "truy nã"}], "t")
    dev = make_device(shop="Cầm đồ Sao Mai", license_no="SM-1", province="74")
    with httpx.Client(timeout=20) as c, c.stream("GET", backend.url + "/api/v1/alerts/stream", headers=headers) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        dev.append("transaction", pawn_payload(1, id_number=WANTED))
        _send(backend, dev, 1)
        first_id, first = _next_alert(r.iter_lines())
    assert first["rule"] == "watchlist_id_number" and first["links"]["person"]["id_number"] == WANTED
    assert first["shop"]["name"] == "Cầm đồ Sao Mai" and first["shop"]["province"]["name"] == "Thành phố Hồ Chí Minh"
    assert "truy nã" in first["text"]["vi"] and first["links"]["contract"]["contract_no"] == "HĐ-2026-000001"
    dev.append("transaction", pawn_payload(2, id_number=WANTED))  # while nobody listens
    _send(backend, dev, 2)
    with httpx.Client(timeout=20) as c, c.stream("GET", backend.url + "/api/v1/alerts/stream",
                                                 headers={**headers, "Last-Event-ID": first_id}) as r:
        second_id, second = _next_alert(r.iter_lines())
    assert second_id > first_id and second["seq"] == 2 and second["links"]["contract"]["contract_no"] == "HĐ-2026-000002"


class _Receiver:
    """A webhook receiver on loopback: refuses the first delivery (500), then keeps what it gets."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        self.got: list[tuple[bytes, dict]] = []
        self.calls = 0
        lock = threading.Lock()

        async def hook(request):
            body = await request.body()
            with lock:
                self.calls += 1
                if self.calls == 1:
                    return Response(status_code=500)
                self.got.append((body, dict(request.headers)))
            return Response(status_code=204)

        self.server = ThreadServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])).start()
        self.url = self.server.url + "/hook"


def test_webhook_posts_signed_alerts_and_retries_a_refused_delivery(db, make_device):
    receiver = _Receiver()
    secret = b"bi-mat-webhook-dai"
    app = create_app(db, webhook=WebhookSettings(receiver.url, secret, interval_s=0.1, backoff_base_s=0.1))
    backend = ThreadServer(app).start()
    backend.db = db
    try:
        wait_until(lambda: _cursor_set(db), 10, "the webhook sender to start")
        watchlist.add_items(db, [{"kind": "serial", "value": "IMEI-999", "note": "mất trộm"}], "t")
        dev = make_device(shop="Cầm đồ Bến Thành", license_no="BT-9", province="79")
        dev.append("transaction", pawn_payload(1, serial="imei999"))
        _send(backend, dev, 1)
        wait_until(lambda: receiver.got, 20, "the webhook delivery")
    finally:
        for w in app.state.alert_workers:
            w.stop()
        backend.stop()
        receiver.server.stop()
    assert receiver.calls == 2  # refused once, delivered on retry
    body, headers = receiver.got[0]
    want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-chipid-signature"], want)
    sent = json.loads(body)
    assert sent["event"] == "alert" and headers["x-chipid-delivery"] == sent["delivery"]
    assert sent["alert"]["rule"] == "watchlist_serial" and sent["alert"]["links"]["serial"] == "IMEI999"
    assert "mất trộm" in sent["alert"]["text"]["vi"]
    assert not hmac.compare_digest(want, "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest())


def _cursor_set(db) -> bool:
    from sqlalchemy import text

    with db.read() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM alert_cursors WHERE name = 'webhook'")).scalar() == 1


def _history(backend, make_device) -> None:
    """Two shops; the wanted person pawns at both, with a phone; another person shares the phone number."""
    watchlist.add_items(backend.db, [{"kind": "id_number", "value": WANTED, "note": "truy nã QĐ 12"}], "t")
    a = make_device(shop="Cầm đồ Kim Long", license_no="KL-77", province="46")
    b = make_device(shop="Cầm đồ Hội An", license_no="HA-1", province="49")
    p1 = pawn_payload(1, id_number=WANTED, serial="IMEI-555", name="Lê Thị Hoa")
    p1["pawner_phone"] = "+84 912 345 678"
    a.append("transaction", p1)
    a.append("event", {"type": "partial_payment", "txn_id": p1["id"], "amount_vnd": 1_500_000, "notes": "trả một phần"})
    a.append("event", {"type": "shop_profile", "name": "Cầm đồ Kim Long (Huế)", "address": "12 Lê Lợi, Phú Hội, Thừa Thiên Huế",
                       "license": "GCN-ANTT 46/2024", "representative": "Trần Văn Long", "phone": "0234 3822 000",
                       "province": "Thừa Thiên Huế"})
    p2 = pawn_payload(2, id_number="046090000002", serial="IMEI-555", name="Nguyễn Văn Cường")
    p2["pawner_phone"] = "0912.345.678"
    b.append("transaction", p2)
    _send(backend, a, 1)
    _send(backend, b, 1)


def test_investigation_api(backend, make_device):
    headers = _login(backend)
    _history(backend, make_device)
    person = httpx.get(backend.url + f"/api/v1/persons/{WANTED}", headers=headers).json()
    assert [s["name"] for s in person["shops_visited"]] == ["Cầm đồ Kim Long (Huế)"]
    assert person["shops_visited"][0]["address"].startswith("12 Lê Lợi") and person["shops_visited"][0]["province"]["name"] == "Huế"
    assert person["shops_visited"][0]["license"] == "GCN-ANTT 46/2024"
    assert [p["event_type"] for p in person["payments"]] == ["partial_payment"]
    assert [a["rule"] for a in person["alerts"]] == ["watchlist_id_number"]
    assert person["linked"] == [{"id_number": "046090000002", "full_name": "Nguyễn Văn Cường", "via": ["phone"],
                                 "contracts": 1, "shops": ["49-HA1"]}]
    item = httpx.get(backend.url + "/api/v1/items/imei 555", headers=headers).json()
    assert item["serial"] == "IMEI555" and sorted(item["shops"]) == ["46-KL77", "49-HA1"]
    txn = person["transactions"][0]["txn_id"]
    contract = httpx.get(backend.url + f"/api/v1/shops/46-KL77/contracts/{txn}", headers=headers).json()
    assert contract["links"]["contract"]["contract_no"] == "HĐ-2026-000001" and contract["photos"] == []
    assert [e["event_type"] for e in contract["events"]] == ["partial_payment"]
    missing = httpx.get(backend.url + "/api/v1/shops/46-KL77/contracts/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "contract_not_found"
    comp = httpx.get(backend.url + "/api/v1/shops/46-KL77/compliance", headers=headers).json()
    assert comp["contracts_last_day"] == 1 and comp["silent_devices"] == [] and comp["shop"]["representative"] == "Trần Văn Long"
    dash = httpx.get(backend.url + "/api/v1/provinces/49", headers=headers).json()  # old Quảng Nam -> Đà Nẵng
    assert dash["province"]["name"] == "Đà Nẵng" and [s["shop_id"] for s in dash["shops"]] == ["49-HA1"]
    overview = {p["code"]: p for p in httpx.get(backend.url + "/api/v1/provinces", headers=headers).json()["provinces"]}
    assert len(overview) == 34 and overview["46"]["shops"] == 1 and overview["46"]["open_alerts"] == 1
    assert httpx.get(backend.url + "/api/v1/provinces/zz", headers=headers).json()["error"]["code"] == "province_not_found"


@pytest.mark.browser
@pytest.mark.slow
def test_pages_in_chromium_live_alert_and_english_switch(backend, make_device, chromium):
    auth.add_user(backend.db, "canbo", "inspector", "mat-khau-rat-dai")
    _history(backend, make_device)
    shots = Path("/tmp/shots")
    shots.mkdir(exist_ok=True)
    page = new_page(chromium, bypass_csp=True)
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(backend.url + "/login")
    page.fill("input[name=name]", "canbo")
    page.fill("input[name=password]", "mat-khau-rat-dai")
    page.click("button[type=submit]")
    page.goto(backend.url + "/alerts")
    page.wait_for_selector("#live:text('Đang nhận cảnh báo mới trực tiếp.')")
    assert "Người có số CCCD bị truy nã" in page.inner_text("table.alerts")
    late = make_device(shop="Cầm đồ Đêm", license_no="DM-1", province="74")
    late.append("transaction", pawn_payload(9, id_number=WANTED))
    _send(backend, late, 1)
    page.wait_for_selector("tr.new >> text=Cầm đồ Đêm")  # arrived over the stream, no reload
    row = page.inner_text("tr.new")
    assert "Thành phố Hồ Chí Minh" in row and "(giờ Việt Nam)" in row and "HĐ-2026-000009" in row
    page.screenshot(path=str(shots / "backend-alerts.png"))
    page.goto(backend.url + f"/persons/{WANTED}")
    body = page.inner_text("main")
    assert "Cầm đồ Kim Long (Huế)" in body and "cùng số điện thoại" in body and "1.500.000 ₫" in body
    page.screenshot(path=str(shots / "backend-person.png"), full_page=False)
    page.goto(backend.url + f"/persons/{WANTED}?lang=en")
    assert "Pawn history of ID" in page.inner_text("h1") and "same phone" in page.inner_text("main")
    page.goto(backend.url + "/provinces")  # the lang cookie keeps English
    assert "The 34 provinces" in page.inner_text("h1")
    assert errors == []
